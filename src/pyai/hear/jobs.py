"""Async transcription jobs: durable rows, processed by workers, with formats and webhooks.

An uploaded file is kept in the blob store only until its job has run (so a restart loses
nothing); an ``audio_url`` is fetched inside the job and never stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import numpy as np
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.audio.decode import AudioDecodeError, decode_audio
from pyai.closed_model import ClosedModel
from pyai.engines.stt.base import Transcript
from pyai.gateway.errors import ApiError, bad_request
from pyai.gateway.principal import Principal
from pyai.hear.batch import STT_RATE, with_numerals
from pyai.hear.diarize import speaker_labels
from pyai.hear.engine import in_stt_thread, stt_engine
from pyai.hear.keyterms import MAX_KEYTERMS, Keyterm, keyterm_prompt
from pyai.hear.subtitles import to_srt, to_vtt
from pyai.jobs.webhooks import enqueue_webhook
from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.net.ssrf import UnsafeUrlError, fetch_limited
from pyai.store.ids import new_id
from pyai.store.models import Job
from pyai.store.pagination import newest_first
from pyai.store.tenancy import owned
from pyai.trace.scoring import scan_transcript_after_job

KIND = "transcription"
OUTPUT_FORMATS = ("json", "srt", "vtt")
INLINE_RESULT_LIMIT = 256 * 1024
FETCH_TIMEOUT_S = 60
LINK_TTL_S = 7 * 24 * 3600
#: A job's billing hold outlives its processing by this much (plus the audio's length) if its worker dies.
HOLD_TTL_S = 600.0


class JobOptions(ClosedModel):
    """How to process a job: the fields shared by the JSON and multipart forms of the request."""

    model: str = "pyai-hear-telephony"
    channel: bool = False
    diarize: bool = False
    numerals: bool = False
    output_formats: list[str] = Field(default_factory=lambda: ["json"], max_length=len(OUTPUT_FORMATS))
    webhook_url: str | None = Field(default=None, max_length=2048)
    language: str | None = Field(default=None, max_length=16)  # extension: ISO-639-1, as batch's
    keyterms: list[Keyterm] = Field(default_factory=list, max_length=MAX_KEYTERMS)  # extension: biases the decoder

    def validate(self, test_mode: bool) -> None:
        bad = [f for f in self.output_formats if f not in OUTPUT_FORMATS]
        if bad or not self.output_formats:
            raise bad_request(f"output_formats: unknown format(s) {bad}; use json, srt, vtt.", param="output_formats")
        if self.webhook_url is not None:
            allowed = ("https://", "http://") if test_mode else ("https://",)
            if not self.webhook_url.startswith(allowed):
                raise bad_request("webhook_url: must be an https URL.", param="webhook_url")
        if self.model not in ("pyai-hear", "pyai-hear-telephony"):
            raise bad_request(f"model: unknown model {self.model!r}.", param="model")


def upload_key(job_id: str) -> str:
    return f"jobs/{job_id}/input.bin"


async def create_job(
    services,
    p: Principal,
    options: JobOptions,
    *,
    audio_url: str | None,  # noqa: ANN001
    upload: bytes | None,
    base_url: str,
) -> Job:
    payload = {
        "options": options.model_dump(),
        "audio_url": audio_url,
        "principal": {**dataclasses.asdict(p), "scopes": list(p.scopes)},
        "base_url": base_url,
    }
    job_id = new_id("job")
    if upload is not None:
        services.blobs.put(upload_key(job_id), upload)
    return await services.jobs.enqueue(KIND, p.org_id, payload, job_id=job_id)


def job_view(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": job.id,
        "object": "transcription.job",
        "status": job.status,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "model": job.payload.get("options", {}).get("model"),
    }
    if job.status == "completed" and job.result:
        body.update(job.result)
    if job.status == "failed" and job.error:
        body["error"] = job.error
    return body


# ---- listing ----------------------------------------------------------------------------------
def list_query(org_id: str, cursor: str | None, limit: int):  # noqa: ANN201 - Select
    return newest_first(owned(Job, org_id).where(Job.kind == KIND), Job, cursor, limit)


# ---- processing -------------------------------------------------------------------------------
def _label(t: Transcript, channel: int | None, speaker: str | None) -> tuple[list[dict], list[dict]]:
    extra = {k: v for k, v in (("channel", channel), ("speaker", speaker)) if v is not None}
    segs = [{"id": 0, "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text, **extra} for s in t.segments]
    words = [
        {
            "word": w.word,
            "start": round(w.start, 3),
            "end": round(w.end, 3),
            "confidence": round(w.confidence, 3),
            **extra,
        }
        for w in t.words
    ]
    return segs, words


def _transcribe(stt, pcm: np.ndarray, options: dict) -> tuple[list[dict], list[dict], int]:  # noqa: ANN001
    """Segments, words and speaker count, per channel (exact) or diarised (mono)."""
    segments: list[dict] = []
    words: list[dict] = []
    hints = {"language": options.get("language"), "prompt": keyterm_prompt(options.get("keyterms") or [])}
    if options["channel"] and pcm.shape[0] >= 2:
        for ch in range(pcm.shape[0]):
            t = stt.transcribe(pcm[ch], **hints)
            t = with_numerals(t) if options["numerals"] else t
            s, w = _label(t, ch, f"speaker_{ch}")
            segments += s
            words += w
        speakers = pcm.shape[0]
    else:
        mono = pcm.mean(axis=0)
        t = stt.transcribe(mono, **hints)
        t = with_numerals(t) if options["numerals"] else t
        segments, words = _label(t, None, None)
        speakers = 1 if segments else 0
        if options["diarize"] and segments:
            labels = speaker_labels(mono, STT_RATE, segments)
            for seg, label in zip(segments, labels, strict=True):
                seg["speaker"] = label
            for w in words:
                w["speaker"] = next(
                    (s["speaker"] for s in segments if s["start"] <= w["start"] <= s["end"] + 0.01), labels[-1]
                )
            speakers = len(set(labels))
    segments.sort(key=lambda s: (s["start"], s.get("channel", 0)))
    words.sort(key=lambda w: (w["start"], w.get("channel", 0)))
    for i, seg in enumerate(segments):
        seg["id"] = i
    return segments, words, speakers


async def _load_audio(ctx: JobContext) -> bytes:
    services, job = ctx.services, ctx.job
    if url := job.payload.get("audio_url"):
        try:
            data, _ = await fetch_limited(
                url,
                max_bytes=services.settings.max_upload_bytes,
                timeout=FETCH_TIMEOUT_S,
                allow_loopback=services.settings.test_mode,
            )
        except UnsafeUrlError as e:
            raise PermanentJobError(f"audio_url: {e}") from None
        return data
    data = services.blobs.get(upload_key(job.id))
    if data is None:
        raise PermanentJobError("the uploaded audio is no longer available")
    return data


def _principal(job: Job) -> Principal:
    """Who submitted the job, as admitted then: the job is billed to that key."""
    snapshot = job.payload["principal"]
    return Principal(**{**snapshot, "scopes": tuple(snapshot["scopes"])})


async def _failed(ctx: JobContext, reason: str) -> None:
    """``on_failure``, however the job failed: drop the upload and tell the webhook."""
    services, job = ctx.services, ctx.job
    services.blobs.delete(upload_key(job.id))
    if url := job.payload["options"].get("webhook_url"):
        view = {**job_view(job), "status": "failed", "error": reason}
        await enqueue_webhook(services, job.org_id, url, "transcription.job.failed", view)


@handler(KIND, on_failure=_failed)
async def process(ctx: JobContext) -> dict:
    services, job = ctx.services, ctx.job
    options = job.payload["options"]
    data = await _load_audio(ctx)
    try:
        audio = await asyncio.to_thread(
            decode_audio, data, target_rate=STT_RATE, mono=False, max_seconds=services.settings.max_job_audio_seconds
        )
    except AudioDecodeError as e:
        raise PermanentJobError(e.message) from None
    try:  # hold the audio's length now; it is settled in the transaction that completes the job
        hold = await services.billing.reserve(
            _principal(job), "hear.batch.minutes", audio.duration, ttl=HOLD_TTL_S + audio.duration
        )
    except ApiError as e:
        raise PermanentJobError(f"{e.code}: {e.message}") from None
    ctx.on_abort.append(lambda: services.billing.release(hold))
    pcm = audio.samples if audio.samples.ndim == 2 else audio.samples.reshape(1, -1)
    segments, words, speakers = await in_stt_thread(services, _transcribe, stt_engine(services), pcm, options)
    if not await ctx.still_mine():
        raise PermanentJobError("cancelled")
    text = " ".join(s["text"] for s in segments)
    result: dict[str, Any] = {
        "text": text,
        "speakers": speakers,
        "audio_seconds": round(audio.duration, 3),
        "segments": segments,
        "words": words,
    }
    base = job.payload["base_url"]
    formats = {}
    for fmt, render in (("srt", to_srt), ("vtt", to_vtt)):
        if fmt in options["output_formats"]:
            key = f"jobs/{job.id}/transcript.{fmt}"
            services.blobs.put(key, render(segments).encode())
            formats[fmt] = base + services.blobs.signed_path(key, LINK_TTL_S)
    if formats:
        result["formats"] = formats
    encoded = json.dumps(result).encode()
    stored: dict[str, Any] = {"result": result}
    if len(encoded) > INLINE_RESULT_LIMIT:
        key = f"jobs/{job.id}/result.json"
        services.blobs.put(key, encoded)
        stored = {"result_url": base + services.blobs.signed_path(key, LINK_TTL_S)}
    billed = audio.duration if words else 0.0  # an empty call bills nothing

    async def bill(s: AsyncSession) -> None:
        await services.billing.settle(hold, billed, session=s, source=f"job:{job.id}")

    ctx.on_commit.append(bill)
    ctx.on_commit.append(lambda s: scan_transcript_after_job(services, s, job.org_id, job.id, segments))
    if url := options.get("webhook_url"):
        view = {**job_view(job), "status": "completed", **stored}
        ctx.on_commit.append(
            lambda s: enqueue_webhook(services, job.org_id, url, "transcription.job.completed", view, session=s)
        )
    ctx.after_commit.append(lambda: services.blobs.delete(upload_key(job.id)))
    return stored
