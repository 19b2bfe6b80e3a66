"""The speech billing hold is an upper bound: the audio a request makes never exceeds what it held."""

from __future__ import annotations

import pytest

from pyai.engines.tts.base import NATIVE_RATE, TextToSpeech, VoiceSpec
from pyai.engines.tts.registry import get_tts
from pyai.engines.tts.sentences import split_sentences
from pyai.speak.catalog import list_stock
from pyai.speak.parts import Pause, Script
from pyai.speak.script import parse_input
from pyai.speak.synthesis import estimate_seconds, pace

TEXTS = [
    "I see.",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, thanks for calling. How can I help you today?",
    "Your appointment is on Tuesday at 3 pm, and your reference number is 45721.",
    "It costs $1,249.99 in 2026.",
    "Call +1 (415) 555-0123 or email jane.doe@example.com.",
    "Your confirmation code is ABX-42Q9 for the HTML and SMS.",
    '<speak>Hello <break time="1s"/><prosody rate="x-slow">your code is '
    '<say-as interpret-as="characters">QX7</say-as>.</prosody></speak>',
]


def _made(tts: TextToSpeech, script: Script, spec: VoiceSpec, speed: float) -> float:
    """Seconds of audio ``script`` makes: pauses, plus each sentence's length (announced, or counted
    when the engine learns it only by speaking)."""
    seconds = 0.0
    for part in script:
        if isinstance(part, Pause):
            seconds += part.seconds
            continue
        for sentence in split_sentences(part.text):
            rendering = tts.render(sentence, spec, pace(speed, part.rate), 1)
            known = rendering.seconds
            seconds += known if known is not None else sum(map(len, rendering.pieces())) / NATIVE_RATE
    return seconds


def _check(voices: list, speed: float) -> None:
    tts = get_tts()
    for voice in voices:
        for text in TEXTS:
            script = parse_input(text)
            made = _made(tts, script, voice.spec, speed)
            bound = estimate_seconds(script, voice.spec, speed)
            assert made <= bound, (voice.voice_id, text, made, bound)
            assert bound < 3 * made + 2, (voice.voice_id, text, made, bound)  # and not absurdly loose


def test_estimate_bounds_every_stock_voice() -> None:
    _check(list_stock(), 1.0)


@pytest.mark.parametrize("speed", [0.5, 2.0])
def test_estimate_scales_with_speed(speed: float) -> None:
    _check([v for v in list_stock() if v.voice_id in ("stock_james_en_us", "stock_walter_en_us")], speed)
