"""Stock-voice avatars (PNG) and previews (MP3 of the voice reading its bio), made once and cached.

Both are cached in the blob store, so every replica serves the same bytes and a restart does not
re-synthesise 38 previews.
"""

from __future__ import annotations

import asyncio

from pyai.engines.tts.base import NATIVE_RATE
from pyai.speak.avatars import render_avatar
from pyai.speak.synthesis import SynthesisStats, encode_stream, tts_engine


async def avatar_png(services, voice) -> bytes:  # noqa: ANN001 - Services, StockVoice
    key = f"stock/avatars/{voice.voice_id}.png"
    if (cached := services.blobs.get(key)) is not None:
        return cached
    data = await asyncio.to_thread(render_avatar, voice)
    services.blobs.put(key, data)
    return data


async def preview_mp3(services, voice) -> bytes:  # noqa: ANN001 - Services, StockVoice
    key = f"stock/previews/{voice.voice_id}.mp3"
    if (cached := services.blobs.get(key)) is not None:
        return cached
    data = await render_preview(services, voice.bio, voice.spec, "mp3")
    services.blobs.put(key, data)
    return data


async def render_preview(services, text: str, spec, fmt: str) -> bytes:  # noqa: ANN001 - VoiceSpec
    """The whole of ``text`` spoken by ``spec`` at the native rate, encoded as ``fmt``."""
    stats = SynthesisStats()
    chunks = tts_engine(services).synthesize(text, spec)
    parts = [chunk async for chunk in encode_stream(chunks, fmt=fmt, sample_rate=NATIVE_RATE, stats=stats)]
    return b"".join(parts)
