"""Admit a WebSocket: authenticate the upgrade, echo the key subprotocol, hold a concurrency lease.

Failures are reported in-band so browsers (which cannot read an HTTP status of a failed upgrade)
see them: the socket is accepted, an ``error`` frame ``{code, message}`` is sent, and it is
closed with ``1008`` (auth, scope, billing, bad parameters), ``4429`` (rate or concurrency
limit) or ``1013`` (the limit store is unreachable: try again later), the close reason carrying
the stable code.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from pyai.gateway.auth import credential_from, gateway_of
from pyai.gateway.errors import ApiError
from pyai.gateway.limits import LimitsUnavailable
from pyai.gateway.principal import Principal

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_ENGINE_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_OVER_LIMIT = 4429


async def reject(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    """Send an ``error`` frame and close; accepts first if the handshake is still pending."""
    if ws.client_state == WebSocketState.CONNECTING:
        await ws.accept(subprotocol=credential_from(ws)[1])
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "error", "code": code, "message": message})
        await ws.close(code=close_code, reason=code[:120])


def close_code_for(error: ApiError) -> int:
    return CLOSE_OVER_LIMIT if error.status == 429 else CLOSE_POLICY


@contextlib.asynccontextmanager
async def admitted(ws: WebSocket, scope: str, *, billable: bool) -> AsyncIterator[Principal | None]:
    """Yield the principal of an accepted, leased session, or ``None`` after rejecting it."""
    gateway = gateway_of(ws)
    try:
        principal = await gateway.admit(ws, scope, billable=billable)
        bucket = f"realtime:{principal.key_id}"
        lease = await gateway.concurrency.try_acquire(bucket, gateway.settings.realtime_concurrency)
    except ApiError as e:
        await reject(ws, e.code, e.message, close_code_for(e))
        yield None
        return
    except LimitsUnavailable:
        await reject(
            ws,
            "limits_unavailable",
            "Session limits cannot be checked right now (the limit store is unreachable); retry shortly.",
            CLOSE_TRY_AGAIN_LATER,
        )
        yield None
        return
    if lease is None:
        await reject(
            ws,
            "concurrency_limit_exceeded",
            f"This key already has {gateway.settings.realtime_concurrency} concurrent realtime sessions open.",
            CLOSE_OVER_LIMIT,
        )
        yield None
        return
    async with gateway.concurrency.hold(bucket, lease):
        await ws.accept(subprotocol=credential_from(ws)[1])
        yield principal
