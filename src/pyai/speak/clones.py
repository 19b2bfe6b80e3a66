"""Voice cloning: enrol a reference recording, then build the clone's spec as a durable job.

The reference is checked for enough speech up front (a clear 400 beats a failed job), kept in
the blob store only until the job has analysed it, then deleted: what persists is the measured
profile and the synthesis spec, not the person's recording.
"""

from __future__ import annotations

import asyncio

import numpy as np
from sqlalchemy import update

from pyai.audio.decode import decode_audio
from pyai.engines.stt.base import SpeechToText
from pyai.engines.vad import speech_seconds
from pyai.engines.voice.analysis import analyse_voice
from pyai.engines.voice.clone import CloneError, build_clone_spec
from pyai.gateway.errors import bad_request
from pyai.hear.batch import decode_upload
from pyai.hear.engine import stt_engine
from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.store.ids import new_id
from pyai.store.voice_models import CustomVoice

MIN_SPEECH_SECONDS = 3.0
ANALYSIS_RATE = 16000


def reference_key(voice_id: str) -> str:
    return f"clones/{voice_id}/reference.bin"


async def enrol(services, org_id: str, name: str, data: bytes) -> CustomVoice:  # noqa: ANN001
    audio = await asyncio.to_thread(decode_upload, data, "file", services.settings.max_batch_audio_seconds)
    speech = await asyncio.to_thread(speech_seconds, audio.samples, ANALYSIS_RATE)
    if speech < MIN_SPEECH_SECONDS:
        raise bad_request(
            f"file: the reference has {speech:.1f} s of speech; at least {MIN_SPEECH_SECONDS:.0f} s "
            "is required (10 s or more recommended).",
            param="file",
            code="reference_too_short",
        )
    voice = CustomVoice(
        id=new_id("voice"),
        org_id=org_id,
        kind="clone",
        name=name,
        status="pending",
        meta={"reference_speech_seconds": round(speech, 2)},
    )
    services.blobs.put(reference_key(voice.id), data)
    async with services.db.session() as s:
        s.add(voice)
        await services.jobs.enqueue("voice.clone", org_id, {"voice_id": voice.id}, session=s)
        await s.commit()
    services.jobs.poke()
    return voice


def _build(data: bytes, stt: SpeechToText, max_seconds: float) -> tuple[dict, dict]:
    audio = decode_audio(data, target_rate=ANALYSIS_RATE, mono=True, max_seconds=max_seconds)
    samples = np.asarray(audio.samples, dtype=np.float32)
    spec = build_clone_spec(samples, ANALYSIS_RATE, transcript=stt.transcribe(samples).text)
    profile = analyse_voice(samples, ANALYSIS_RATE)
    return spec.to_dict(), profile.to_dict()


async def mark_failed(ctx: JobContext, reason: str) -> None:
    """``on_failure``: the clone says ``failed`` and why, and its reference recording is not kept."""
    voice_id = ctx.job.payload["voice_id"]
    async with ctx.services.db.session() as s:
        await s.execute(
            update(CustomVoice)
            .where(CustomVoice.id == voice_id, CustomVoice.status == "pending")
            .values(status="failed", error=reason)
        )
        await s.commit()
    ctx.services.blobs.delete(reference_key(voice_id))


@handler("voice.clone", on_failure=mark_failed)
async def process_clone(ctx: JobContext) -> dict:
    services = ctx.services
    voice_id = ctx.job.payload["voice_id"]
    data = services.blobs.get(reference_key(voice_id))
    async with services.db.session() as s:
        voice = await s.get(CustomVoice, voice_id)
        if voice is None or data is None:
            raise PermanentJobError(f"clone {voice_id} or its reference is gone")
        try:
            spec, profile = await asyncio.to_thread(
                _build, data, stt_engine(services), services.settings.max_batch_audio_seconds
            )
        except CloneError as e:
            raise PermanentJobError(str(e)) from None
        voice.status, voice.spec, voice.profile = "ready", spec, profile
        await s.commit()
    services.blobs.delete(reference_key(voice_id))
    return {"voice_id": voice_id, "status": "ready"}


def voice_json(v: CustomVoice) -> dict:
    body = {"id": v.id, "object": "voice", "name": v.name, "status": v.status, "created_at": v.created_at}
    if v.error:
        body["error"] = v.error
    return body
