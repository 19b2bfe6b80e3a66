"""``426 Upgrade Required`` for a plain HTTP ``GET`` on a WebSocket operation.

The contract models each WebSocket as a ``GET`` that answers 101; without an ``Upgrade`` header
that ``GET`` still goes through the app-wide guard (401/402/403/429, as the socket would), then
gets a Problem saying how to open the socket instead of a bare 404.
"""

from __future__ import annotations

from fastapi import FastAPI

from pyai.contract import websocket_paths
from pyai.gateway.errors import ProblemError


def _upgrade_required(path: str):  # noqa: ANN202 - an endpoint coroutine
    async def upgrade_required() -> None:
        raise ProblemError(
            426,
            "upgrade_required",
            f"GET {path} is a WebSocket endpoint: open it with a WebSocket upgrade (ws:// or wss://) and pass "
            "the key as the subprotocol 'pyai-key.<API_KEY>' (browsers) or as '?api_key=<API_KEY>' "
            "(server-side clients).",
            title="Upgrade required",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )

    return upgrade_required


def install(app: FastAPI) -> None:
    """Call after ``not_implemented.install``, which must still see these paths as unserved."""
    for path in websocket_paths():
        app.add_api_route(path, _upgrade_required(path), methods=["GET"], include_in_schema=False)
