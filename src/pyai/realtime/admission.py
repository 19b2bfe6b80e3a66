"""Admitted WebSockets: in-band rejections, close codes, the realtime concurrency lease.

The app-wide guard (``pyai.gateway.auth.guard``) authenticates every upgrade as the
``pyai.gateway.access`` table says; an ``ApiError`` it raises is turned into an in-band rejection
by the error handlers. Failures are reported in-band so browsers (which cannot read an HTTP
status of a failed upgrade) see them: the socket is accepted, an ``error`` frame ``{code,
message}`` is sent, and it is closed with ``1008`` (auth, scope, billing, bad parameters),
``4429`` (rate or concurrency limit), ``1013`` (the limit store is unreachable, the server is
draining before a shutdown, or it holds as many live sessions as ``PYAI_REPLICA_SESSIONS`` allows:
try again later)
or ``4501`` (a contract surface this server has not built), the close reason carrying the stable
code. See docs/websockets.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from pyai.gateway.auth import credential_from, gateway_of
from pyai.gateway.errors import ApiError
from pyai.gateway.limits import LimitsUnavailable
from pyai.gateway.principal import Principal
from pyai.ops import drain

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_ENGINE_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_OVER_LIMIT = 4429
CLOSE_NOT_IMPLEMENTED = 4501
#: Route template -> the ``kind`` a session is counted under (``pyai_realtime_sessions_open``).
SESSION_KINDS = {
    "/v1/audio/transcriptions/stream": "hear_stream",
    "/v1/omni": "omni",
    "/v2/omni/chat": "omni",
    "/v1/realtime": "realtime",
    "/v1/telephony/twilio/stream": "twilio",
}


async def reject(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    """Send an ``error`` frame and close; accepts first if the handshake is still pending."""
    if ws.client_state == WebSocketState.CONNECTING:
        await ws.accept(subprotocol=credential_from(ws)[1])
    frame = {"type": "error", "code": code, "message": message}
    if ws.url.path.rstrip("/").endswith("/v1/realtime"):  # OpenAI Realtime clients read error.error
        kind = "server_error" if close_code == CLOSE_ENGINE_ERROR else "invalid_request_error"
        frame["error"] = {"type": kind, "code": code, "message": message, "param": None, "event_id": None}
    with contextlib.suppress(Exception):
        await ws.send_json(frame)
        await ws.close(code=close_code, reason=code[:120])


def close_code_for(error: ApiError) -> int:
    """429s close with 4429, other gateway failures (401/402/403) with 1008."""
    return CLOSE_OVER_LIMIT if error.status == 429 else CLOSE_POLICY


async def reject_error(ws: WebSocket, error: ApiError) -> None:
    """A gateway failure (401/402/403/429) in-band."""
    await reject(ws, error.code, error.message, close_code_for(error))


LIMITS_UNAVAILABLE = "Session limits cannot be checked right now (the limit store is unreachable); retry shortly."


async def reject_limits_unavailable(ws: WebSocket) -> None:
    """The limit store is unreachable: refuse the session rather than run it unchecked (1013)."""
    await reject(ws, "limits_unavailable", LIMITS_UNAVAILABLE, CLOSE_TRY_AGAIN_LATER)


class LeaseRefused(Exception):
    """A session over a concurrency cap (``code``, ``message``) or the limit store is down."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code


@contextlib.asynccontextmanager
async def session_lease(
    gateway: Any, principal: Principal, kind: str = "other"
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Hold a realtime-session lease (any transport); yields its early ``release``. Raises
    :class:`LeaseRefused` when a cap is reached or the limit store is unreachable.

    The lease counts against the key's cap of concurrent sessions; a session token (whose
    principal is its parent key) also takes the token's own lease, capped at one session. A
    draining server (pyai/ops/drain.py) refuses every new session with ``server_draining`` (1013),
    and one at its ``replica_sessions`` cap with ``server_busy`` (1013).
    """
    if drain.is_draining():
        drain.refused()
        raise LeaseRefused("server_draining", drain.DRAINING_MESSAGE, CLOSE_TRY_AGAIN_LATER)
    if (limit := gateway.settings.replica_sessions) and drain.open_sessions() >= limit:
        drain.refused_busy()
        message = f"This server is serving its limit of {limit} live sessions; retry shortly or on another replica."
        raise LeaseRefused("server_busy", message, CLOSE_TRY_AGAIN_LATER)
    cap = gateway.settings.realtime_concurrency
    caps = []  # (bucket, cap, why a session over it is refused)
    if principal.token_id is not None:
        refusal = "This session token is already in use: it opens one session at a time."
        caps.append((f"session-token:{principal.token_id}", 1, refusal))
    caps.append((f"realtime:{principal.key_id}", cap, f"This key already has {cap} concurrent realtime sessions open."))
    async with contextlib.AsyncExitStack() as held:
        held.enter_context(drain.session(kind))  # counted from here: a drain waits for it
        releases = []
        for bucket, limit, refusal in caps:
            try:
                lease = await gateway.concurrency.try_acquire(bucket, limit)
            except LimitsUnavailable:
                raise LeaseRefused("limits_unavailable", LIMITS_UNAVAILABLE, CLOSE_TRY_AGAIN_LATER) from None
            if lease is None:
                raise LeaseRefused("concurrency_limit_exceeded", refusal, CLOSE_OVER_LIMIT)
            releases.append(await held.enter_async_context(gateway.concurrency.hold(bucket, lease)))

        async def release() -> None:
            for one in reversed(releases):
                await one()

        yield release


@contextlib.asynccontextmanager
async def leased(ws: WebSocket, principal: Principal) -> AsyncIterator[Callable[[], Awaitable[None]] | None]:
    """:func:`session_lease` for a WebSocket: accept once it is held; yields its early
    ``release`` (call it before the closing frame), or ``None`` after rejecting in-band."""
    try:
        kind = SESSION_KINDS.get(getattr(ws.scope.get("route"), "path", ""), "other")
        async with session_lease(gateway_of(ws), principal, kind) as release:
            if ws.client_state == WebSocketState.CONNECTING:  # a carrier's stream was accepted to read its start
                await ws.accept(subprotocol=credential_from(ws)[1])
            yield release
    except LeaseRefused as e:
        await reject(ws, e.code, e.message, e.close_code)
        yield None
