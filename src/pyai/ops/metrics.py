"""Every Prometheus metric this server exports, and the small helpers call sites use to move them.

Metrics are per process: each replica serves its own ``GET /metrics`` (api/ops.py) and Prometheus
scrapes every replica. The job-queue gauges are the exception: they are read from the jobs table
at scrape time, so any replica reports the whole queue (including the work of ``pyai worker``
processes). The table of names is in docs/operations.md.

Instrumentation stays at one line per call site: a decorator on each STT engine's
``transcribe``, :class:`TimedRendering` around every TTS sentence, :class:`MetricsMiddleware`
for HTTP, :class:`TurnLatency` fed the events of an Omni call, and plain counters.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Any])

#: Latency buckets for HTTP requests (a batch transcription can take most of a minute).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Engine work: a Whisper decode is ~0.3-1 s, a TTS sentence ~0.05-1 s, a long file minutes.
ENGINE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: End of the caller's speech to the agent's first audio.
TURN_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 20.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # the route label of a request no route matched (404s, 413s before routing)

HTTP_REQUESTS = Counter(
    "pyai_http_requests", "HTTP requests answered, by route template, method and status", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "pyai_http_request_duration_seconds",
    "HTTP request time, from the request to the last byte of the response, by route template and method",
    ["route", "method"],
    buckets=HTTP_BUCKETS,
)
REALTIME_SESSIONS = Gauge(
    "pyai_realtime_sessions_open",
    "Realtime sessions open in this process (hear_stream, omni, realtime, twilio, audiosocket, sip)",
    ["kind"],
)
REALTIME_REFUSED_DRAINING = Counter(
    "pyai_realtime_sessions_refused_draining", "Realtime sessions refused because this process is draining"
)
REALTIME_REFUSED_BUSY = Counter(
    "pyai_realtime_sessions_refused_busy", "Realtime sessions refused because this process is at PYAI_REPLICA_SESSIONS"
)
DRAINING = Gauge("pyai_draining", "1 while this process drains before exiting (SIGTERM), else 0")
STT_DECODE = Histogram(
    "pyai_stt_decode_seconds",
    "Full-context STT decodes (batch, jobs, stream finals and look-aheads), by engine",
    ["engine"],
    buckets=ENGINE_BUCKETS,
)
STT_IN_PROGRESS = Gauge(
    "pyai_stt_decodes_in_progress",
    "STT decodes running or waiting for a decoder in this process (more than the engine's workers = queued)",
    ["engine"],
)
TTS_SYNTHESIS = Histogram(
    "pyai_tts_synthesis_seconds",
    "Time spent making one sentence of speech (engine time, not playback), by engine",
    ["engine"],
    buckets=ENGINE_BUCKETS,
)
JOBS_QUEUED = Gauge("pyai_jobs_queued", "Jobs waiting in the queue (whole database, read at scrape time)", ["kind"])
JOBS_RUNNING = Gauge("pyai_jobs_running", "Jobs being run by a worker (whole database, read at scrape time)", ["kind"])
JOBS_OLDEST_AGE = Gauge(
    "pyai_jobs_oldest_queued_age_seconds",
    "How long the oldest queued job has been due (0 when none is waiting), read at scrape time",
    ["kind"],
)
WEBHOOK_DELIVERIES = Counter(
    "pyai_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, http_error (non-2xx), network_error, refused (unsafe URL)",
    ["outcome"],
)
BILLED_UNITS = Counter(
    "pyai_billed_units", "Units (metered seconds) recorded as usage by this process, by meter", ["meter"]
)
OMNI_TURN_LATENCY = Histogram(
    "pyai_omni_turn_latency_seconds",
    "Omni calls: end of the caller's speech to the agent's first audio of the answer",
    buckets=TURN_BUCKETS,
)


# ---- HTTP ---------------------------------------------------------------------------------------
class MetricsMiddleware:
    """Counts and times every HTTP request under its route *template* (``/v1/agents/{agent_id}``,
    never the raw path), so the number of series stays bounded. Pure ASGI, like the others."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any response is what the client gets as a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            method = scope.get("method", "GET") if scope.get("method") in METHODS else "other"
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``UNMATCHED``."""
    route = scope.get("route")  # set for API routes
    if route is None:  # a plain Starlette route (/healthz, /playground): FastAPI keeps it in its own entry
        context = (scope.get("fastapi") or {}).get("effective_route_context")
        route = getattr(context, "original_route", None)
    return getattr(route, "path", None) or UNMATCHED


# ---- engines ------------------------------------------------------------------------------------
def timed_decode(engine: str) -> Callable[[F], F]:
    """Decorates an STT engine's ``transcribe``: its time goes in ``pyai_stt_decode_seconds``."""
    histogram, in_progress = STT_DECODE.labels(engine), STT_IN_PROGRESS.labels(engine)

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with in_progress.track_inprogress(), histogram.time():
                return fn(*args, **kwargs)

        return timed  # type: ignore[return-value]

    return wrap


