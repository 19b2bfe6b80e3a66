"""Pick the STT engine from settings (``PYAI_STT_ENGINE``; pocketsphinx by default).

``PYAI_STT_MODEL_DIR`` swaps the wheel's bundled model for one stored on local disk.
"""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.model_dir import model_config
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT
from pyai.settings import Settings


def get_stt(settings: Settings) -> SpeechToText:
    if settings.stt_engine != "pocketsphinx":
        raise ValueError(f"unknown STT engine {settings.stt_engine!r}; available: pocketsphinx")
    config = model_config(settings.stt_model_dir) if settings.stt_model_dir else None
    return PocketsphinxSTT(pool_size=settings.stt_decoders, processes=settings.stt_processes, config=config)
