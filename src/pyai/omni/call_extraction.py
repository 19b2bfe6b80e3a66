"""Post-call extraction: an agent's ``extraction_schema`` filled from what the caller said, stored on
the call record and POSTed to its ``extraction_webhook_url`` as the event ``omni.call.extracted``.

A durable job (kind ``omni_extract``) queued in the transaction that completes the call record, so
a restart loses nothing. It fills the schema with :func:`pyai.omni.slots.fill` from the caller's
turns, one per line, stores ``{status, data, missing}`` on the record and, in the same
transaction, queues the signed webhook delivery (``pyai.jobs.webhooks``: ``X-PyAI-Signature`` with
the org's webhook secret, retried with backoff, the URL checked by the SSRF guard at send time).
The schema and URL are the agent's when the call started; the job payload carries them.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.jobs.webhooks import enqueue_webhook
from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.store.omni_models import OmniCall
from pyai.store.tenancy import owned

KIND = "omni_extract"
EVENT = "omni.call.extracted"
MAX_ATTEMPTS = 3


async def enqueue_extraction(
    services: Any,
    org_id: str,
    call_id: str,
    agent_id: str | None,
    schema: dict,
    url: str,
    *,
    session: AsyncSession | None = None,
) -> None:
    """Queue the extraction of ``call_id`` (in ``session`` when given: it commits with the record)."""
    payload = {"call_id": call_id, "agent_id": agent_id, "schema": schema, "url": url}
    await services.jobs.enqueue(KIND, org_id, payload, prefix="job", max_attempts=MAX_ATTEMPTS, session=session)


def missing_fields(schema: dict, values: dict) -> list[str]:
    """The schema's ``required`` properties the call did not fill."""
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    return [name for name in required if values.get(name) in (None, "", [])]


async def _set_extraction(s: AsyncSession, org_id: str, call_id: str, extraction: dict) -> None:
    await s.execute(
        update(OmniCall).where(OmniCall.id == call_id, OmniCall.org_id == org_id).values(extraction=extraction)
    )


async def _failed(ctx: JobContext, reason: str) -> None:
    """``on_failure``: the record says the extraction failed, and why (no webhook is sent)."""
    p = ctx.job.payload
    async with ctx.services.db.session() as s:
        await _set_extraction(s, ctx.job.org_id, p["call_id"], {"status": "failed", "error": reason})
        await s.commit()


@handler(KIND, on_failure=_failed)
async def extract(ctx: JobContext) -> dict:
    from pyai.omni.slots import fill  # written alongside; imported when first needed

    services, job, p = ctx.services, ctx.job, ctx.job.payload
    async with services.db.session() as s:
        call = await s.scalar(owned(OmniCall, job.org_id).where(OmniCall.id == p["call_id"]))
    if call is None:
        raise PermanentJobError("the call record is gone")
    text = "\n".join(t["text"] for t in call.turns or [] if t.get("speaker") == "caller" and t.get("text"))
    today = datetime.datetime.fromtimestamp(call.started_at / 1000, datetime.UTC).date()
    values = fill(p["schema"], text, today=today)
    missing = missing_fields(p["schema"], values)
    extraction = {"status": "completed", "data": values, "missing": missing}
    data = {
        "object": "omni.call.extraction",
        "call_id": call.id,
        "agent_id": p["agent_id"],
        "session_label": call.session_label,
        "extracted": values,
        "missing": missing,
    }

    async def store(s: AsyncSession) -> None:
        await _set_extraction(s, job.org_id, call.id, extraction)

    async def send(s: AsyncSession) -> None:
        await enqueue_webhook(services, job.org_id, p["url"], EVENT, data, session=s)

    ctx.on_commit += [store, send]
    return {"call_id": call.id, "fields": sorted(values), "missing": missing}
