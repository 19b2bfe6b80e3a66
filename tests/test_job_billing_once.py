"""A transcription job is billed exactly once, even when its worker dies before the job is marked done.

The crash window is inside one process (between a handler finishing and its job's completion
committing), so this test drives the job machinery in-process: the completion step fails once,
as if the worker had died there, and the retry must neither bill again nor lose the input.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from pyai.gateway import identity
from pyai.gateway.principal import Principal
from pyai.hear.jobs import JobOptions, create_job
from pyai.jobs.worker import Worker
from pyai.services import Services
from pyai.settings import Settings
from pyai.store.migrate import upgrade
from pyai.store.models import Job, UsageEvent, UsageHold
from tests.media import flite_wav


def test_a_job_whose_completion_crashed_is_billed_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, test_mode=True, worker_in_process=False)
    upgrade(settings.resolved_database_url)
    asyncio.run(_scenario(settings))


async def _scenario(settings: Settings) -> None:
    services = Services.build(settings)
    try:
        async with services.db.session() as s:
            org, project = await identity.create_org(s, "billing-once", "enterprise", monthly_units=100)
            issued = await identity.issue_key(
                s, settings.secret, org_id=org.id, project_id=project.id, env="live", scopes=["*"]
            )
            await s.commit()
        p = Principal(
            key_id=issued.key_id, org_id=org.id, project_id=project.id, env="live", scopes=("*",), status="active",
            expires_at=None, budget_cents=None, daily_unit_cap=None, org_status="active", plan="enterprise",
            monthly_units=100,
        )  # fmt: skip
        job = await create_job(
            services, p, JobOptions(), audio_url=None, upload=flite_wav("Please call me back tomorrow."), base_url=""
        )
        worker = Worker(services.jobs, services, poll_seconds=0.1)
        real_complete = services.jobs.complete
        crashes = []

        async def complete_once_crashing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if not crashes:
                crashes.append(1)
                raise ConnectionError("worker died before the completion committed")
            return await real_complete(*args, **kwargs)

        services.jobs.complete = complete_once_crashing  # type: ignore[method-assign]
        assert await worker.run_one()  # processed, but the completion "crashed": the job is retried
        async with services.db.session() as s:
            retry = await s.get(Job, job.id)
            assert retry.status == "queued"
            retry.run_after = 0  # skip the backoff
            await s.commit()
        assert await worker.run_one()
        async with services.db.session() as s:
            done = await s.get(Job, job.id)
            usage = (await s.scalars(select(UsageEvent).where(UsageEvent.org_id == org.id))).all()
            holds = (await s.scalars(select(UsageHold).where(UsageHold.org_id == org.id))).all()
        assert done.status == "completed", done.error
        assert "tomorrow" in done.result["result"]["text"]
        assert [u.source for u in usage] == [f"job:{job.id}"]  # one ledger row, keyed by the job
        assert abs(usage[0].seconds - done.result["result"]["audio_seconds"]) < 1e-3
        assert holds == []  # the first attempt's hold was released, the second's settled
        assert services.blobs.get(f"jobs/{job.id}/input.bin") is None  # input deleted once done
    finally:
        await services.close()
