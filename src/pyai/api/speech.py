"""``POST /v1/audio/speech``: OpenAI-compatible text-to-speech, streamed as it is synthesised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.audio.encode import CONTENT_TYPES
from pyai.engines.tts.base import NATIVE_RATE
from pyai.gateway.auth import caller
from pyai.gateway.errors import bad_request
from pyai.gateway.pricing import format_units
from pyai.gateway.principal import Principal
from pyai.speak.library import resolve_voice
from pyai.speak.parts import ScriptError
from pyai.speak.script import parse_input
from pyai.speak.synthesis import (
    G711_FORMATS,
    MAX_SPEED,
    MIN_SPEED,
    SynthesisStats,
    encode_stream,
    estimate_seconds,
    lone_sentence,
    pace,
    script_pieces,
    tts_engine,
)

router = APIRouter()

MAX_INPUT_CHARS = 4096
Format = Literal["wav", "mp3", "opus", "aac", "flac", "pcm", "g711_ulaw", "g711_alaw"]


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str = Field(min_length=1, max_length=MAX_INPUT_CHARS)
    model: Literal["pyai-voice", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"] = "pyai-voice"
    voice: str | None = Field(default=None, max_length=80)
    response_format: Format = "mp3"
    sample_rate: int | None = Field(default=None, ge=8000, le=48000)
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED)
    seed: int | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    instructions: str | None = None

    @field_validator("input")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("input must contain text to speak")
        return v

    @model_validator(mode="after")
    def _g711_is_8k(self) -> SpeechRequest:
        if self.response_format in G711_FORMATS and self.sample_rate not in (None, 8000):
            raise ValueError(f"sample_rate must be 8000 (or omitted) for {self.response_format}")
        return self

    @property
    def output_rate(self) -> int:
        if self.response_format in G711_FORMATS:
            return 8000
        return self.sample_rate or NATIVE_RATE


@router.post("/v1/audio/speech", **documented("/v1/audio/speech", "post"))
async def create_speech(request: Request, p: Principal = caller()) -> StreamingResponse:
    """The body always streams. ``input`` is plain text or SSML (``speak/script.py``), normalised
    for speech. A lone sentence also carries its exact ``x-pyai-units``: flite fixes its length
    before the vocoder runs, so the header can leave ahead of the audio.

    Anything longer (or an engine that learns the length only by speaking) is unknown when headers
    leave, so it carries no units header; its usage is still metered exactly when the stream ends.
    The call holds its units before any audio leaves (exact for one sentence, an upper bound
    otherwise), so concurrent calls cannot overspend a cap.
    """
    services = request.app.state.services
    billing = services.billing
    body = await json_body(request, SpeechRequest)
    try:
        script = parse_input(body.input)
    except ScriptError as e:
        raise bad_request(f"input: {e}", param="input") from None
    voice = await resolve_voice(services, p.org_id, body.voice)
    tts = tts_engine(services)
    headers = {"x-pyai-voice": voice.voice_id}
    rendering = None
    if (line := lone_sentence(script)) is not None:
        speed = pace(body.speed, line.rate)
        rendering = await asyncio.to_thread(tts.render, line.text, voice.spec, speed, body.seed)
    planned = rendering.seconds if rendering is not None else None
    if planned is not None:  # its exact length is known before any audio is made: hold exactly that
        hold = await billing.reserve(p, "speak.minutes", planned)
        headers["x-pyai-units"] = format_units(planned)
    else:  # hold an upper bound; the stream settles to what was made
        hold = await billing.reserve(p, "speak.minutes", estimate_seconds(script, voice.spec, body.speed))
    if rendering is not None:
        chunks = rendering.pieces()
    else:
        chunks = script_pieces(tts, script, voice.spec, body.speed, body.seed)
    stats = SynthesisStats()
    try:  # the encoder opens here, so a codec that cannot is an error before any 200, and unbilled
        stream = encode_stream(chunks, fmt=body.response_format, sample_rate=body.output_rate, stats=stats)
    except BaseException:
        await billing.release(hold)
        raise
    headers["x-pyai-sample-rate"] = str(stats.rate)

    async def metered() -> AsyncIterator[bytes]:
        outcome = "disconnected"
        try:
            async for chunk in stream:
                yield chunk
            outcome = "finished"
        except Exception:
            outcome = "failed"
            raise
        finally:
            if outcome == "failed":  # a broken response bills nothing
                await billing.release(hold)
            else:  # a finished single sentence bills what its header said; anything else what was made
                seconds = planned if outcome == "finished" and planned is not None else stats.seconds
                await billing.settle(hold, seconds)

    return StreamingResponse(metered(), media_type=CONTENT_TYPES[body.response_format], headers=headers)
