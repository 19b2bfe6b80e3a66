"""Telephone-band audio is told from wideband by its spectrum (engines/stt/narrowband.py)."""

from __future__ import annotations

import numpy as np

from pyai.audio.decode import decode_audio
from pyai.audio.g711 import g711_decode
from pyai.audio.resample import resample
from pyai.engines.stt import narrowband
from tests import corpus
from tests.speech_samples import ARCTIC

RATE = 16000


def wideband() -> np.ndarray:
    return decode_audio(ARCTIC.read_bytes(), target_rate=RATE).samples


def telephone(x: np.ndarray) -> np.ndarray:
    """16 kHz → 8 kHz G.711 µ-law (as the corpus makes telephone audio) → 16 kHz, as the server hears a call."""
    return resample(g711_decode(corpus.telephone(x), "g711_ulaw"), 8000, RATE)


def test_telephone_audio_is_narrowband_and_wideband_is_not() -> None:
    x = wideband()
    assert not narrowband.is_narrowband(x)
    assert narrowband.is_narrowband(telephone(x))
    assert narrowband.high_band_db(telephone(x)) < narrowband.NARROWBAND_DB - 10


def test_silence_and_too_short_audio_are_left_alone() -> None:
    assert not narrowband.is_narrowband(np.zeros(RATE, np.float32))
    assert not narrowband.is_narrowband(np.ones(100, np.float32))
