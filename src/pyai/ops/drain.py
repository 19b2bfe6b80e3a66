"""Graceful drain: on SIGTERM a replica stops taking realtime sessions and lets open ones finish.

A replica told to stop (``SIGTERM`` from Kubernetes, systemd, ``docker stop``) first *drains*:

1. it marks itself draining: ``GET /readyz`` answers ``503`` with ``draining`` (the load balancer
   takes it out of rotation), and every new realtime session (Hear streams, ``/v1/omni``,
   ``/v1/realtime``, Twilio, AudioSocket and SIP calls) is refused the way an overloaded server refuses
   one: an ``error`` frame ``server_draining`` and close code ``1013`` (try again later), which
   clients answer by reconnecting — to another replica. Plain HTTP requests are still served;
2. it waits until its open sessions have ended, at most ``PYAI_DRAIN_TIMEOUT_SECONDS``;
3. then uvicorn's own graceful shutdown runs with what is left of that budget (at least a second):
   the listener closes, in-flight HTTP requests finish, sessions still open are closed with
   ``1012`` (service restart), and the app's lifespan shutdown stops workers and pools.

A second ``SIGTERM``/``SIGINT`` during the drain skips the wait. The app's lifespan shutdown also
sets the flag, so a server run some other way than ``pyai serve`` still refuses late sessions.
State is per process (each replica drains itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import Counter
from collections.abc import Iterator
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from pyai.ops.metrics import DRAINING, REALTIME_REFUSED_BUSY, REALTIME_REFUSED_DRAINING, REALTIME_SESSIONS

log = logging.getLogger("pyai.drain")

#: What a session refused while draining is told (the close reason carries ``server_draining``).
DRAINING_MESSAGE = "This server is shutting down and takes no new sessions; reconnect to reach another one."
POLL_SECONDS = 0.1


class _State:
    def __init__(self) -> None:
        self.draining = False
        self.since: float | None = None
        self.open: Counter[str] = Counter()  # realtime sessions open, by kind


_state = _State()


def is_draining() -> bool:
    return _state.draining


def begin() -> None:
    """Stop admitting sessions (idempotent)."""
    if not _state.draining:
        _state.draining, _state.since = True, time.monotonic()
        DRAINING.set(1)


def open_sessions() -> int:
    return sum(_state.open.values())


def refused() -> None:
    """Count a session refused because of the drain."""
    REALTIME_REFUSED_DRAINING.inc()


def refused_busy() -> None:
    """Count a session refused because this process holds ``PYAI_REPLICA_SESSIONS`` already."""
    REALTIME_REFUSED_BUSY.inc()


@contextlib.contextmanager
def session(kind: str) -> Iterator[None]:
    """Count one realtime session (of ``kind``) for as long as it is open."""
    _state.open[kind] += 1
    REALTIME_SESSIONS.labels(kind).inc()
    try:
        yield
    finally:
        _state.open[kind] -= 1
        REALTIME_SESSIONS.labels(kind).dec()


async def wait_idle(timeout: float) -> bool:
    """Wait until no session is open, at most ``timeout`` seconds; True when none is left."""
    deadline = time.monotonic() + timeout
    while open_sessions() and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    return not open_sessions()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a drain before its graceful shutdown (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, drain_timeout: float) -> None:
        super().__init__(config)
        self.drain_timeout = drain_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task | None = None

    async def serve(self, sockets=None) -> None:  # noqa: ANN001 - uvicorn's signature
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if is_draining() or self.should_exit or self._loop is None or self.drain_timeout <= 0:
            super().handle_exit(sig, frame)  # a second signal, or no drain: stop now
            return
        begin()
        log.warning(
            "%s: draining: %d realtime session(s) open; waiting up to %.0f s for them to end",
            signal.Signals(sig).name,
            open_sessions(),
            self.drain_timeout,
        )
        self._loop.call_soon_threadsafe(self._start_drain, sig)

    def _start_drain(self, sig: int) -> None:
        self._drain_task = asyncio.ensure_future(self._drain(sig))

    async def _drain(self, sig: int) -> None:
        started = time.monotonic()
        if not await wait_idle(self.drain_timeout):
            log.warning("drain timeout: closing %d realtime session(s) still open", open_sessions())
        # uvicorn's graceful shutdown (in-flight HTTP requests) gets what is left of the budget
        self.config.timeout_graceful_shutdown = max(1, round(self.drain_timeout - (time.monotonic() - started)))
        if not self.should_exit:
            super().handle_exit(sig, None)


def run(app: object, drain_timeout: float, **config: object) -> None:
    """``uvicorn.run`` with the drain: serve ``app`` until a signal, then drain and stop."""
    server = DrainingServer(uvicorn.Config(app, **config), drain_timeout)  # type: ignore[arg-type]
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
