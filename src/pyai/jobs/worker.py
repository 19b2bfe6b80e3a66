"""The worker loop and the handler registry.

Product modules register a coroutine per job kind with :func:`handler`. The server runs one
in-process worker (the only one on SQLite); ``pyai worker`` runs more as separate processes on
PostgreSQL, each claiming with ``SKIP LOCKED``.

A kind whose job stands for a resource the client polls (a design, a clone) also registers an
``on_failure`` hook: the worker calls it once the job is failed for good, however that happened (a
:class:`PermanentJobError`, the last retry of any other error, or a worker that died on the last
attempt), so the resource says ``failed`` and why instead of staying in progress forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pyai.jobs.queue import InTransaction, JobQueue
from pyai.logging_setup import log_context
from pyai.ops.tracing import span
from pyai.store.models import Job

log = logging.getLogger("pyai.jobs")


class PermanentJobError(Exception):
    """The job cannot succeed on retry (bad input); fail it at once with this message."""


@dataclass
class JobContext:
    job: Job
    queue: JobQueue
    worker_id: str
    services: Any
    #: Writes committed in the same transaction as the job's completion (usage, webhooks).
    on_commit: list[InTransaction] = field(default_factory=list)
    #: Clean-ups run only once the completion committed (deleting the uploaded input).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: Undo for anything the handler set up, run when the job does not complete (a released hold).
    on_abort: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def still_mine(self) -> bool:
        """Heartbeat; False once the job was cancelled, so the handler can stop early."""
        return await self.queue.heartbeat(self.job.id, self.worker_id)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
#: Called with the job's context and the reason once the job is ``failed``; must be idempotent.
FailureHook = Callable[[JobContext, str], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
FAILURE_HOOKS: dict[str, FailureHook] = {}


def handler(kind: str, *, on_failure: FailureHook | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if on_failure is not None:
            FAILURE_HOOKS[kind] = on_failure
        return fn

    return register


class Worker:
    def __init__(self, queue: JobQueue, services: Any, poll_seconds: float, concurrency: int = 1) -> None:
        self.queue = queue
        self.services = services
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        queue.listeners.append(self._wake.set)

    async def run_one(self) -> bool:
        kinds = sorted(HANDLERS)
        for job, reason in await self.queue.fail_abandoned(kinds):
            await self._failed(JobContext(job, self.queue, self.worker_id, self.services), reason)
        job = await self.queue.claim(kinds, self.worker_id)
        if job is None:
            return False
        attributes = {"pyai.job.kind": job.kind, "pyai.org_id": job.org_id}
        with log_context(org_id=job.org_id, job_id=job.id), span("job", **attributes):
            await self._run(job)
        return True

    async def _run(self, job: Job) -> None:
        """Run one claimed job (its logs and spans carry its org and id)."""
        ctx = JobContext(job, self.queue, self.worker_id, self.services)
        beat = asyncio.create_task(self._heartbeat(job.id))
        completed = False
        try:
            result = await HANDLERS[job.kind](ctx)
            completed = await self.queue.complete(job.id, self.worker_id, result, ctx.on_commit)
            if not completed:
                log.info("job %s finished but was cancelled or taken over; result dropped", job.id)
        except PermanentJobError as e:
            await self._fail(ctx, str(e), permanent=True)
        except Exception as e:  # a bug or transient fault: retried with backoff
            log.exception("job %s (%s) attempt %d failed", job.id, job.kind, job.attempts)
            await self._fail(ctx, f"{type(e).__name__}: {e}", permanent=False)
        finally:
            beat.cancel()
            for undo in [] if completed else ctx.on_abort:
                await undo()
        for cleanup in ctx.after_commit if completed else []:
            cleanup()

    async def _fail(self, ctx: JobContext, reason: str, *, permanent: bool) -> None:
        if await self.queue.fail(ctx.job, self.worker_id, reason, permanent=permanent) == "failed":
            await self._failed(ctx, reason)

    async def _failed(self, ctx: JobContext, reason: str) -> None:
        """Run the kind's ``on_failure`` hook; a hook's own error is logged (the job stays failed)."""
        if (hook := FAILURE_HOOKS.get(ctx.job.kind)) is None:
            return
        try:
            await hook(ctx, reason)
        except Exception:
            log.exception("job %s (%s): on_failure hook failed", ctx.job.id, ctx.job.kind)

    async def _heartbeat(self, job_id: str) -> None:
        interval = self.queue.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            await self.queue.heartbeat(job_id, self.worker_id)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if await self.run_one():
                    continue
            except Exception:
                log.exception("worker loop error")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
