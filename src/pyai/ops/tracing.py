"""OpenTelemetry tracing: off unless ``PYAI_OTEL_ENABLED``, then spans go out by OTLP/HTTP.

:func:`setup` (called by ``create_app`` and ``pyai worker``) installs the SDK: a
``TracerProvider`` for service ``pyai-server`` (or ``OTEL_SERVICE_NAME``) with a
``BatchSpanProcessor`` and the OTLP HTTP/protobuf exporter, which reads the standard variables
itself (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``_TRACES_ENDPOINT``, ``_HEADERS``, ``OTEL_BSP_*``,
``OTEL_TRACES_SAMPLER``). Without it, nothing is installed and :func:`span` yields a no-op span
at the cost of one check, so call sites stay unconditional one-liners.

Span tree (names are stable; attributes carry ids, never keys):

- ``gateway`` — one per HTTP request or WebSocket session (:class:`TracingMiddleware`):
  ``http.route`` (the template), ``http.request.method``, ``http.response.status_code``,
  ``pyai.org_id``, ``pyai.request_id``, ``pyai.call_id``; honours an incoming ``traceparent``.
- ``omni.turn`` — one per agent turn of a call (realtime/turn_spans.py), with children ``stt``
  (the decode of the caller's words), ``brain`` (one per brain round), ``tool`` (a server or
  hosted tool: name, status) and ``tts`` (one per sentence: ``pyai.tts.first_audio_ms``).
- ``stt`` / ``tts`` under ``gateway`` for batch transcription, Hear streams and ``/v1/audio/speech``.
- ``job`` — one per job a worker runs (kind, org).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyai.logging_setup import CALL_ID, ORG_ID, redact

SERVICE_NAME = "pyai-server"
T = TypeVar("T")

tracer = trace.get_tracer("pyai")
#: FastAPI's built-in OpenTelemetry, off: its spans record the raw URL (a WebSocket's ``?api_key=``
#: included) and would duplicate ``gateway``.
FASTAPI_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
_provider = None  # the SDK's TracerProvider once setup() installed it


def enabled() -> bool:
    return _provider is not None


def setup(settings, process: str = "serve") -> bool:  # noqa: ANN001 - Settings (keeps this module light)
    """Install the SDK once per process when ``settings.otel_enabled``; True when tracing is on."""
    global _provider
    if _provider is not None or not settings.otel_enabled:
        return _provider is not None
    from importlib.metadata import PackageNotFoundError, version

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    try:
        release = version("pyai-server")
    except PackageNotFoundError:  # a source checkout on PYTHONPATH
        release = "dev"
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME,
            "service.version": release,
            "pyai.process": process,
        }
    )
    provider = TracerProvider(resource=resource)  # flushes at exit (shutdown_on_exit)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def _attributes(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def _failed(s: Span, exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        s.set_attribute("pyai.cancelled", True)  # barge-in, a hang-up: not an error
        return
    s.add_event("exception", {"exception.type": type(exc).__name__, "exception.message": redact(str(exc))[:1000]})
    s.set_status(Status(StatusCode.ERROR, type(exc).__name__))


@contextlib.contextmanager
def span(name: str, parent: Span | None = None, *, current: bool = True, **attributes: object) -> Iterator[Span]:
    """A span around a block, a child of ``parent`` (default: the current span). ``current=False``
    leaves the context alone (for a block that spans an async generator's yields). An exception
    marks it failed (its message redacted); a cancellation only sets ``pyai.cancelled``."""
    if _provider is None:
        yield INVALID_SPAN
        return
    context = trace.set_span_in_context(parent) if parent is not None else None
    with _opened(name, context, SpanKind.INTERNAL, attributes, current) as s:
        yield s


@contextlib.contextmanager
def _opened(
    name: str, context: Context | None, kind: SpanKind, attributes: dict[str, object], current: bool
) -> Iterator[Span]:
    s = tracer.start_span(name, context, kind, attributes=_attributes(attributes))
    try:
        if current:
            with trace.use_span(s, record_exception=False, set_status_on_exception=False):
                yield s
        else:
            yield s
    except BaseException as exc:
        _failed(s, exc)
        raise
    finally:
        s.end()


def start(name: str, parent: Span | None = None, **attributes: object) -> Span:
    """A span ended by the caller (``omni.turn`` lives across tasks); a no-op span when off."""
    if _provider is None:
        return INVALID_SPAN
    context = trace.set_span_in_context(parent) if parent is not None else None
    return tracer.start_span(name, context, attributes=_attributes(attributes))


def first_audio(s: Span, pieces: Iterable[T]) -> Iterable[T]:
    """``pieces`` as they are; the first one marks ``s`` with ``first_audio`` and its latency."""
    if not s.is_recording():
        return pieces

    def marked() -> Iterator[T]:
        started = time.perf_counter()
        iterator = iter(pieces)
        for piece in iterator:
            s.add_event("first_audio")
            s.set_attribute("pyai.tts.first_audio_ms", round((time.perf_counter() - started) * 1000, 1))
            yield piece
            break
        yield from iterator

    return marked()


def bind_call(call_id: str, org_id: str) -> None:
    """A call got its id: this task's logs (and tasks it starts) say so, and so does its span."""
    CALL_ID.set(call_id)
    ORG_ID.set(org_id)
    trace.get_current_span().set_attribute("pyai.call_id", call_id)


class TracingMiddleware:
    """The ``gateway`` span of each HTTP request and WebSocket session (installed only when tracing
    is on). Sits inside ``RequestIdMiddleware``, so the request id is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        attributes = {
            "http.request.method": "GET" if websocket else scope.get("method"),
            "pyai.transport": scope["type"],
            "pyai.request_id": scope.get("state", {}).get("request_id"),
        }
        # an incoming traceparent: this request continues the caller's trace
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _PROPAGATED}
        remote = propagate.extract(carrier) if carrier else None
        with _opened("gateway", remote, SpanKind.SERVER, attributes, True) as s:
            await _traced(self.app, scope, receive, send, s)


_PROPAGATED = frozenset({b"traceparent", b"tracestate", b"baggage"})


async def _traced(app: ASGIApp, scope: Scope, receive: Receive, send: Send, s: Span) -> None:
    status = 0

    async def traced_send(message: Message) -> None:
        nonlocal status
        kind = message["type"]
        if kind in ("http.response.start", "websocket.http.response.start"):
            status = message["status"]
        elif kind == "websocket.accept":
            status = 101
        elif kind == "websocket.close":
            s.set_attribute("pyai.websocket.close_code", message.get("code", 1000))
        await send(message)

    try:
        await app(scope, receive, traced_send)
    finally:
        route = scope.get("route")
        principal = scope.get("state", {}).get("principal")
        s.set_attributes(
            _attributes(
                {
                    "http.route": getattr(route, "path", None),
                    "http.response.status_code": status or None,
                    "pyai.org_id": getattr(principal, "org_id", None) or ORG_ID.get(),
                }
            )
        )
        if status >= 500:
            s.set_status(Status(StatusCode.ERROR))
