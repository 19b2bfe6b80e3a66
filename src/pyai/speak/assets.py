"""Stock-voice avatars (PNG) and previews (MP3 of the voice reading its bio), made once and cached.

Both are cached in the blob store, so every replica serves the same bytes and a restart does not
re-synthesise 38 previews. A preview's key carries a hash of the voice's spec, so a voice that is
rebuilt (another engine, another pitch) is never heard through its old preview.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from pyai.engines.tts.base import NATIVE_RATE
from pyai.speak.avatars import render_avatar
from pyai.speak.script import parse_input
from pyai.speak.synthesis import SynthesisStats, encode_stream, script_pieces, tts_engine


async def avatar_png(services, voice) -> bytes:  # noqa: ANN001 - Services, StockVoice
    key = f"stock/avatars/{voice.voice_id}.png"
    if (cached := services.blobs.get(key)) is not None:
        return cached
    data = await asyncio.to_thread(render_avatar, voice)
    services.blobs.put(key, data)
    return data


PREVIEW_SEED = 0


async def preview_mp3(services, voice) -> bytes:  # noqa: ANN001 - Services, StockVoice
    spec = hashlib.sha256(json.dumps(voice.spec.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    key = f"stock/previews/{voice.voice_id}-{spec}.mp3"
    if (cached := services.blobs.get(key)) is not None:
        return cached
    data = await render_preview(services, voice.bio, voice.spec, "mp3")
    services.blobs.put(key, data)
    return data


async def render_preview(services, text: str, spec, fmt: str) -> bytes:  # noqa: ANN001 - VoiceSpec
    """The whole of ``text`` (plain text, normalised as speech requests are) spoken by ``spec`` at the
    native rate, encoded as ``fmt``. Seeded, so a voice's preview is the same on every server and
    after every cache loss (a neural voice's sampling noise would otherwise vary it)."""
    stats = SynthesisStats()
    chunks = script_pieces(tts_engine(services), parse_input(text), spec, 1.0, PREVIEW_SEED)
    parts = [chunk async for chunk in encode_stream(chunks, fmt=fmt, sample_rate=NATIVE_RATE, stats=stats)]
    return b"".join(parts)
