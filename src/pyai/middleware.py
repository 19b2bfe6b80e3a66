"""Pure-ASGI middleware (no per-request task overhead): request ids, access logging, body limits."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Protocol

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyai.gateway.errors import ProblemError
from pyai.logging_setup import REQUEST_ID

access_log = logging.getLogger("pyai.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Gives every request an ``x-request-id`` (honouring a sane incoming one) and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                message.setdefault("headers", [])
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s %.1fms",
                    scope.get("method", "WS"),
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            REQUEST_ID.reset(token)


class BodyLimit(Protocol):
    max_bytes: int

    def problem(self) -> ProblemError: ...


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """``(Content-Length or None, chunked?)`` from the raw headers, without building a mapping."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:  # malformed: counting as it arrives still applies
                length = None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


class BodyLimitMiddleware:
    """Refuses a request body past its route's limit while it arrives: a 413 Problem, nothing buffered.

    A declared Content-Length over the limit is refused before the app runs. Otherwise the bytes are
    counted as the app reads them; at the first chunk past the limit the 413 goes out at once and
    the app is told the client left (``http.disconnect``). Whatever the app does next — raise, or
    catch that and answer 400 as multipart parsing does — is dropped, so the 413 is what the client
    gets. It says ``Connection: close``: the server stops reading rather than draining the rest.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], BodyLimit]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if not chunked and (declared or 0) == 0:  # HTTP/1.1: no length and not chunked means no body
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        if declared is not None and declared > limit.max_bytes:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        refused = responding = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    refused = True
                    if not responding:  # too late for a 413 once the app has answered; just stop reading
                        await self._refuse(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responding
            if refused:
                return
            responding = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
        response = limit.problem().response(scope.get("state", {}).get("request_id"))
        response.headers["connection"] = "close"
        await response(scope, receive, send)
