"""The Recap job: after a call (or ``POST /v1/recap/calls/{id}``), build its recap, store it, and
deliver it — the signed ``recap.completed`` webhook and, when Salesforce is enabled, the CRM write.

A durable job (kind ``recap``) queued in the transaction that completes the call record, so a
restart loses nothing; the record says ``pending`` until the job runs, ``processing`` while it
does, then ``complete`` (or ``failed``, with why). The webhook is its own durable, retried
delivery (``pyai.jobs.webhooks``); the Salesforce write is attempted once per run and its outcome
kept in ``crm_write_status`` (re-run the recap to try again).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.jobs.webhooks import enqueue_webhook
from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.recap import org_config
from pyai.recap.builder import build_recap
from pyai.recap.delivery import recap_event
from pyai.recap.llm import llm_for
from pyai.recap.packs import PACKS
from pyai.recap.salesforce import SalesforceConfig, record_id_for, write_recap
from pyai.store.ids import now_ms
from pyai.store.omni_models import Agent, OmniCall
from pyai.store.recap_models import RecapCallRow
from pyai.store.tenancy import owned

log = logging.getLogger("pyai.recap")
KIND = "recap"
MAX_ATTEMPTS = 3


def known_pack(pack_id: str) -> bool:
    return pack_id in PACKS


async def enqueue_recap(services: Any, s: AsyncSession, call: OmniCall, pack_id: str) -> RecapCallRow:
    """Mark the call's recap ``pending`` and queue its job (in ``s``: it commits with the caller)."""
    row = await s.get(RecapCallRow, call.id)
    if row is None:
        row = RecapCallRow(id=call.id, org_id=call.org_id, created_at=now_ms())
        s.add(row)
    row.pack_id, row.status, row.error, row.completed_at = pack_id, "pending", None, None
    row.call_duration_s = None if call.duration_ms is None else round(call.duration_ms / 1000, 3)
    await services.jobs.enqueue(
        KIND, call.org_id, {"call_id": call.id, "pack_id": pack_id}, prefix="job", max_attempts=MAX_ATTEMPTS, session=s
    )
    return row


async def recap_after_call(services: Any, s: AsyncSession, org_id: str, call_id: str) -> None:
    """The call-record hook: queue the recap when the org has Recap enabled."""
    config = await org_config.load(s, org_id)
    if not config.enabled:
        return
    await s.flush()
    call = await s.scalar(owned(OmniCall, org_id).where(OmniCall.id == call_id))
    if call is not None:
        await enqueue_recap(services, s, call, config.default_pack_id)


async def _set(services: Any, org_id: str, call_id: str, **values: Any) -> None:
    async with services.db.session() as s:
        await s.execute(
            update(RecapCallRow).where(RecapCallRow.id == call_id, RecapCallRow.org_id == org_id).values(**values)
        )
        await s.commit()


async def _failed(ctx: JobContext, reason: str) -> None:
    await _set(ctx.services, ctx.job.org_id, ctx.job.payload["call_id"], status="failed", error=reason)


@handler(KIND, on_failure=_failed)
async def run_recap(ctx: JobContext) -> dict:
    services, job, p = ctx.services, ctx.job, ctx.job.payload
    async with services.db.session() as s:
        call = await s.scalar(owned(OmniCall, job.org_id).where(OmniCall.id == p["call_id"]))
        config = await org_config.load(s, job.org_id)
        agent = await s.get(Agent, call.agent_id) if call is not None and call.agent_id else None
    if call is None:
        raise PermanentJobError("the call record is gone")
    await _set(services, job.org_id, call.id, status="processing")
    llm, model = llm_for(services, agent.brain_model if agent else None) or (None, None)
    today = datetime.datetime.fromtimestamp(call.started_at / 1000, datetime.UTC).date()
    turns, tools = call.turns or [], call.tools or []
    record = await build_recap(turns, p["pack_id"], tool_outcomes=tools, llm=llm, model=model, today=today)
    crm_status = None
    salesforce = org_config.salesforce_secrets(services, config)
    if salesforce is not None:
        metadata = {**((agent.meta or {}) if agent else {}), "session_label": call.session_label}
        crm_status = await _write_crm(services, job.org_id, salesforce, record, call, metadata)
    duration = None if call.duration_ms is None else round(call.duration_ms / 1000, 3)
    event = recap_event(
        call.id,
        record,
        agent_id=call.agent_id,
        call_duration_s=duration,
        completed_at=now_ms(),
        crm_write_status=crm_status,
    )

    async def store(s: AsyncSession) -> None:
        values = {"status": "complete", "record": record, "error": None, "completed_at": now_ms()}
        await s.execute(
            update(RecapCallRow)
            .where(RecapCallRow.id == call.id, RecapCallRow.org_id == job.org_id)
            .values(**values, crm_write_status=crm_status)
        )

    async def send(s: AsyncSession) -> None:
        if config.webhook_url:
            await enqueue_webhook(services, job.org_id, config.webhook_url, event["type"], event["data"], session=s)

    ctx.on_commit += [store, send]
    return {"call_id": call.id, "outcome": record.get("outcome"), "crm_write_status": crm_status}


async def _write_crm(services: Any, org_id: str, salesforce: dict, record: dict, call: OmniCall, metadata: dict) -> str:
    """Write the recap to Salesforce; its status line (never raises: the recap stands either way).
    The record to update is named by ``record_id_field`` in the call's metadata (the agent's
    ``metadata`` and the call's ``session_label``) or the recap's extracted fields."""
    try:
        config = SalesforceConfig.from_dict(salesforce)
        result = await write_recap(
            config,
            record,
            record_id_for(config, record, metadata),
            call_id=call.id,
            call_duration_s=None if call.duration_ms is None else round(call.duration_ms / 1000),
            activity_date=datetime.datetime.fromtimestamp(call.started_at / 1000, datetime.UTC).date(),
            allow_loopback=services.settings.test_mode,
        )
    except Exception as e:  # a bug or a bad stored config: recorded, the recap is not lost
        log.warning("recap %s: the Salesforce write failed: %s", call.id, e)
        return f"failed: {type(e).__name__}"
    if result.refresh_token:  # Salesforce rotated it: keep the new one
        async with services.db.session() as s:
            row = await org_config.load(s, org_id)
            org_config.rotate_refresh_token(services, row, result.refresh_token)
            await s.commit()
    return result.status
