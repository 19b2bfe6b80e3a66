"""The job table's state machine: enqueue, claim (with leases), heartbeat, finish, cancel.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so many worker processes never take the
same job; on SQLite (one in-process worker) a compare-and-swap UPDATE does the same job. A
running job whose lease lapsed (its worker died) is claimable again, so nothing is lost, unless
that was its last attempt: then :meth:`JobQueue.fail_abandoned` fails it, so a job that kills its
worker every time cannot loop forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.store.db import Database
from pyai.store.ids import new_id, now_ms
from pyai.store.models import Job

#: A write that must commit together with a job's completion.
InTransaction = Callable[[AsyncSession], Awaitable[None]]


class JobQueue:
    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease_ms = int(lease_seconds * 1000)
        self.listeners: list = []  # callables poked on enqueue so in-process workers wake at once

    async def enqueue(
        self,
        kind: str,
        org_id: str,
        payload: dict[str, Any],
        *,
        job_id: str | None = None,
        prefix: str = "job",
        max_attempts: int = 3,
        run_after: int = 0,
        session=None,  # noqa: ANN001
    ) -> Job:
        """Insert a queued job (in ``session`` when given, so it commits with the caller's rows)."""
        job = Job(
            id=job_id or new_id(prefix),
            org_id=org_id,
            kind=kind,
            status="queued",
            payload=payload,
            max_attempts=max_attempts,
            run_after=run_after,
        )
        if session is not None:
            session.add(job)
        else:
            async with self.db.session() as s:
                s.add(job)
                await s.commit()
        self.poke()
        return job

    def poke(self) -> None:
        for listener in self.listeners:
            listener()

    def _claimable(self, kinds: list[str], now: int):  # noqa: ANN202 - SQL expression
        return and_(
            Job.kind.in_(kinds),
            Job.attempts < Job.max_attempts,
            or_(
                and_(Job.status == "queued", Job.run_after <= now),
                and_(Job.status == "running", Job.lease_until < now),
            ),
        )

    def _abandoned(self, kinds: list[str], now: int):  # noqa: ANN202 - SQL expression
        """Out of attempts yet not finished: its worker died on the last one (lease lapsed, or
        re-queued by :meth:`release_all_running`)."""
        return and_(
            Job.kind.in_(kinds),
            Job.attempts >= Job.max_attempts,
            or_(Job.status == "queued", and_(Job.status == "running", Job.lease_until < now)),
        )

    async def claim(self, kinds: list[str], worker_id: str) -> Job | None:
        now = now_ms()
        async with self.db.session() as s:
            if not self.db.is_sqlite:
                job = await s.scalar(
                    select(Job)
                    .where(self._claimable(kinds, now))
                    .order_by(Job.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if job is None:
                    return None
                job.status, job.worker_id = "running", worker_id
                job.lease_until, job.attempts, job.updated_at = now + self.lease_ms, job.attempts + 1, now
                await s.commit()
                return job
            job = await s.scalar(select(Job).where(self._claimable(kinds, now)).order_by(Job.created_at).limit(1))
            if job is None:
                return None
            res = await s.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.updated_at == job.updated_at)
                .values(
                    status="running",
                    worker_id=worker_id,
                    lease_until=now + self.lease_ms,
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
            )
            await s.commit()
            if res.rowcount != 1:
                return None
            return await s.get(Job, job.id, populate_existing=True)

    async def heartbeat(self, job_id: str, worker_id: str) -> bool:
        """Extend the lease; False when the job was cancelled or taken over meanwhile."""
        async with self.db.session() as s:
            res = await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
                .values(lease_until=now_ms() + self.lease_ms)
            )
            await s.commit()
            return res.rowcount == 1

    async def _finish(self, job_id: str, worker_id: str, within: Sequence[InTransaction] = (), **values: Any) -> bool:
        """Move a job this worker holds to its next state; ``within`` joins the same transaction."""
        async with self.db.session() as s:
            res = await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker_id == worker_id, Job.status == "running")
                .values(updated_at=now_ms(), lease_until=None, **values)
            )
            if res.rowcount != 1:
                await s.rollback()
                return False
            for effect in within:
                await effect(s)
            await s.commit()
        if within:
            self.poke()  # an effect may have enqueued a job (a webhook)
        return True

    async def complete(
        self, job_id: str, worker_id: str, result: dict[str, Any], within: Sequence[InTransaction] = ()
    ) -> bool:
        """Mark the job completed; ``within`` adds the job's other effects (its usage, its webhook)
        to the same transaction, so they happen exactly once: all of them, or none and a retry."""
        return await self._finish(job_id, worker_id, within, status="completed", result=result, error=None)

    async def fail(self, job: Job, worker_id: str, error: str, *, permanent: bool) -> str | None:
        """Retry with exponential backoff until ``max_attempts``, then mark failed.

        Returns the job's new status (``queued`` for a retry, or ``failed``), or None when the job
        was no longer this worker's (cancelled or taken over) and nothing changed.
        """
        if permanent or job.attempts >= job.max_attempts:
            status, values = "failed", {}
        else:
            status, values = "queued", {"run_after": now_ms() + min(300_000, 1000 * 2**job.attempts)}
        return status if await self._finish(job.id, worker_id, status=status, error=error, **values) else None

    async def fail_abandoned(self, kinds: list[str]) -> list[tuple[Job, str]]:
        """Fail the jobs of ``kinds`` whose worker died on their last attempt; returns each with its error.

        Read first, so an idle poll takes no write lock; each row is then failed only if it still
        qualifies (a concurrent reaper or a late heartbeat wins), so exactly one caller gets it.
        """
        now = now_ms()
        failed = []
        async with self.db.session() as s:
            for job in (await s.scalars(select(Job).where(self._abandoned(kinds, now)).limit(100))).all():
                error = f"attempt {job.attempts} of {job.max_attempts} was lost: its worker stopped without finishing"
                res = await s.execute(
                    update(Job)
                    .where(Job.id == job.id, self._abandoned(kinds, now))
                    .values(status="failed", error=error, lease_until=None, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount == 1:
                    failed.append((job, error))
            await s.commit()
        return failed

    async def cancel(self, job_id: str, org_id: str) -> Job | None:
        """queued/running → cancelled; a terminal job is returned unchanged (idempotent)."""
        async with self.db.session() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id, Job.org_id == org_id, Job.status.in_(("queued", "running")))
                .values(status="cancelled", updated_at=now_ms(), lease_until=None)
            )
            await s.commit()
            return await s.scalar(select(Job).where(Job.id == job_id, Job.org_id == org_id))

    async def release_all_running(self) -> int:
        """SQLite only: the single in-process worker restarted, so every running job is orphaned."""
        async with self.db.session() as s:
            res = await s.execute(update(Job).where(Job.status == "running").values(status="queued", lease_until=None))
            await s.commit()
            return res.rowcount
