"""Encoders: requested rates map to ones the codec takes, and a codec that cannot open fails at once."""

from __future__ import annotations

import numpy as np
import pytest

from pyai.audio import encode
from pyai.speak.synthesis import SynthesisStats, encode_stream


@pytest.mark.parametrize(
    ("fmt", "requested", "used"),
    [
        ("mp3", 23634, 24000),
        ("mp3", 7350, 8000),
        ("mp3", 22050, 22050),
        ("aac", 7350, 7350),
        ("aac", 47999, 48000),
        ("opus", 8001, 8000),
        ("opus", 20000, 24000),  # a tie goes up: no requested bandwidth is lost
        ("opus", 44100, 48000),
        ("flac", 23634, 23634),
        ("wav", 8001, 8001),
        ("pcm", 47999, 47999),
    ],
)
def test_supported_rate(fmt: str, requested: int, used: int) -> None:
    assert encode.supported_rate(fmt, requested) == used
    assert encode.AudioEncoder(fmt, requested).rate == used


def test_encoder_failure_raises_before_any_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the speech handler relies on to answer with an error (and bill nothing), not an empty 200."""
    monkeypatch.setattr(encode, "supported_rate", lambda fmt, requested: requested)
    with pytest.raises(Exception, match="Invalid argument"):
        encode_stream(iter([np.zeros(2400, dtype=np.float32)]), fmt="mp3", sample_rate=23634, stats=SynthesisStats())
