"""The API contract (seed OpenAPI document) shipped inside the package."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@cache
def seed_spec() -> dict:
    return json.loads(files(__package__).joinpath("pyai-openapi.json").read_text())


def seed_operations() -> set[tuple[str, str]]:
    """Every (METHOD, path) of the contract."""
    return {
        (method.upper(), path)
        for path, item in seed_spec()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


DEPRECATED_ALIASES = {"/v2/omni/chat": "/v1/omni"}
"""Paths the canonical-endpoints table still serves during a migration window, and their targets."""


def websocket_paths() -> list[str]:
    """Paths whose ``GET`` upgrades to a WebSocket (a ``101`` response), with their aliases."""
    paths = [path for path, item in seed_spec()["paths"].items() if "101" in item.get("get", {}).get("responses", {})]
    return paths + [alias for alias, target in DEPRECATED_ALIASES.items() if target in paths]
