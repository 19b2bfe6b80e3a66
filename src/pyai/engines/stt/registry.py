"""Pick the STT engine from settings (``PYAI_STT_ENGINE``).

- ``whisper`` (default): faster-whisper with ``PYAI_STT_MODEL`` (the bundled tiny.en unless set)
  for every final transcript; pocketsphinx for streaming partials and ``speech_final``;
- ``pocketsphinx``: everything on pocketsphinx, with the wheel's model or ``PYAI_STT_MODEL_DIR``;
- ``openai``: whole-utterance decodes go to ``PYAI_STT_BASE_URL``; pocketsphinx for partials.

Streams always take their partials and ``speech_final`` from pocketsphinx
(:mod:`pyai.engines.stt.pocketsphinx_partials`), so ``PYAI_STT_MODEL_DIR`` (a pocketsphinx model)
also changes those under the other two engines.
"""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.model_dir import model_config
from pyai.engines.stt.openai_compatible import OpenAICompatibleSTT, RemoteTranscriber
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT
from pyai.engines.stt.whisper_engine import WhisperSTT
from pyai.engines.stt.whisper_models import resolve
from pyai.settings import Settings

ENGINES = ("whisper", "pocketsphinx", "openai")


def check_engine_name(settings: Settings) -> None:
    if settings.stt_engine not in ENGINES:
        raise ValueError(f"unknown STT engine {settings.stt_engine!r}; available: {', '.join(ENGINES)}")


def get_stt(settings: Settings) -> SpeechToText:
    check_engine_name(settings)
    if settings.stt_engine == "pocketsphinx":
        config = model_config(settings.stt_model_dir) if settings.stt_model_dir else None
        return PocketsphinxSTT(processes=settings.stt_processes, config=config)
    if settings.stt_engine == "whisper":
        return WhisperSTT(resolve(settings.stt_model_name), threads=settings.stt_threads)
    if not settings.stt_base_url:
        raise ValueError("PYAI_STT_ENGINE=openai needs PYAI_STT_BASE_URL")
    remote = RemoteTranscriber(
        settings.stt_base_url, settings.stt_api_key, settings.stt_model_name, settings.stt_timeout_seconds
    )
    return OpenAICompatibleSTT(remote)
