"""``/v1/voice/clones``: enrol, list and delete cloned voices (scope ``voice:clone``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from pyai.api.bodies import multipart_form, read_upload
from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.errors import ApiError, bad_request, not_found
from pyai.gateway.principal import Principal
from pyai.speak.clones import enrol, voice_json
from pyai.store.tenancy import owned
from pyai.store.voice_models import CustomVoice

router = APIRouter()


@router.get("/v1/voice/clones", **documented("/v1/voice/clones", "get"))
async def list_clones(request: Request, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        rows = (
            await s.scalars(
                owned(CustomVoice, p.org_id).where(CustomVoice.kind == "clone").order_by(CustomVoice.created_at.desc())
            )
        ).all()
    return {"object": "list", "data": [voice_json(v) for v in rows]}


@router.post("/v1/voice/clones", status_code=201, **documented("/v1/voice/clones", "post"))
async def create_clone(request: Request, p: Principal = caller()) -> dict:
    services = request.app.state.services
    limit = services.settings.max_upload_bytes
    form = await multipart_form(request, "file")
    name = str(form.get("name") or "").strip()
    if not name or len(name) > 128:
        raise bad_request("name: a voice name of 1-128 characters is required.", param="name")
    data, _ = await read_upload(form, "file", limit)
    return voice_json(await enrol(services, p.org_id, name, data))


@router.delete("/v1/voice/clones/{id}", **documented("/v1/voice/clones/{id}", "delete"))
async def delete_clone(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    """Another org's clone is a 403, as the contract says; an unknown id is a 404."""
    async with request.app.state.services.db.session() as s:
        row = await s.scalar(select(CustomVoice).where(CustomVoice.id == id, CustomVoice.kind == "clone"))
        if row is None:
            raise not_found("cloned voice", id)
        if row.org_id != p.org_id:
            raise ApiError(403, "forbidden", f"Voice {id} belongs to another organization.")
        await s.delete(row)
        await s.commit()
    return {"id": id, "object": "voice", "deleted": True}
