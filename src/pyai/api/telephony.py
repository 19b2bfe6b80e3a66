"""``/v1/telephony/*``: search, provision, list, assign and release phone numbers (scope
``telephony:manage``). Every route is a 404 until the operator has set a carrier for the org
(``pyai telephony carrier set``), as the contract says; carrier failures are Problems carrying
the carrier's safe message. docs/telephony.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.api.voices import base_url
from pyai.gateway.auth import caller
from pyai.gateway.errors import ProblemError, bad_request, not_found
from pyai.gateway.idempotency import request_hash
from pyai.gateway.principal import Principal
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent
from pyai.store.telephony_models import TelephonyNumber
from pyai.store.tenancy import get_owned, owned
from pyai.telephony.carriers import carrier_from_config
from pyai.telephony.carriers.base import Carrier, CarrierError, validate_us_e164
from pyai.telephony.numbers import carrier_for, number_by_phone, number_view

router = APIRouter()
IDEMPOTENCY_SCOPE = "telephony.numbers"
VOICE_PATH = "/v1/telephony/twilio/voice"


class ProvisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone_number: str = Field(max_length=20)
    agent_id: str | None = Field(default=None, max_length=40)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str | None = Field(default=None, max_length=40)


def _problem(e: CarrierError) -> ProblemError:
    status = e.status if e.status in (400, 404, 409, 501) else 502
    code = {400: "invalid_request", 404: "not_found", 409: "conflict", 501: "not_supported"}.get(
        status, "carrier_error"
    )
    return ProblemError(status, code, f"carrier: {e.message}", title="Carrier error")


async def _carrier(request: Request, org_id: str) -> Carrier:
    services = request.app.state.services
    async with services.db.session() as s:
        settings = await carrier_for(s, services, org_id)
    if settings is None:
        raise ProblemError(
            404,
            "not_found",
            "No carrier is configured for this organization (the operator sets one: pyai telephony carrier set).",
            title="Not found",
        )
    return carrier_from_config(settings.kind, settings.opened())


def _voice_url(request: Request) -> str:
    return base_url(request).rstrip("/") + VOICE_PATH


async def _check_agent(s: Any, org_id: str, agent_id: str | None) -> None:
    if agent_id is not None:
        await get_owned(s, Agent, agent_id, org_id, "agent")


@router.get("/v1/telephony/available", **{**documented("/v1/telephony/available", "get"), "openapi_extra": None})
async def available(
    request: Request,
    area_code: str | None = Query(None, description="US area code (NPA)."),
    contains: str | None = Query(None, description="Digits the number contains (`*` any one digit)."),
    limit: int = Query(20, ge=1, le=50),
    p: Principal = caller(),
) -> dict:
    carrier = await _carrier(request, p.org_id)
    async with request.app.state.services.db.session() as s:
        taken = set(await s.scalars(owned(TelephonyNumber, p.org_id).with_only_columns(TelephonyNumber.phone_number)))
    try:
        found = await carrier.search(area_code, contains, limit, exclude=taken)
    except CarrierError as e:
        raise _problem(e) from None
    return {"object": "list", "data": [n.to_dict() for n in found], "has_more": False}


@router.get("/v1/telephony/numbers", **{**documented("/v1/telephony/numbers", "get"), "openapi_extra": None})
async def list_numbers(request: Request, include_released: bool = Query(False), p: Principal = caller()) -> dict:
    await _carrier(request, p.org_id)
    query = owned(TelephonyNumber, p.org_id)
    if not include_released:
        query = query.where(TelephonyNumber.status == "active")
    async with request.app.state.services.db.session() as s:
        rows = list(await s.scalars(query.order_by(TelephonyNumber.created_at.desc(), TelephonyNumber.id.desc())))
    return {"object": "list", "data": [number_view(r) for r in rows], "has_more": False}


@router.post("/v1/telephony/numbers", status_code=201, **documented("/v1/telephony/numbers", "post"))
async def provision(request: Request, p: Principal = caller()) -> JSONResponse:
    """Buy a number (never twice for one ``Idempotency-Key``: a replay answers the first 201)."""
    services = request.app.state.services
    idem_key = services.idempotency.validate(request.headers.get("idempotency-key"))
    body = await json_body(request, ProvisionIn)
    digest = request_hash(body.model_dump())
    if idem_key and (replay := await services.idempotency.lookup(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest)):
        return JSONResponse(replay[1], status_code=replay[0], headers={"Idempotent-Replayed": "true"})
    try:
        validate_us_e164(body.phone_number)
    except CarrierError as e:
        raise bad_request(e.message, param="phone_number") from None
    carrier = await _carrier(request, p.org_id)
    async with services.db.session() as s:
        await _check_agent(s, p.org_id, body.agent_id)
        if await number_by_phone(s, body.phone_number) is not None:
            raise ProblemError(
                409, "conflict", f"phone_number: {body.phone_number} is already in use.", title="Conflict"
            )
    try:
        bought = await carrier.provision(body.phone_number, _voice_url(request))
    except CarrierError as e:
        raise _problem(e) from None
    row = TelephonyNumber(
        id=new_id("pn"),
        org_id=p.org_id,
        phone_number=bought.phone_number,
        country=bought.country,
        area_code=bought.area_code,
        capabilities={"voice": bought.capabilities.voice, "sms": bought.capabilities.sms},
        agent_id=body.agent_id,
        monthly_cost_cents=bought.monthly_cost_cents,
        status="active",
        carrier=carrier.kind,
        carrier_number_id=bought.carrier_number_id,
        key_id=p.key_id,
        created_at=now_ms(),
    )
    async with services.db.session() as s:
        s.add(row)
        await s.commit()
    view = number_view(row)
    if idem_key and not await services.idempotency.store(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest, 201, view):
        # a concurrent request with the same key won: give ours back, answer with theirs
        await carrier.release(bought.carrier_number_id)
        async with services.db.session() as s:
            await s.delete(await s.get(TelephonyNumber, row.id))
            await s.commit()
        replay = await services.idempotency.lookup(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest)
        assert replay is not None
        return JSONResponse(replay[1], status_code=replay[0], headers={"Idempotent-Replayed": "true"})
    return JSONResponse(view, status_code=201)


@router.post("/v1/telephony/numbers/{id}/assign", **documented("/v1/telephony/numbers/{id}/assign", "post"))
async def assign(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    body = await json_body(request, AssignIn)
    await _carrier(request, p.org_id)
    async with request.app.state.services.db.session() as s:
        row = await get_owned(s, TelephonyNumber, id, p.org_id, "number", for_update=True)
        if row.status != "active":
            raise not_found("number", id)
        await _check_agent(s, p.org_id, body.agent_id)
        row.agent_id = body.agent_id
        await s.commit()
        return number_view(row)


@router.delete("/v1/telephony/numbers/{id}", **documented("/v1/telephony/numbers/{id}", "delete"))
async def release(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    """Give the number back (idempotent: releasing a released number answers it again)."""
    carrier = await _carrier(request, p.org_id)
    async with request.app.state.services.db.session() as s:
        row = await get_owned(s, TelephonyNumber, id, p.org_id, "number")
        if row.status == "active":
            try:
                if row.carrier_number_id:
                    await carrier.release(row.carrier_number_id)
            except CarrierError as e:
                raise _problem(e) from None
            row.status, row.released_at, row.agent_id = "released", now_ms(), None
            await s.commit()
        return number_view(row)
