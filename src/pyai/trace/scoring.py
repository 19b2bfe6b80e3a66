"""After a call with Trace enabled: its scorecard (a durable job, ``trace_score``), appended to the
org's hash chain, then its Tier-2 findings (``trace_tier2``), which never touch the chain.

The scoring job is queued in the transaction that completes the call record, carrying the
config the call ran under and the inline gate's report (what it redacted or blocked never
reached the transcript). A scorecard is the library's :func:`~pyai.trace.scan.scan` plus the
call's timeline and metrics (:mod:`pyai.trace.call_metrics`); the chain is extended one link at
a time per org (an advisory lock on PostgreSQL; SQLite's single writer, taken by a first write),
so ``seq`` has no gaps and ``audit_hash`` = sha256(previous hash, this scorecard).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.knowledge.grounding import GroundingConfig, ground, validate_grounding_config
from pyai.store.ids import new_id, now_ms
from pyai.store.locks import lock_for_transaction
from pyai.store.omni_models import Agent, OmniCall
from pyai.store.tenancy import owned
from pyai.store.trace_models import TraceFindingRow, TraceInteraction, TraceViolationRow
from pyai.trace import audit, call_metrics, configs, tier2
from pyai.trace.guardrails import parse_config, select_packs
from pyai.trace.packs_store import available_packs
from pyai.trace.scan import scan
from pyai.trace.tier2_llm import llm_check

log = logging.getLogger("pyai.trace")
SCORE, TIER2, SCORE_TRANSCRIPT = "trace_score", "trace_tier2", "trace_score_transcript"
MAX_TRANSCRIPT_TURNS = 2000
MAX_ATTEMPTS = 3


async def enqueue_scoring(
    services: Any, s: AsyncSession, org_id: str, call_id: str, agent_id: str | None, config: dict, report: dict
) -> None:
    payload = {"call_id": call_id, "agent_id": agent_id, "config": config, "report": report}
    await services.jobs.enqueue(SCORE, org_id, payload, prefix="job", max_attempts=MAX_ATTEMPTS, session=s)


def scorecard_of(call: OmniCall, packs: list, config: dict, report: dict) -> dict[str, Any]:
    """The call's scorecard: findings and verdict (the rules), then its timeline and metrics."""
    turns, tools = call.turns or [], call.tools or []
    card = scan(turns, packs, config.get("guardrails"), inline=report)
    events = call_metrics.timeline(turns, tools)
    derived = call_metrics.derived_metrics(events, tools)
    card.update(
        call_id=call.id,
        agent_id=call.agent_id,
        product="omni",
        timeline=events,
        derived_metrics=derived,
        quality_metrics=call_metrics.quality_metrics(events, derived),
    )
    return card


async def append(
    s: AsyncSession, org_id: str, interaction_id: str, agent_id: str | None, card: dict
) -> TraceInteraction:
    """Add ``card`` as the next link of the org's chain, with its violations (the caller commits)."""
    if s.bind.dialect.name == "postgresql":
        await lock_for_transaction(s, f"trace-chain:{org_id}")
    else:  # take SQLite's write lock before reading the chain's head
        await s.execute(update(TraceInteraction).where(false()).values(seq=0))
    head = await s.scalar(select(func.max(TraceInteraction.seq)).where(TraceInteraction.org_id == org_id))
    previous = None
    if head is not None:
        previous = await s.scalar(
            select(TraceInteraction.audit_hash).where(TraceInteraction.org_id == org_id, TraceInteraction.seq == head)
        )
    counts = card.get("counts", {})
    now = now_ms()
    row = TraceInteraction(
        id=interaction_id,
        org_id=org_id,
        seq=(head or 0) + 1,
        agent_id=agent_id,
        product=card.get("product"),
        verdict=card["verdict"],
        findings=len(card.get("findings", [])),
        blocked_turns=counts.get("blocked_turns", 0),
        modified_turns=counts.get("modified_turns", 0),
        packs_enforced=",".join(card.get("packs_enforced", []))[:512],
        scorecard=card,
        audit_hash=audit.link(previous, card),
        scored_at=now,
        created_at=now,
    )
    s.add(row)
    for f in card.get("findings", []):
        s.add(
            TraceViolationRow(
                id=new_id("tviol"),
                org_id=org_id,
                interaction_id=interaction_id,
                agent_id=agent_id,
                rule_id=f["rule_id"],
                pack_id=f.get("pack_id"),
                severity=f["severity"],
                action_taken=f["action_taken"],
                citation=f.get("citation") or "",
                reason=f.get("reason") or "",
                at_t=f.get("at_t"),
                created_at=now,
            )
        )
    return row


@handler(SCORE)
async def score(ctx: JobContext) -> dict:
    services, job, p = ctx.services, ctx.job, ctx.job.payload
    async with services.db.session() as s:
        call = await s.scalar(owned(OmniCall, job.org_id).where(OmniCall.id == p["call_id"]))
        if call is None:
            raise PermanentJobError("the call record is gone")
        if await s.get(TraceInteraction, call.id) is not None:
            return {"call_id": call.id, "already": True}  # a retry after the commit: nothing to redo
        packs = select_packs(parse_config(p["config"]), await available_packs(s, job.org_id))
    card = scorecard_of(call, packs, p["config"], p["report"])

    async def store(s: AsyncSession) -> None:
        await append(s, job.org_id, call.id, call.agent_id, card)
        payload = {"call_id": call.id, "agent_id": call.agent_id}
        await services.jobs.enqueue(TIER2, job.org_id, payload, prefix="job", max_attempts=MAX_ATTEMPTS, session=s)

    ctx.on_commit.append(store)
    return {"call_id": call.id, "verdict": card["verdict"], "findings": len(card.get("findings", []))}


