"""Answer ``501 not_implemented`` for contract operations whose product has not landed yet.

Generated from the seed spec at startup, so the served API always covers the whole contract
and a client gets a clear answer instead of a 404 for a documented path. Stubs sit behind the
same app-wide guard as built routes, so a caller still gets 401/403/429 first. An unbuilt
WebSocket is admitted like a built one, then closed in-band with ``not_implemented`` and 4501
(its plain-HTTP ``GET`` answers 426, see ``upgrade_required``).
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket

from pyai.api.served import served_operations
from pyai.contract import seed_operations, seed_spec, websocket_paths
from pyai.gateway.errors import ProblemError
from pyai.realtime.admission import CLOSE_NOT_IMPLEMENTED, reject


def _message(method: str, path: str) -> str:
    return f"{method} {path} is part of the PyAI contract but not built in this server yet."


def missing_operations(app: FastAPI) -> list[tuple[str, str]]:
    wanted = seed_operations() | {("GET", path) for path in websocket_paths()}
    return sorted(wanted - served_operations(app))


def _stub(method: str, path: str):  # noqa: ANN202 - an endpoint coroutine
    async def not_implemented() -> None:
        raise ProblemError(501, "not_implemented", _message(method, path), title="Not implemented")

    return not_implemented


def _socket_stub(path: str):  # noqa: ANN202 - a WebSocket endpoint coroutine
    async def not_implemented(ws: WebSocket) -> None:
        await reject(ws, "not_implemented", _message("GET", path), CLOSE_NOT_IMPLEMENTED)

    return not_implemented


def install(app: FastAPI) -> None:
    """Call after the product routers are included: stubs fill only what they left out."""
    spec = seed_spec()["paths"]
    sockets = set(websocket_paths())
    for method, path in missing_operations(app):
        if path in sockets:
            app.add_api_websocket_route(path, _socket_stub(path))
            continue
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
