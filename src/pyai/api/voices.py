"""``/v1/voices``: the merged voice library (stock + the org's designed voices), avatars, previews."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pyai.gateway.auth import caller
from pyai.gateway.errors import ProblemError, bad_request, not_found
from pyai.gateway.principal import Principal
from pyai.speak.assets import avatar_png, preview_mp3
from pyai.speak.catalog import get_stock, list_stock
from pyai.speak.library import designed_entry, stock_entry
from pyai.store.tenancy import owned
from pyai.store.voice_models import CustomVoice

router = APIRouter(tags=["Speak"])


def base_url(request: Request) -> str:
    return request.app.state.services.settings.public_base_url or str(request.base_url).rstrip("/")


def designed_preview(services, row: CustomVoice, base: str) -> str | None:  # noqa: ANN001
    key = (row.meta or {}).get("preview_key")
    return base + services.blobs.signed_path(key) if key else None


@router.get("/v1/voices", operation_id="listVoices", summary="List voices")
async def list_voices(
    request: Request,
    gender: str | None = Query(None, description="M or F (case-insensitive)"),
    region: str | None = Query(None, description="case-insensitive substring of the region/accent"),
    source: str | None = Query(None, description="stock or design"),
    p: Principal = caller(),
) -> dict:
    if gender is not None and gender.upper() not in ("M", "F"):
        raise bad_request("gender: must be M or F.", param="gender")
    if source not in (None, "stock", "design"):
        raise bad_request("source: must be stock or design.", param="source")
    services = request.app.state.services
    base = base_url(request)
    data: list[dict] = []
    if source in (None, "stock"):
        data += [stock_entry(v, base) for v in list_stock(gender=gender, region=region)]
    if source in (None, "design"):
        async with services.db.session() as s:
            rows = (
                await s.scalars(
                    owned(CustomVoice, p.org_id)
                    .where(CustomVoice.kind == "design")
                    .order_by(CustomVoice.created_at.desc())
                )
            ).all()
        for row in rows:
            entry = designed_entry(row, designed_preview(services, row, base))
            if gender and entry.get("gender", "").upper() != gender.upper():
                continue
            if region and region.lower() not in entry.get("region", "").lower():
                continue
            data.append(entry)
    return {"object": "list", "data": data}


async def _owned_design(services, voice_id: str, org_id: str) -> CustomVoice | None:  # noqa: ANN001
    async with services.db.session() as s:
        return await s.scalar(
            owned(CustomVoice, org_id).where(CustomVoice.id == voice_id, CustomVoice.kind == "design")
        )


@router.get("/v1/voices/{id}", operation_id="getVoice", summary="Get a stock voice")
async def get_voice(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    if (voice := get_stock(id)) is not None:
        return stock_entry(voice, base_url(request))
    if (row := await _owned_design(services, id, p.org_id)) is not None:
        return designed_entry(row, designed_preview(services, row, base_url(request)))
    raise not_found("voice", id)


@router.delete("/v1/voices/{id}", operation_id="deleteVoice", summary="Delete a designed voice")
async def delete_voice(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    if get_stock(id) is not None:
        raise ProblemError(
            400, "stock_voice_immutable", f"id: {id} is a stock voice and cannot be deleted.", param="id"
        )
    row = await _owned_design(services, id, p.org_id)
    if row is None:
        raise not_found("designed voice", id)
    async with services.db.session() as s:
        await s.delete(await s.get(CustomVoice, row.id))
        await s.commit()
    if key := (row.meta or {}).get("preview_key"):
        services.blobs.delete(key)
    return {"id": id, "object": "voice", "deleted": True}


async def _stock_asset(request: Request, voice_id: str, render, media_type: str) -> Response:  # noqa: ANN001
    """A public, cacheable asset of a stock voice (what <img> and <audio> tags fetch, no key)."""
    voice = get_stock(voice_id)
    if voice is None:
        raise not_found("stock voice", voice_id)
    data = await render(request.app.state.services, voice)
    return Response(data, media_type=media_type, headers={"cache-control": "public, max-age=86400"})


@router.get("/v1/voices/{id}/avatar.png", summary="Stock voice avatar (public)", tags=["Speak"])
async def voice_avatar(request: Request, id: str) -> Response:  # noqa: A002
    return await _stock_asset(request, id, avatar_png, "image/png")


@router.get("/v1/voices/{id}/preview.mp3", summary="Stock voice preview (public)", tags=["Speak"])
async def voice_preview(request: Request, id: str) -> Response:  # noqa: A002
    return await _stock_asset(request, id, preview_mp3, "audio/mpeg")
