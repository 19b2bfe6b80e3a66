"""Pick the STT engine from settings (``PYAI_STT_ENGINE``).

``pocketsphinx`` (default) decodes locally, with the wheel's model or ``PYAI_STT_MODEL_DIR``;
``openai`` sends whole-utterance decodes to ``PYAI_STT_BASE_URL`` and keeps pocketsphinx for
streaming partials.
"""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.model_dir import model_config
from pyai.engines.stt.openai_compatible import OpenAICompatibleSTT, RemoteTranscriber
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT
from pyai.settings import Settings

ENGINES = ("pocketsphinx", "openai")


def get_stt(settings: Settings) -> SpeechToText:
    if settings.stt_engine not in ENGINES:
        raise ValueError(f"unknown STT engine {settings.stt_engine!r}; available: {', '.join(ENGINES)}")
    config = model_config(settings.stt_model_dir) if settings.stt_model_dir else None
    local = PocketsphinxSTT(pool_size=settings.stt_decoders, processes=settings.stt_processes, config=config)
    if settings.stt_engine == "pocketsphinx":
        return local
    if not settings.stt_base_url:
        raise ValueError("PYAI_STT_ENGINE=openai needs PYAI_STT_BASE_URL")
    remote = RemoteTranscriber(
        settings.stt_base_url, settings.stt_api_key, settings.stt_model, settings.stt_timeout_seconds
    )
    return OpenAICompatibleSTT(remote, local)
