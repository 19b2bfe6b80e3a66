"""The speech billing hold is an upper bound: the audio a request makes never exceeds what it held."""

from __future__ import annotations

import pytest

from pyai.engines.tts.registry import get_tts
from pyai.engines.tts.sentences import split_sentences
from pyai.speak.catalog import list_stock
from pyai.speak.synthesis import estimate_seconds

TEXTS = [
    "I see.",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, thanks for calling. How can I help you today?",
    "Your appointment is on Tuesday at 3 pm, and your reference number is 45721.",
    "It costs $1,249.99 in 2026.",
]


def _check(voices: list, speed: float) -> None:
    tts = get_tts()
    for voice in voices:
        for text in TEXTS:
            sentences = split_sentences(text)
            made = sum(tts.render(t, voice.spec, speed, 1).seconds for t in sentences)
            bound = estimate_seconds(sentences, voice.spec, speed)
            assert made <= bound, (voice.voice_id, text, made, bound)
            assert bound < 3 * made + 2, (voice.voice_id, text, made, bound)  # and not absurdly loose


def test_estimate_bounds_every_stock_voice() -> None:
    _check(list_stock(), 1.0)


@pytest.mark.parametrize("speed", [0.5, 2.0])
def test_estimate_scales_with_speed(speed: float) -> None:
    _check([v for v in list_stock() if v.voice_id in ("stock_james_en_us", "stock_walter_en_us")], speed)
