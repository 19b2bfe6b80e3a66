"""Answer ``501 not_implemented`` for contract operations whose product has not landed yet.

Generated from the seed spec at startup, so the served API always covers the whole contract
and a client gets a clear Problem instead of a 404 for a documented path.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from pyai.contract import seed_operations, seed_spec
from pyai.gateway.errors import ProblemError


def _flatten(routes: list) -> list:
    """FastAPI keeps included routers as nested entries; walk into them (no prefixes are used)."""
    flat = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        flat += _flatten(nested.routes) if nested is not None else [route]
    return flat


def implemented(app: FastAPI) -> set[tuple[str, str]]:
    ops: set[tuple[str, str]] = set()
    for route in _flatten(app.routes):
        if isinstance(route, APIRoute):
            ops |= {(m, route.path) for m in route.methods}
        elif isinstance(route, APIWebSocketRoute):
            ops.add(("GET", route.path))
    return ops


def missing_operations(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(seed_operations() - implemented(app))


def _stub(method: str, path: str):  # noqa: ANN202 - an endpoint coroutine
    async def not_implemented() -> None:
        raise ProblemError(
            501,
            "not_implemented",
            f"{method} {path} is part of the PyAI contract but not built in this server yet.",
            title="Not implemented",
        )

    return not_implemented


def install(app: FastAPI) -> None:
    spec = seed_spec()["paths"]
    for method, path in missing_operations(app):
        op = spec[path][method.lower()]
        app.add_api_route(
            path,
            _stub(method, path),
            methods=[method],
            operation_id=op.get("operationId"),
            summary=op.get("summary"),
            tags=op.get("tags"),
            include_in_schema=True,
        )
