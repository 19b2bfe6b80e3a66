"""``/v1/recap/*``: post-call recaps. Config and CRM config (scope ``recap:configure``), the
recap records of calls (scope ``recap:read``; ``402 insufficient_quota`` until the org turns
Recap on, as the contract's "Recap add-on enabled" asks: an add-on is part of the plan, and the
contract's error codes are a closed list, so the message says what to do). docs/recap.md
describes the records, the webhook and the Salesforce writer.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.errors import ApiError, ProblemError
from pyai.gateway.principal import Principal
from pyai.recap import org_config
from pyai.recap.jobs import enqueue_recap, known_pack
from pyai.store.omni_models import OmniCall
from pyai.store.pagination import newest_first, page
from pyai.store.recap_models import RecapCallRow, RecapConfigRow
from pyai.store.tenancy import get_owned, owned

router = APIRouter()


def recap_item(row: RecapCallRow) -> dict[str, Any]:
    return {
        "object": "recap.call",
        "call_id": row.id,
        "pack_id": row.pack_id,
        "status": row.status,
        "call_duration_s": row.call_duration_s,
        "created_at": row.created_at,
        "completed_at": row.completed_at,
    }


def recap_view(row: RecapCallRow) -> dict[str, Any]:
    return {**recap_item(row), "record": row.record, "error": row.error, "crm_write_status": row.crm_write_status}


async def _enabled(s: Any, org_id: str) -> RecapConfigRow:
    row = await org_config.load(s, org_id)
    if not row.enabled:
        raise ApiError(
            402,
            "insufficient_quota",
            "Recap is not enabled for this organization: turn it on with PUT /v1/recap/config.",
        )
    return row


async def _save(s: Any, row: RecapConfigRow) -> None:
    if row.updated_at is None:
        row.updated_at = row.crm_updated_at or 0
    s.add(row)
    await s.commit()


@router.get("/v1/recap/config", **documented("/v1/recap/config", "get"))
async def get_config(request: Request, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        return org_config.config_view(await org_config.load(s, p.org_id))


@router.put("/v1/recap/config", **documented("/v1/recap/config", "put"))
async def put_config(request: Request, p: Principal = caller()) -> dict:
    body = await json_body(request, org_config.RecapConfigIn)
    services = request.app.state.services
    async with services.db.session() as s:
        row = await org_config.load(s, p.org_id)
        await org_config.apply_config(services, row, body, known_pack)
        await _save(s, row)
        return org_config.config_view(row)


@router.get("/v1/recap/crm-config", **documented("/v1/recap/crm-config", "get"))
async def get_crm(request: Request, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        return org_config.crm_view(await org_config.load(s, p.org_id))


@router.put("/v1/recap/crm-config", **documented("/v1/recap/crm-config", "put"))
async def put_crm(request: Request, p: Principal = caller()) -> dict:
    body = await json_body(request, org_config.CrmConfigIn)
    services = request.app.state.services
    async with services.db.session() as s:
        row = await org_config.load(s, p.org_id)
        await org_config.apply_crm(services, row, body)
        await _save(s, row)
        return org_config.crm_view(row)


@router.get("/v1/recap/calls", **{**documented("/v1/recap/calls", "get"), "openapi_extra": None})
async def list_recaps(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, description="Pass the previous page's `next_cursor`."),
    status: Literal["pending", "processing", "complete", "failed"] | None = Query(None),
    p: Principal = caller(),
) -> dict:
    """Newest first."""
    async with request.app.state.services.db.session() as s:
        await _enabled(s, p.org_id)
        query = owned(RecapCallRow, p.org_id)
        if status is not None:
            query = query.where(RecapCallRow.status == status)
        rows = list(await s.scalars(newest_first(query, RecapCallRow, cursor, limit)))
    return page(rows, limit, recap_item)


@router.get("/v1/recap/calls/{call_id}", **documented("/v1/recap/calls/{call_id}", "get"))
async def get_recap(request: Request, call_id: str, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        await _enabled(s, p.org_id)
        return recap_view(await get_owned(s, RecapCallRow, call_id, p.org_id, "recap"))


@router.post("/v1/recap/calls/{call_id}", status_code=202, **documented("/v1/recap/calls/{call_id}", "post"))
async def rerun_recap(request: Request, call_id: str, p: Principal = caller()) -> JSONResponse:
    """(Re)build the call's recap now: a durable job; the record is ``pending`` until it runs."""
    services = request.app.state.services
    async with services.db.session() as s:
        config = await _enabled(s, p.org_id)
        call = await get_owned(s, OmniCall, call_id, p.org_id, "call")
        if call.status == "in_progress":
            raise ProblemError(
                409,
                "call_in_progress",
                "The call is still in progress; its recap follows when it ends.",
                title="Conflict",
            )
        row = await enqueue_recap(services, s, call, config.default_pack_id)
        await s.commit()
        return JSONResponse(recap_view(row), status_code=202)
