"""``/v1/trace/*``: compliance configs and rule packs (scope ``trace:configure``), and the
scorecards, violations, Tier-2 findings and exposure they produce (scope ``trace:read``).

The rules engine is ``pyai.trace`` (docs/trace-rules.md); calls are scanned after they end
(``pyai.trace.scoring``), and the inline gate runs inside the conversation engine.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import RootModel
from sqlalchemy import func, select

from pyai.api.bodies import json_body, validated
from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.errors import ProblemError, bad_request, not_found
from pyai.gateway.principal import Principal
from pyai.store.ids import now_ms
from pyai.store.omni_models import Agent
from pyai.store.pagination import newest_first, page
from pyai.store.tenancy import get_owned, owned
from pyai.store.trace_models import TraceFindingRow, TraceInteraction, TraceViolationRow
from pyai.trace import configs, packs_store
from pyai.trace.call_metrics import derived_metrics
from pyai.trace.dsl import SpecError
from pyai.trace.guardrails import parse_config, select_packs

router = APIRouter()


def _config_response(body: dict) -> JSONResponse:
    return JSONResponse(body, headers={"ETag": f'"{body["etag"]}"'})


async def _check_agent(s, org_id: str, agent_id: str | None) -> None:  # noqa: ANN001
    if agent_id:
        await get_owned(s, Agent, agent_id, org_id, "agent")


@router.get("/v1/trace/config", **documented("/v1/trace/config", "get"))
async def get_config(request: Request, agent_id: str | None = Query(None), p: Principal = caller()) -> JSONResponse:
    async with request.app.state.services.db.session() as s:
        await _check_agent(s, p.org_id, agent_id)
        config, updated_at, source = await configs.effective(s, p.org_id, agent_id)
    return _config_response(configs.view(agent_id, config, updated_at, source))


@router.put("/v1/trace/config", **documented("/v1/trace/config", "put"))
async def put_config(request: Request, p: Principal = caller()) -> JSONResponse:
    raw = await json_body(request, _Any)
    config = validated(configs.TraceConfigIn, configs.unwrap(raw.root))
    services = request.app.state.services
    stored = configs.normalised(config)
    async with services.db.session() as s:
        await _check_agent(s, p.org_id, config.agent_id)
        await check_packs(s, p.org_id, stored)
        row = await configs.store(s, p.org_id, config.agent_id, stored)
        await s.commit()
        updated_at = row.updated_at
    source = "agent" if config.agent_id else "org_default"
    return _config_response(configs.view(config.agent_id, stored, updated_at, source))


async def check_packs(s, org_id: str, config: dict) -> None:  # noqa: ANN001
    """The config's values must be usable (a phrase with words to match, a pack id that can be one:
    a 400 ``invalid_request`` naming the field; the contract's shape was checked before), and every
    pack it enables must exist, at the pinned version when one is (a 400 ``unknown_rule_pack``)."""
    try:
        parsed = parse_config(config)
    except SpecError as e:
        raise bad_request(str(e), param=e.path) from None
    try:
        select_packs(parsed, await packs_store.available_packs(s, org_id))
    except SpecError as e:
        raise ProblemError(400, "unknown_rule_pack", str(e), title="Invalid request", param=e.path) from None


# ---- rule packs --------------------------------------------------------------------------------
@router.get("/v1/trace/rule-packs", **documented("/v1/trace/rule-packs", "get"))
async def list_packs(request: Request, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        return {"object": "list", "data": await packs_store.list_views(s, p.org_id), "has_more": False}


@router.post("/v1/trace/rule-packs", status_code=201, **documented("/v1/trace/rule-packs", "post"))
async def upload_pack(request: Request, p: Principal = caller()) -> JSONResponse:
    raw = await json_body(request, _Any)
    async with request.app.state.services.db.session() as s:
        view = await packs_store.create(s, p.org_id, raw.root)
        await s.commit()
    return JSONResponse(view, status_code=201)


@router.get("/v1/trace/rule-packs/{id}", **{**documented("/v1/trace/rule-packs/{id}", "get"), "openapi_extra": None})
async def get_pack(
    request: Request,
    id: str,  # noqa: A002
    version: str | None = Query(None, description="Pin a version (default: the newest active one)."),
    p: Principal = caller(),
) -> dict:
    async with request.app.state.services.db.session() as s:
        view = await packs_store.get_view(s, p.org_id, id, version)
    if view is None:
        raise not_found("rule pack", id if version is None else f"{id}@{version}")
    return view


# ---- scorecards ---------------------------------------------------------------------------------
def interaction_item(row: TraceInteraction) -> dict[str, Any]:
    return {
        "object": "trace.interaction",
        "id": row.id,
        "agent_id": row.agent_id,
        "product": row.product,
        "verdict": row.verdict,
        "findings": row.findings,
        "blocked_turns": row.blocked_turns,
        "modified_turns": row.modified_turns,
        "packs_enforced": row.packs_enforced,
        "scored_at": row.scored_at,
    }


@router.get("/v1/trace/interactions", **{**documented("/v1/trace/interactions", "get"), "openapi_extra": None})
async def list_interactions(
    request: Request,
    verdict: Literal["PASS", "WARN", "FAIL"] | None = Query(None),
    agent_id: str | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, description="Pass the previous page's `next_cursor`."),
    p: Principal = caller(),
) -> dict:
    query = owned(TraceInteraction, p.org_id)
    if verdict is not None:
        query = query.where(TraceInteraction.verdict == verdict)
    if agent_id is not None:
        query = query.where(TraceInteraction.agent_id == agent_id)
    async with request.app.state.services.db.session() as s:
        rows = list(await s.scalars(newest_first(query, TraceInteraction, cursor, limit)))
    return page(rows, limit, interaction_item)


@router.get("/v1/trace/interactions/{id}", **documented("/v1/trace/interactions/{id}", "get"))
async def get_interaction(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    async with request.app.state.services.db.session() as s:
        row = await get_owned(s, TraceInteraction, id, p.org_id, "interaction")
        tier2 = list(
            await s.scalars(
                owned(TraceFindingRow, p.org_id)
                .where(TraceFindingRow.interaction_id == id)
                .order_by(TraceFindingRow.created_at, TraceFindingRow.id)
            )
        )
    card = row.scorecard
    return {
        **interaction_item(row),
        "audit_hash": row.audit_hash,
        "scorecard": card,
        "tier2_findings": [f.finding for f in tier2],
        "timeline": card.get("timeline", []),
        "quality_metrics": card.get("quality_metrics"),
        "derived_metrics": card.get("derived_metrics") or derived_metrics([], []),
    }


def violation_item(row: TraceViolationRow) -> dict[str, Any]:
    return {
        "object": "trace.violation",
        "id": row.id,
        "interaction_id": row.interaction_id,
        "agent_id": row.agent_id,
        "rule_id": row.rule_id,
        "pack_id": row.pack_id,
        "severity": row.severity,
        "action_taken": row.action_taken,
        "citation": row.citation,
        "reason": row.reason,
        "at_t": row.at_t,
    }


Severity = Literal["low", "medium", "high", "critical"]


@router.get("/v1/trace/violations", **{**documented("/v1/trace/violations", "get"), "openapi_extra": None})
async def list_violations(
    request: Request,
    rule_id: str | None = Query(None),
    severity: Severity | None = Query(None),
    interaction_id: str | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, description="Pass the previous page's `next_cursor`."),
    p: Principal = caller(),
) -> dict:
    filters = {"rule_id": rule_id, "severity": severity, "interaction_id": interaction_id}
    return await _filtered_page(request, TraceViolationRow, p.org_id, filters, cursor, limit, violation_item)


@router.get("/v1/trace/findings", **{**documented("/v1/trace/findings", "get"), "openapi_extra": None})
async def list_findings(
    request: Request,
    check_id: str | None = Query(None),
    action: Literal["flag", "preempt_next", "escalate"] | None = Query(None),
    severity: Severity | None = Query(None),
    interaction_id: str | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, description="Pass the previous page's `next_cursor`."),
    p: Principal = caller(),
) -> dict:
    filters = {"check_id": check_id, "action": action, "severity": severity, "interaction_id": interaction_id}
    return await _filtered_page(
        request,
        TraceFindingRow,
        p.org_id,
        filters,
        cursor,
        limit,
        lambda row: {"object": "trace.finding", **row.finding},
    )


async def _filtered_page(
    request: Request, model: Any, org_id: str, filters: dict, cursor: str | None, limit: int, view: Any
) -> dict:
    """One page, newest first, of the org's rows whose columns equal the filters given."""
    query = owned(model, org_id)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    async with request.app.state.services.db.session() as s:
        rows = list(await s.scalars(newest_first(query, model, cursor, limit)))
    return page(rows, limit, view)


