"""The operations an app serves, as ``(METHOD, path template)``; a WebSocket route counts as ``GET``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute


def flatten_routes(routes: list) -> list:
    """FastAPI keeps included routers as nested entries; walk into them (no prefixes are used)."""
    flat = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        flat += flatten_routes(nested.routes) if nested is not None else [route]
    return flat


def served_operations(app: FastAPI) -> set[tuple[str, str]]:
    ops: set[tuple[str, str]] = set()
    for route in flatten_routes(app.routes):
        if isinstance(route, APIRoute):
            ops |= {(m, route.path) for m in route.methods}
        elif isinstance(route, APIWebSocketRoute):
            ops.add(("GET", route.path))
    return ops
