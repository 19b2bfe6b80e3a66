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