@router.get("/v1/trace/exposure", **{**documented("/v1/trace/exposure", "get"), "openapi_extra": None})
async def exposure(request: Request, window_days: int = Query(30, ge=1, le=365), p: Principal = caller()) -> dict:
    since = now_ms() - window_days * 86_400_000
    async with request.app.state.services.db.session() as s:
        verdicts = dict(
            (
                await s.execute(
                    select(TraceInteraction.verdict, func.count())
                    .where(TraceInteraction.org_id == p.org_id, TraceInteraction.created_at >= since)
                    .group_by(TraceInteraction.verdict)
                )
            ).all()
        )
        by_rule = (
            await s.execute(
                select(
                    TraceViolationRow.rule_id,
                    TraceViolationRow.pack_id,
                    func.count(func.distinct(TraceViolationRow.interaction_id)),
                )
                .where(TraceViolationRow.org_id == p.org_id, TraceViolationRow.created_at >= since)
                .group_by(TraceViolationRow.rule_id, TraceViolationRow.pack_id)
            )
        ).all()
    scanned = sum(verdicts.values())
    gaps = scanned - verdicts.get("PASS", 0)
    ranking = sorted(
        ({"rule_id": r, "pack_id": pk, "count": n, "rate": n / scanned if scanned else 0.0} for r, pk, n in by_rule),
        key=lambda x: (-x["count"], x["rule_id"]),
    )
    return {
        "object": "trace.exposure",
        "window_days": window_days,
        "interactions_scanned": scanned,
        "with_a_gap": gaps,
        "gap_rate": gaps / scanned if scanned else 0.0,
        "by_rule": ranking,
        "by_verdict": {v: verdicts.get(v, 0) for v in ("PASS", "WARN", "FAIL")},
        "top_exposure": ranking[0]["rule_id"] if ranking else None,
    }


class _Any(RootModel[Any]):
    """Any JSON value (the config body is checked after unwrapping)."""
