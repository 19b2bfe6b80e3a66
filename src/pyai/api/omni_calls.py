"""``/v1/omni/calls``: the record every ``/v1/omni`` session leaves (scope ``omni:read``).

Records are written by :class:`pyai.omni.call_record.CallRecorder`; docs/calls.md describes them.
Extensions to the contract: the list filters ``agent_id``, ``status`` (``in_progress`` lists live
calls, which the default listing leaves out: the contract's status enum has only the two ended
states), ``started_after`` / ``started_before`` (Unix ms); and on a record ``agent_id``,
``ended_at``, ``end_reason``, ``tool_calls`` and ``extraction``.
"""

from __future__ import annotations

import time
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.errors import not_found
from pyai.gateway.principal import Principal
from pyai.omni.call_record import LIVE, reap_stale
from pyai.store.omni_models import OmniCall
from pyai.store.pagination import newest_first, page
from pyai.store.tenancy import get_owned, owned

router = APIRouter()

#: Signed recording links are short-lived.
RECORDING_LINK_TTL_S = 3600


def _documented(path: str) -> dict[str, Any]:
    """The contract's text for the operation; its parameters are declared on the route itself
    (merging both would list each twice in ``/openapi.json``)."""
    return {**documented(path, "get"), "openapi_extra": None}


def _base(request: Request) -> str:
    return request.app.state.services.settings.public_base_url or str(request.base_url).rstrip("/")


def call_item(call: OmniCall) -> dict[str, Any]:
    """The contract's ``OmniCallListItem`` (plus ``agent_id``, ``ended_at``, ``end_reason``)."""
    return {
        "object": "omni.call",
        "call_id": call.id,
        "session_label": call.session_label,
        "agent_id": call.agent_id,
        "status": call.status,
        "end_reason": call.end_reason,
        "duration_s": None if call.duration_ms is None else round(call.duration_ms / 1000, 3),
        "has_recording": call.recording_key is not None,
        "has_summary": call.summary is not None,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "created_at": call.created_at,
    }


def _signed(request: Request, key: str) -> tuple[str, int]:
    """An absolute signed link to blob ``key`` and its expiry (Unix seconds)."""
    path = request.app.state.services.blobs.signed_path(key, RECORDING_LINK_TTL_S)
    exp = int(parse_qs(urlsplit(path).query)["exp"][0])
    return _base(request) + path, exp


def call_view(request: Request, call: OmniCall) -> dict[str, Any]:
    """The contract's ``OmniCall``: the transcript inline, the recording as a signed link."""
    view = call_item(call)
    view["transcript"] = {"object": "omni.transcript", "turns": call.turns or []}
    view["tool_calls"] = call.tools or []
    if call.recording_key:
        view["recording_url"] = _signed(request, call.recording_key)[0]
    if call.summary is not None:
        view["summary"] = call.summary
    if call.status == "failed":
        view["error"] = call.error or "The call failed."
    view["extraction"] = call.extraction
    view["phone"] = call.phone  # extension: a phone call's numbers and carrier call id
    return view


async def _load(request: Request, p: Principal, call_id: str) -> OmniCall:
    services = request.app.state.services
    await reap_stale(services, p.org_id)
    async with services.db.session() as s:
        return await get_owned(s, OmniCall, call_id, p.org_id, "call")


@router.get("/v1/omni/calls", **_documented("/v1/omni/calls"))
async def list_calls(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, description="Pass the previous page's `next_cursor`."),
    session_label: str | None = Query(None, description="Only calls connected with this opaque session tag."),
    agent_id: str | None = Query(None, description="Extension: only calls of this agent profile."),
    status: Literal["completed", "failed", "in_progress"] | None = Query(
        None, description="Extension: only calls in this state (`in_progress`: live calls, otherwise left out)."
    ),
    started_after: int | None = Query(None, ge=0, description="Extension: started at or after (Unix ms)."),
    started_before: int | None = Query(None, ge=0, description="Extension: started before (Unix ms)."),
    p: Principal = caller(),
) -> dict:
    """Newest first. Without ``status``, live calls (``in_progress``) are left out."""
    services = request.app.state.services
    await reap_stale(services, p.org_id)
    query = owned(OmniCall, p.org_id)
    if session_label is not None:
        query = query.where(OmniCall.session_label == session_label)
    if agent_id is not None:
        query = query.where(OmniCall.agent_id == agent_id)
    query = query.where(OmniCall.status == status) if status else query.where(OmniCall.status != LIVE)
    if started_after is not None:
        query = query.where(OmniCall.created_at >= started_after)
    if started_before is not None:
        query = query.where(OmniCall.created_at < started_before)
    async with services.db.session() as s:
        rows = list(await s.scalars(newest_first(query, OmniCall, cursor, limit)))
    return page(rows, limit, call_item)


@router.get("/v1/omni/calls/{call_id}", **_documented("/v1/omni/calls/{call_id}"))
async def get_call(request: Request, call_id: str, p: Principal = caller()) -> dict:
    return call_view(request, await _load(request, p, call_id))


@router.get("/v1/omni/calls/{call_id}/recording", **_documented("/v1/omni/calls/{call_id}/recording"))
async def get_recording(
    request: Request,
    call_id: str,
    response: Literal["url"] | None = Query(
        None, description="Set to `url` to return the signed URL as JSON instead of a 302 redirect."
    ),
    p: Principal = caller(),
) -> Any:
    """``302`` to a short-lived signed link, or that link as JSON with ``?response=url``; ``404``
    when the call has no recording (recording off, nothing heard, or still in progress)."""
    call = await _load(request, p, call_id)
    if not call.recording_key:
        raise not_found("recording for call", call_id)
    url, exp = _signed(request, call.recording_key)
    if response == "url":
        return {
            "object": "omni.call.recording",
            "call_id": call.id,
            "url": url,
            "expires_at": exp * 1000,
            "expires_in": max(0, exp - int(time.time())),
        }
    return RedirectResponse(url, status_code=302)


@router.get("/v1/omni/calls/{call_id}/summary", **_documented("/v1/omni/calls/{call_id}/summary"))
async def get_summary(request: Request, call_id: str, p: Principal = caller()) -> dict:
    """The summary written when the call ended; ``404`` while it is in progress."""
    call = await _load(request, p, call_id)
    if call.summary is None:
        raise not_found("summary for call", call_id)
    return {"object": "omni.call.summary", "call_id": call.id, "summary": call.summary}
