"""Voice design: a prompt becomes several candidate voices, each gated on measured intelligibility.

Each candidate speaks the sample line; the STT engine transcribes that preview and
``quality.intelligibility = 1 − WER``. Candidates under the gate are dropped, so a saved design
is always a voice the recogniser (and so, very likely, a listener) understands.
"""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import func, select, update

from pyai.audio.decode import AudioDecodeError, decode_audio
from pyai.engines.tts.base import VoiceSpec
from pyai.engines.tts.sentences import UNSPEAKABLE, speakable
from pyai.engines.voice.design import design_candidates, parse_prompt
from pyai.gateway.errors import ApiError
from pyai.hear.engine import in_stt_thread, stt_engine
from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.speak.assets import render_preview
from pyai.store.ids import new_id
from pyai.store.locks import lock_for_transaction
from pyai.store.models import Job
from pyai.store.voice_models import VoiceDesign
from pyai.text.wer import wer

DEFAULT_SAMPLE_TEXT = "Hello, thanks for calling. How can I help you today?"
INTELLIGIBILITY_GATE = 0.6
SECONDS_PER_CANDIDATE = 3
RETRY_AFTER_SECONDS = SECONDS_PER_CANDIDATE * 4
KIND = "voice.design"


async def create_design(
    services,
    org_id: str,
    prompt: str,
    attributes: dict,
    candidates: int,  # noqa: ANN001
    sample_text: str | None,
) -> VoiceDesign:
    """Enqueue the design job, or refuse (429) when the org's or the whole server's queue is full.

    The rows are written first and the queue counted with them in it, under a lock held until the
    commit (:func:`lock_for_transaction`), so a burst on any number of replicas never overshoots
    either limit: each request sees every one accepted before it.
    """
    attrs = parse_prompt(prompt, attributes)
    settings = services.settings
    async with services.db.session() as s:
        await lock_for_transaction(s, "voice.design.queue")
        design = VoiceDesign(
            id=new_id("dsn"),
            org_id=org_id,
            prompt=prompt,
            attributes=dataclasses.asdict(attrs),
            sample_text=sample_text,
            requested=candidates,
            status="queued",
        )
        s.add(design)
        await services.jobs.enqueue(KIND, org_id, {"design_id": design.id}, session=s)
        await s.flush()
        org_waiting, all_waiting = (
            await s.execute(
                select(func.count().filter(Job.org_id == org_id), func.count()).where(
                    Job.kind == KIND, Job.status.in_(("queued", "running"))
                )
            )
        ).one()
        if org_waiting > settings.design_queue_limit:
            raise _queue_full(
                f"Your organisation already has {org_waiting - 1} voice designs queued or running, its limit; "
                "retry when one finishes."
            )
        if all_waiting > settings.design_queue_global_limit:
            raise _queue_full(
                f"The server's voice-design queue is full ({all_waiting - 1} designs queued or running across "
                "all organisations); retry later."
            )
        await s.commit()  # a refusal above rolls back instead, releasing the lock
    services.jobs.poke()
    return design


def _queue_full(message: str) -> ApiError:
    return ApiError(429, "rate_limit_exceeded", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def preview_key(design_id: str, candidate_id: str) -> str:
    return f"designs/{design_id}/{candidate_id}.mp3"


async def _score(services, spec: VoiceSpec, text: str) -> tuple[bytes, float, float]:  # noqa: ANN001
    """Render the preview, transcribe it, and return (mp3, intelligibility, duration seconds)."""
    mp3 = await render_preview(services, text, spec, "mp3")
    try:
        audio = await asyncio.to_thread(
            decode_audio, mp3, target_rate=16000, mono=True, max_seconds=services.settings.max_batch_audio_seconds
        )
    except AudioDecodeError as e:  # e.g. no audio at all: the same text fails the same way every time
        raise PermanentJobError(f"the preview of the sample text has no usable audio ({e.message})") from None
    heard = await in_stt_thread(services, stt_engine(services).transcribe, audio.samples)
    return mp3, max(0.0, 1.0 - wer(text, heard.text)), audio.duration


async def mark_failed(ctx: JobContext, reason: str) -> None:
    """``on_failure``: a design whose job failed for good says so, and why, instead of ``running``."""
    async with ctx.services.db.session() as s:
        await s.execute(
            update(VoiceDesign)
            .where(VoiceDesign.id == ctx.job.payload["design_id"], VoiceDesign.status.in_(("queued", "running")))
            .values(status="failed", error=reason)
        )
        await s.commit()


@handler(KIND, on_failure=mark_failed)
async def process_design(ctx: JobContext) -> dict:
    services = ctx.services
    design_id = ctx.job.payload["design_id"]
    async with services.db.session() as s:
        design = await s.get(VoiceDesign, design_id)
        if design is None:
            raise PermanentJobError(f"design {design_id} is gone")
        design.status = "running"
        await s.commit()
    attrs = parse_prompt(design.prompt, design.attributes)
    text = design.sample_text or DEFAULT_SAMPLE_TEXT
    if not speakable(text):  # refused up front since the API checks it; rows from before then
        raise PermanentJobError(f"sample_text: {UNSPEAKABLE}")
    seed = int.from_bytes(design_id.encode()[-4:], "big")
    kept = []
    for i, spec in enumerate(design_candidates(attrs, design.requested, seed), 1):
        if not await ctx.still_mine():
            raise PermanentJobError("cancelled")
        mp3, intelligibility, duration = await _score(services, spec, text)
        if intelligibility < INTELLIGIBILITY_GATE:
            continue
        cid = f"c{i}"
        services.blobs.put(preview_key(design_id, cid), mp3)
        kept.append(
            {
                "candidate_id": cid,
                "spec": spec.to_dict(),
                "quality": {"intelligibility": round(intelligibility, 3)},
                "duration_s": round(duration, 2),
            }
        )
    async with services.db.session() as s:
        design = await s.get(VoiceDesign, design_id)
        design.candidates = kept
        design.status = "completed" if kept else "failed"
        design.error = None if kept else "no candidate passed the intelligibility gate"
        await s.commit()
    return {"design_id": design_id, "candidates": len(kept)}


def design_json(services, design: VoiceDesign, base_url: str) -> dict:  # noqa: ANN001
    body = {
        "design_id": design.id,
        "object": "voice.design",
        "status": design.status,
        "prompt": design.prompt,
        "attributes": design.attributes,
        "created_at": design.created_at,
        "candidates": [],
    }
    for c in design.candidates or []:
        body["candidates"].append(
            {
                "candidate_id": c["candidate_id"],
                "preview_url": base_url
                + services.blobs.signed_path(preview_key(design.id, c["candidate_id"]), 24 * 3600),
                "quality": c["quality"],
                "duration_s": c["duration_s"],
            }
        )
    if design.error:
        body["error"] = design.error
    return body
