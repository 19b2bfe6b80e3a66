"""A design job whose sample line has nothing to say fails at once, and its design says why.

The API refuses such lines now, but rows written before it did still reach the worker; this drives
one through the real worker and handler in-process (no HTTP request can make one any more).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pyai.jobs.worker import Worker
from pyai.services import Services
from pyai.settings import Settings
from pyai.speak.designs import KIND
from pyai.store.migrate import upgrade
from pyai.store.models import Job
from pyai.store.voice_models import VoiceDesign


async def _run_design_job(settings: Settings, sample_text: str) -> tuple[Job, VoiceDesign]:
    services = Services.build(settings)
    try:
        async with services.db.session() as s:
            design = VoiceDesign(
                id="dsn_old", org_id="org_x", prompt="a calm woman", attributes={}, sample_text=sample_text, requested=1
            )
            s.add(design)
            job = await services.jobs.enqueue(KIND, "org_x", {"design_id": design.id}, session=s)
            await s.commit()
        assert await Worker(services.jobs, services, poll_seconds=0.1).run_one()
        async with services.db.session() as s:
            return await s.get(Job, job.id), await s.get(VoiceDesign, design.id)
    finally:
        await services.close()


def test_unspeakable_sample_text_fails_the_job_and_its_design_at_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_in_process=False)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    job, design = asyncio.run(_run_design_job(settings, "|"))
    assert job.status == "failed" and job.attempts == 1  # permanent: no retries
    assert design.status == "failed" and design.error == job.error and "sample_text" in design.error
