"""The process-wide STT engine, built once on first use and shared by every Hear surface."""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.registry import get_stt


def stt_engine(services) -> SpeechToText:  # noqa: ANN001 - pyai.services.Services (import cycle)
    return services.singleton("stt", lambda: get_stt(services.settings))