async def _passages(services: Any, org_id: str, agent: Agent | None, turns: list[dict]) -> list[str]:
    """The agent's knowledge behind what it said: for each agent turn, what its knowledge base
    (or ``kb_endpoint``) returns for it. None when the agent has no knowledge."""
    if agent is None or not (agent.knowledge_base_id or agent.kb_endpoint):
        return []
    fields = {"knowledge_base_id": agent.knowledge_base_id, "kb_endpoint": agent.kb_endpoint}
    config: GroundingConfig = validate_grounding_config(
        {k: v for k, v in fields.items() if v}, allow_loopback=services.settings.test_mode
    )
    found: list[str] = []
    for turn in turns:
        if turn.get("speaker") == "agent" and turn.get("text"):
            passages = await ground(services, org_id, config, turn["text"])
            found += [str(p.get("content", "")) for p in passages]
    return found


@handler(TIER2)
async def tier2_findings(ctx: JobContext) -> dict:
    """Advisory checks after the scorecard: stored beside it, never in the chain."""
    services, job, p = ctx.services, ctx.job, ctx.job.payload
    async with services.db.session() as s:
        call = await s.scalar(owned(OmniCall, job.org_id).where(OmniCall.id == p["call_id"]))
        agent = await s.get(Agent, call.agent_id) if call is not None and call.agent_id else None
    if call is None:
        raise PermanentJobError("the call record is gone")
    turns = call.turns or []
    passages = await _passages(services, job.org_id, agent, turns)
    findings = tier2.check(turns, passages)
    findings += await llm_check(services, turns, passages, agent.brain_model if agent else None)

    async def store(s: AsyncSession) -> None:
        for f in findings:
            finding = {**f, "id": new_id("tfind"), "interaction_id": call.id, "agent_id": call.agent_id}
            s.add(
                TraceFindingRow(
                    id=finding["id"],
                    org_id=job.org_id,
                    interaction_id=call.id,
                    agent_id=call.agent_id,
                    check_id=finding["check_id"],
                    severity=finding["severity"],
                    action=finding["action"],
                    finding=finding,
                    created_at=now_ms(),
                )
            )

    ctx.on_commit.append(store)
    return {"call_id": call.id, "findings": len(findings)}


# ---- transcripts of Hear jobs ----------------------------------------------------------------------
def transcript_turns(segments: list[dict]) -> list[dict]:
    """A Hear job's segments as call turns. Who is the agent: with channels, channel 1 (PyAI's own
    call recordings put the caller left, the agent right); diarised, the first voice heard (calls
    open with the agent); otherwise every word is read as the agent's (docs/trace-rules.md)."""
    first = next((seg.get("speaker") for seg in segments if seg.get("speaker") is not None), None)

    def speaker(seg: dict) -> str:
        if seg.get("channel") is not None:
            return "agent" if seg["channel"] == 1 else "caller"
        if seg.get("speaker") is not None:
            return "agent" if seg["speaker"] == first else "caller"
        return "agent"

    turns: list[dict] = []
    for seg in segments:
        who, text = speaker(seg), str(seg.get("text") or "").strip()
        if not text:
            continue
        start, end = round(seg.get("start", 0) * 1000), round(seg.get("end", 0) * 1000)
        if turns and turns[-1]["speaker"] == who:
            turns[-1].update(text=f"{turns[-1]['text']} {text}", end_ms=end)
        else:
            turns.append({"speaker": who, "text": text, "start_ms": start, "end_ms": end, "interrupted": False})
    return turns[:MAX_TRANSCRIPT_TURNS]


async def scan_transcript_after_job(
    services: Any, s: AsyncSession, org_id: str, job_id: str, segments: list[dict]
) -> None:
    """A finished Hear job is scanned when the org's default Trace config is on (in ``s``: it
    commits with the job)."""
    config, _, _ = await configs.effective(s, org_id, None)
    if not config["enabled"]:
        return
    payload = {"job_id": job_id, "config": config, "turns": transcript_turns(segments)}
    await services.jobs.enqueue(SCORE_TRANSCRIPT, org_id, payload, prefix="job", max_attempts=MAX_ATTEMPTS, session=s)


@handler(SCORE_TRANSCRIPT)
async def score_transcript(ctx: JobContext) -> dict:
    services, job, p = ctx.services, ctx.job, ctx.job.payload
    async with services.db.session() as s:
        if await s.get(TraceInteraction, p["job_id"]) is not None:
            return {"job_id": p["job_id"], "already": True}
        packs = select_packs(parse_config(p["config"]), await available_packs(s, job.org_id))
    turns = p["turns"]
    card = scan(turns, packs, p["config"].get("guardrails"))
    events = call_metrics.timeline(turns, [])
    card.update(job_id=p["job_id"], agent_id=None, product="hear", timeline=events)
    card["derived_metrics"] = call_metrics.derived_metrics(events, [])

    async def store(s: AsyncSession) -> None:
        await append(s, job.org_id, p["job_id"], None, card)

    ctx.on_commit.append(store)
    return {"job_id": p["job_id"], "verdict": card["verdict"]}
