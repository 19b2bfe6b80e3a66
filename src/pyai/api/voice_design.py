"""``/v1/voice/design``: design voices from a prompt, poll candidates, save one (``voice:design``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.api.voices import base_url
from pyai.closed_model import ClosedModel
from pyai.gateway.auth import caller
from pyai.gateway.errors import not_found
from pyai.gateway.principal import Principal
from pyai.speak.designs import SECONDS_PER_CANDIDATE, create_design, design_json, preview_key
from pyai.speak.parts import ScriptError
from pyai.speak.script import parse_input
from pyai.store.ids import new_id
from pyai.store.tenancy import get_owned
from pyai.store.voice_models import CustomVoice, VoiceDesign

router = APIRouter()


class DesignAttributesIn(ClosedModel):
    gender: str | None = Field(default=None, max_length=16)
    age: str | None = Field(default=None, max_length=16)
    accent: str | None = Field(default=None, max_length=64)
    pace: float | None = Field(default=None, ge=0.25, le=4.0)
    energy: float | None = Field(default=None, ge=0.0, le=2.0)


class DesignRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=1000)
    candidates: int = Field(default=3, ge=1, le=4)
    sample_text: str | None = Field(default=None, min_length=1, max_length=500)
    attributes: DesignAttributesIn = Field(default_factory=DesignAttributesIn)

    @field_validator("sample_text")
    @classmethod
    def _speakable(cls, v: str | None) -> str | None:
        """A line with nothing to say (or bad SSML) renders no audio and could never pass the gate:
        refuse it now, as a speech request would be."""
        if v is not None:
            try:
                parse_input(v)
            except ScriptError as e:
                raise PydanticCustomError("unspeakable", str(e)) from None
        return v


class SaveRequest(BaseModel):
    candidate_id: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=128)
    metadata: dict[str, Any] = Field(default_factory=dict)


@router.post("/v1/voice/design", **documented("/v1/voice/design", "post"))
async def create(request: Request, p: Principal = caller()) -> JSONResponse:
    body = await json_body(request, DesignRequest)
    design = await create_design(
        request.app.state.services,
        p.org_id,
        body.prompt,
        body.attributes.model_dump(exclude_none=True),
        body.candidates,
        body.sample_text,
    )
    return JSONResponse(
        status_code=202,
        content={
            "design_id": design.id,
            "status": "queued",
            "candidates": body.candidates,
            "estimated_seconds": SECONDS_PER_CANDIDATE * body.candidates,
        },
    )


@router.get("/v1/voice/design/{id}", **documented("/v1/voice/design/{id}", "get"))
async def get(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    async with services.db.session() as s:
        design = await get_owned(s, VoiceDesign, id, p.org_id, "design")
    return design_json(services, design, base_url(request))


@router.post("/v1/voice/design/{id}/save", status_code=201, **documented("/v1/voice/design/{id}/save", "post"))
async def save(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    body = await json_body(request, SaveRequest)
    async with services.db.session() as s:
        design = await get_owned(s, VoiceDesign, id, p.org_id, "design")
        candidate = next((c for c in design.candidates or [] if c["candidate_id"] == body.candidate_id), None)
        if candidate is None:
            raise not_found(f"candidate in design {id} (status {design.status}) named", body.candidate_id)
        voice = CustomVoice(
            id=new_id("vd", 8), org_id=p.org_id, kind="design", name=body.name, status="ready", spec=candidate["spec"]
        )
        key = f"voices/{voice.id}/preview.mp3"
        if (mp3 := services.blobs.get(preview_key(id, body.candidate_id))) is not None:
            services.blobs.put(key, mp3)
        voice.meta = {
            "attributes": design.attributes,
            "metadata": body.metadata,
            "design_id": id,
            "candidate_id": body.candidate_id,
            "preview_key": key if mp3 else None,
        }
        s.add(voice)
        await s.commit()
    return {"voice_id": voice.id, "object": "voice", "name": voice.name, "source": "design"}