class TimedRendering:
    """A TTS engine's rendering of one sentence whose engine time (``render`` plus making every
    piece, not the time a consumer waits between pieces) is observed once all of it was made."""

    def __init__(self, engine: str, render: Callable[[], Any]) -> None:
        started = time.perf_counter()
        self._rendering = render()
        self._spent = time.perf_counter() - started
        self._engine = engine

    @property
    def seconds(self) -> float | None:
        return self._rendering.seconds

    def pieces(self) -> Iterator[Any]:
        pieces = iter(self._rendering.pieces())
        while True:
            started = time.perf_counter()
            piece = next(pieces, None)
            self._spent += time.perf_counter() - started
            if piece is None:
                break
            yield piece
        TTS_SYNTHESIS.labels(self._engine).observe(self._spent)


# ---- Omni -----------------------------------------------------------------------------------------
class TurnLatency:
    """Fed every event of one call: observes the time from ``caller.speech_stopped`` to the next
    ``agent.audio_start`` (speech that starts again meanwhile restarts the wait at its own end)."""

    def __init__(self) -> None:
        self._stopped_at: float | None = None

    def on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "caller.speech_stopped":
            self._stopped_at = time.monotonic()
        elif kind == "caller.speech_started":
            self._stopped_at = None
        elif kind == "agent.audio_start" and self._stopped_at is not None:
            OMNI_TURN_LATENCY.observe(time.monotonic() - self._stopped_at)
            self._stopped_at = None


# ---- counters ------------------------------------------------------------------------------------
def webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def billed(meter: str, units: float) -> None:
    if units > 0:
        BILLED_UNITS.labels(meter).inc(units)


# ---- scrape ---------------------------------------------------------------------------------------
async def refresh_job_gauges(db: Any) -> None:
    """Set the job gauges from the jobs table (one grouped query; every known kind gets a value)."""
    from sqlalchemy import case, func, select

    from pyai.jobs.worker import HANDLERS
    from pyai.store.ids import now_ms
    from pyai.store.models import Job

    due = case((Job.run_after > Job.created_at, Job.run_after), else_=Job.created_at)
    stmt = (
        select(Job.kind, Job.status, func.count(), func.min(due))
        .where(Job.status.in_(("queued", "running")))
        .group_by(Job.kind, Job.status)
    )
    async with db.session() as s:
        rows = (await s.execute(stmt)).all()
    now = now_ms()
    queued = dict.fromkeys(HANDLERS, 0)
    running = dict.fromkeys(HANDLERS, 0)
    oldest = dict.fromkeys(HANDLERS, 0.0)
    for kind, status, count, first_due in rows:
        if status == "queued":
            queued[kind] = count
            oldest[kind] = max(0.0, (now - int(first_due or now)) / 1000)
        else:
            running[kind] = count
    for gauge, values in ((JOBS_QUEUED, queued), (JOBS_RUNNING, running), (JOBS_OLDEST_AGE, oldest)):
        gauge.clear()
        for kind, value in values.items():
            gauge.labels(kind).set(value)


def exposition(accept: str | None) -> tuple[bytes, str]:
    """This process's metrics in the format the scraper asked for (Prometheus text by default)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type
