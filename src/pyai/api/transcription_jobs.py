"""``/v1/transcription/jobs``: async batch transcription (scope ``transcribe:jobs``)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from pyai.api.bodies import form_bool, json_body, multipart_form, read_upload, validated
from pyai.api.contract_docs import documented
from pyai.api.voices import base_url
from pyai.gateway.auth import caller
from pyai.gateway.errors import bad_request, not_found
from pyai.gateway.idempotency import request_hash
from pyai.gateway.principal import Principal
from pyai.hear.engine import stt_engine
from pyai.hear.jobs import KIND, JobOptions, create_job, job_view, list_query
from pyai.hear.language import language_problem, normalise_language
from pyai.jobs.webhooks import org_webhook_secret
from pyai.store.models import Job
from pyai.store.pagination import page
from pyai.store.tenancy import get_owned

router = APIRouter()
IDEMPOTENCY_SCOPE = "transcription.jobs"


class JobRequest(JobOptions):
    """The JSON form: options plus the URL source."""

    audio_url: str | None = Field(default=None, max_length=2048)
    audio: str | None = None  # only to name the mistake of sending audio inside JSON


async def _parse(request: Request) -> tuple[JobOptions, str | None, bytes | None, str]:
    """Options, the one audio source, and a hash of the request for idempotency."""
    settings = request.app.state.services.settings
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        form = await multipart_form(request, "audio")
        if form.get("audio_url"):
            raise bad_request(
                "audio_url: give exactly one source (audio_url or an audio upload), not both.", param="audio_url"
            )
        channel = str(form.get("channel") or "false").lower()
        if channel not in ("true", "false", "stereo"):
            raise bad_request("channel: expected true, false or stereo.", param="channel")
        options = validated(
            JobOptions,
            {
                "model": str(form.get("model") or "pyai-hear-telephony"),
                "channel": channel in ("true", "stereo"),
                "diarize": form_bool(form, "diarize"),
                "numerals": form_bool(form, "numerals"),
                "output_formats": [
                    f.strip() for f in str(form.get("output_formats") or "json").split(",") if f.strip()
                ],
                "webhook_url": str(form["webhook_url"]) if form.get("webhook_url") else None,
                "language": normalise_language(form.get("language")),
                "keyterms": [t for field in form.getlist("keyterms") for t in str(field).split(",") if t.strip()],
            },
        )
        data, _ = await read_upload(form, "audio", settings.max_upload_bytes)
        digest = request_hash({"options": options.model_dump(), "audio": hashlib.sha256(data).hexdigest()})
        return options, None, data, digest
    body = await json_body(request, JobRequest)
    if body.audio is not None:
        raise bad_request("audio: upload audio as multipart/form-data, or give audio_url in JSON.", param="audio")
    if not body.audio_url:
        raise bad_request(
            "audio_url: exactly one source is required: audio_url (JSON) or an audio upload (multipart).",
            param="audio_url",
        )
    allowed = ("https://", "http://") if settings.test_mode else ("https://",)
    if not body.audio_url.startswith(allowed):
        raise bad_request("audio_url: must be an https URL.", param="audio_url")
    fields = body.model_dump(exclude={"audio_url", "audio"})
    options = validated(JobOptions, {**fields, "language": normalise_language(fields["language"])})
    return options, body.audio_url, None, request_hash(body.model_dump())


@router.post("/v1/transcription/jobs", **documented("/v1/transcription/jobs", "post"))
async def create(request: Request, p: Principal = caller()) -> JSONResponse:
    services = request.app.state.services
    idem_key = services.idempotency.validate(request.headers.get("idempotency-key"))
    options, audio_url, upload, digest = await _parse(request)
    options.validate(services.settings.test_mode)
    if problem := language_problem(stt_engine(services), options.language):
        raise bad_request(problem, param="language")
    if idem_key and (replay := await services.idempotency.lookup(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest)):
        return JSONResponse(replay[1], status_code=replay[0], headers={"Idempotent-Replayed": "true"})
    job = await create_job(services, p, options, audio_url=audio_url, upload=upload, base_url=base_url(request))
    view = job_view(job)
    if idem_key and not await services.idempotency.store(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest, 202, view):
        # a concurrent request with the same key won: cancel ours, answer with theirs
        await services.jobs.cancel(job.id, p.org_id)
        replay = await services.idempotency.lookup(p.org_id, IDEMPOTENCY_SCOPE, idem_key, digest)
        return JSONResponse(replay[1], status_code=replay[0], headers={"Idempotent-Replayed": "true"})
    return JSONResponse(view, status_code=202)


@router.get("/v1/transcription/jobs", **documented("/v1/transcription/jobs", "get"))
async def list_jobs(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = None,
    p: Principal = caller(),
) -> dict:
    async with request.app.state.services.db.session() as s:
        rows = list((await s.scalars(list_query(p.org_id, cursor, limit))).all())
    return page(rows, limit, job_view)


async def _owned_job(services, job_id: str, org_id: str) -> Job:  # noqa: ANN001
    async with services.db.session() as s:
        job = await get_owned(s, Job, job_id, org_id, "transcription job")
    if job.kind != KIND:
        raise not_found("transcription job", job_id)
    return job


@router.get("/v1/transcription/jobs/{id}", **documented("/v1/transcription/jobs/{id}", "get"))
async def get_job(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    return job_view(await _owned_job(request.app.state.services, id, p.org_id))


@router.delete("/v1/transcription/jobs/{id}", **documented("/v1/transcription/jobs/{id}", "delete"))
async def cancel_job(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    await _owned_job(services, id, p.org_id)
    return job_view(await services.jobs.cancel(id, p.org_id))


@router.get(
    "/v1/webhooks/secret",
    tags=["Transcription Jobs"],
    summary="Webhook signing secret (extension)",
    description="The secret your receiver uses to verify `X-PyAI-Signature` (see docs/webhooks.md).",
)
async def webhook_secret(request: Request, p: Principal = caller()) -> dict:
    return {
        "object": "webhook.secret",
        "org_id": p.org_id,
        "secret": org_webhook_secret(request.app.state.services.settings.secret, p.org_id),
    }
