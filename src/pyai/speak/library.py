"""The caller's voice library: stock voices + the org's clones and designed voices.

Resolves the ``voice`` of a speech request to a synthesis spec, and renders library entries
in the contract's ``StockVoice`` shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.engines.tts.base import VoiceSpec
from pyai.gateway.errors import ProblemError, bad_request
from pyai.speak.catalog import DEFAULT_VOICE_ID, OPENAI_PRESETS, SCOTLAND, US, get_stock
from pyai.store.models import Org
from pyai.store.voice_models import CustomVoice


@dataclass(frozen=True)
class ResolvedVoice:
    voice_id: str
    spec: VoiceSpec


async def resolve_voice(services, org_id: str, voice: str | None) -> ResolvedVoice:  # noqa: ANN001
    """Stock id, OpenAI preset, the org's ready clone/design, or the org default; else 400.

    An omitted ``voice`` uses the org's default voice while it still resolves (a deleted or
    re-queued custom voice must not break every request that relies on the default), and the
    stock default otherwise.
    """
    async with services.db.session() as s:
        if voice is not None:
            return await lookup_voice(s, org_id, voice)
        org = await s.get(Org, org_id)
        if org is not None and org.default_voice:
            try:
                return await lookup_voice(s, org_id, org.default_voice)
            except ProblemError:
                pass
        return await lookup_voice(s, org_id, DEFAULT_VOICE_ID)


async def lookup_voice(s: AsyncSession, org_id: str, voice: str) -> ResolvedVoice:
    """Resolve one voice id or preset name within ``org_id``; a 400 Problem names what is wrong."""
    voice_id = OPENAI_PRESETS.get(voice, voice)
    if (stock := get_stock(voice_id)) is not None:
        return ResolvedVoice(voice_id, stock.spec)
    row = await s.scalar(select(CustomVoice).where(CustomVoice.id == voice_id, CustomVoice.org_id == org_id))
    if row is None:
        raise bad_request(
            f"voice: unknown voice {voice!r}; list voices with GET /v1/voices (clones: GET /v1/voice/clones).",
            param="voice",
            code="unknown_voice",
        )
    if row.status != "ready" or not row.spec:
        raise bad_request(
            f"voice: voice {voice!r} is not ready (status {row.status}).", param="voice", code="voice_not_ready"
        )
    return ResolvedVoice(row.id, VoiceSpec.from_dict(row.spec))


async def set_default_voice(s: AsyncSession, org_id: str, voice: str) -> ResolvedVoice:
    """Make ``voice`` the org's default; LookupError for an unknown org, a 400 Problem for a bad voice."""
    org = await s.get(Org, org_id)
    if org is None:
        raise LookupError(f"no org {org_id}")
    resolved = await lookup_voice(s, org_id, voice)
    org.default_voice = resolved.voice_id
    await s.flush()
    return resolved


def stock_entry(voice: Any, base_url: str) -> dict[str, Any]:
    """A stock voice in the contract's ``StockVoice`` shape, with absolute asset URLs."""
    return {
        "object": "voice",
        "voice_id": voice.voice_id,
        "name": voice.name,
        "gender": voice.gender,
        "region": voice.region,
        "age": voice.age,
        "tone": voice.tone,
        "bio": voice.bio,
        "language": voice.language,
        "engine": voice.spec.engine,
        "avatar_url": f"{base_url}/v1/voices/{voice.voice_id}/avatar.png",
        "preview_url": f"{base_url}/v1/voices/{voice.voice_id}/preview.mp3",
        "source": "stock",
    }


def designed_entry(row: CustomVoice, preview_url: str | None) -> dict[str, Any]:
    attrs = (row.meta or {}).get("attributes", {})
    entry: dict[str, Any] = {
        "object": "voice",
        "voice_id": row.id,
        "name": row.name,
        "language": "en",
        "source": "design",
        "created_at": row.created_at,
        "metadata": (row.meta or {}).get("metadata", {}),
    }
    if attrs.get("gender") in ("M", "F"):
        entry["gender"] = attrs["gender"]
    if region := {"scotland": SCOTLAND, "us": US}.get(attrs.get("accent") or ""):
        entry["region"] = region
    if attrs.get("age"):
        entry["age"] = str(attrs["age"])
    if preview_url:
        entry["preview_url"] = preview_url
    return entry
