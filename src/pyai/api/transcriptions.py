"""``POST /v1/audio/transcriptions``: Whisper/OpenAI-compatible batch transcription."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from pyai.api.bodies import form_bool, form_number, multipart_form, read_upload
from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.errors import bad_request
from pyai.gateway.pricing import format_units
from pyai.gateway.principal import Principal
from pyai.hear.batch import decode_upload, transcribe_audio
from pyai.hear.engine import stt_engine
from pyai.hear.formats import verbose_json
from pyai.hear.language import language_problem, normalise_language

router = APIRouter()

MODELS = ("pyai-hear", "pyai-hear-telephony", "whisper-1")
RESPONSE_FORMATS = ("json", "text", "verbose_json")
#: OpenAI's prompt is read as at most 224 tokens (about 900 characters of English); longer is a mistake.
MAX_PROMPT_CHARS = 1000


@router.post("/v1/audio/transcriptions", **documented("/v1/audio/transcriptions", "post"))
async def create_transcription(request: Request, p: Principal = caller()) -> Response:
    services = request.app.state.services
    limit = services.settings.max_upload_bytes
    form = await multipart_form(request, "file")
    model = str(form.get("model") or "pyai-hear")
    if model not in MODELS:
        raise bad_request(f"model: unknown model {model!r}; use one of {', '.join(MODELS)}.", param="model")
    fmt = str(form.get("response_format") or "json")
    if fmt not in RESPONSE_FORMATS:
        raise bad_request(f"response_format: must be one of {', '.join(RESPONSE_FORMATS)}.", param="response_format")
    language = normalise_language(form.get("language"))
    if problem := language_problem(stt_engine(services), language):
        raise bad_request(problem, param="language")
    prompt = str(form.get("prompt") or "").strip() or None
    if prompt and len(prompt) > MAX_PROMPT_CHARS:
        raise bad_request(f"prompt: at most {MAX_PROMPT_CHARS} characters.", param="prompt")
    temperature = form_number(form, "temperature", float)
    form_number(form, "seed", int)  # validated and accepted; the engine is deterministic
    numerals = form_bool(form, "numerals")
    data, _filename = await read_upload(form, "file", limit)

    audio = await asyncio.to_thread(decode_upload, data, "file", services.settings.max_batch_audio_seconds)
    async with services.billing.holding(p, "hear.minutes", audio.duration) as hold:
        result = await transcribe_audio(services, audio, language=language, numerals=numerals, prompt=prompt)
        units = await services.billing.settle(hold, result.billable_seconds)
    headers = {"x-pyai-units": format_units(units)}
    text = result.transcript.text
    if fmt == "text":
        return PlainTextResponse(text, headers=headers)
    if fmt == "verbose_json":
        spoken = language or result.transcript.language
        body = verbose_json(result.transcript, duration=result.duration, language=spoken, temperature=temperature)
        return JSONResponse(body, headers=headers)
    return JSONResponse({"text": text, "model": model}, headers=headers)
