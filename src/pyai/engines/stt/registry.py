"""Pick the STT engine from settings (``PYAI_STT_ENGINE``; pocketsphinx by default)."""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT
from pyai.settings import Settings


def get_stt(settings: Settings) -> SpeechToText:
    if settings.stt_engine != "pocketsphinx":
        raise ValueError(f"unknown STT engine {settings.stt_engine!r}; available: pocketsphinx")
    return PocketsphinxSTT(pool_size=settings.stt_decoders, processes=settings.stt_processes)
