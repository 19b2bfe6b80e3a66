"""The streaming TTS path: flite's streamed audio and the piecewise WORLD reshaping behind it.

Speech leaves before a sentence is finished, so these check what streaming must not change:
the announced length, the audio itself whatever the chunking, and joins without clicks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pyai.engines.tts import flite
from pyai.engines.tts.effects import SILENCE_RMS, reshape_stream

TEXT = "Thank you for calling, your order has shipped and should arrive on Tuesday."
RESHAPE = {"center_hz": 164.0, "pitch_shift": -2.0, "formant_shift": 0.92, "pitch_range": 1.3}


def spoken(voice: str = "slt", f0_mean: float | None = None, seed: int | None = None) -> tuple[np.ndarray, int]:
    stream = flite.FliteStream(TEXT, voice, f0_mean=f0_mean, stretch=1.0, seed=seed)
    audio = np.concatenate(list(stream.chunks()))
    assert len(audio) == stream.total and stream.seconds == pytest.approx(len(audio) / stream.rate)
    return audio, stream.rate


def rechunk(x: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out, i, k = [], 0, 0
    while i < len(x):
        out.append(x[i : i + sizes[k % len(sizes)]])
        i += sizes[k % len(sizes)]
        k += 1
    return out


@pytest.mark.parametrize("voice", sorted(flite.NATIVE_F0))
def test_announced_length_is_the_audio_length(voice: str) -> None:
    audio, rate = spoken(voice)
    assert rate == 16000 and 2.0 < len(audio) / rate < 8.0
    assert np.abs(audio).max() > 0.1


def test_seed_fixes_the_noise() -> None:
    assert np.array_equal(spoken(seed=3)[0], spoken(seed=3)[0])
    assert not np.array_equal(spoken(seed=3)[0], spoken(seed=4)[0])


def test_concurrent_calls_get_their_own_voice_and_pitch() -> None:
    """flite keeps per-voice features and one noise generator; the lock keeps requests apart."""
    jobs = [("slt", None), ("awb", 150.0), ("slt", 220.0), ("rms", None)] * 2
    alone = [spoken(v, f0)[0] for v, f0 in jobs[:4]]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda j: spoken(*j)[0], jobs))
    for i, audio in enumerate(together):
        assert np.array_equal(audio, alone[i % 4])


def test_reshaping_does_not_depend_on_how_audio_arrives() -> None:
    audio, rate = spoken()
    whole = list(reshape_stream([audio], len(audio), rate, **RESHAPE))
    trickled = list(reshape_stream(rechunk(audio, [320, 1680, 77]), len(audio), rate, **RESHAPE))
    assert [len(p) for p in whole] == [len(p) for p in trickled]
    assert np.array_equal(np.concatenate(whole), np.concatenate(trickled))
    assert sum(len(p) for p in whole) == len(audio)
    assert len(whole) >= 3  # leading silence, a short first piece, the rest


def test_leading_silence_passes_through_and_joins_do_not_click() -> None:
    audio, rate = spoken()
    pieces = list(reshape_stream([audio], len(audio), rate, **RESHAPE))
    silence = pieces[0]
    assert np.array_equal(silence, audio[: len(silence)].astype(np.float32))
    assert np.sqrt(np.square(silence).mean()) < SILENCE_RMS
    y = np.concatenate(pieces)
    jumps = np.abs(np.diff(y))
    joins = np.cumsum([len(p) for p in pieces])[:-1]
    for j in joins:
        assert jumps[j - 3 : j + 3].max() <= np.percentile(jumps, 99.9)


def test_reshaping_moves_pitch_as_asked() -> None:
    import pyworld as pw

    audio, rate = spoken()
    lowered = np.concatenate(list(reshape_stream([audio], len(audio), rate, center_hz=164.0, pitch_shift=-5.0)))

    def median_f0(x: np.ndarray) -> float:
        f0, _ = pw.dio(x.astype(np.float64), rate)
        return float(np.median(f0[f0 > 0]))

    assert median_f0(lowered) == pytest.approx(median_f0(audio) * 2 ** (-5 / 12), rel=0.06)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_low_flite_pitch_survives_reshaping(seed: int) -> None:
    """slt rendered at 107 Hz is easy to misread an octave up; the reshaped voice must stay low."""
    import pyworld as pw

    audio, rate = spoken(f0_mean=107.0, seed=seed)
    shaped = np.concatenate(
        list(
            reshape_stream(
                [audio], len(audio), rate, center_hz=107.0, pitch_shift=0.0, formant_shift=0.92, pitch_range=0.8
            )
        )
    )
    f0, _ = pw.harvest(shaped.astype(np.float64), rate)
    assert float(np.median(f0[f0 > 0])) == pytest.approx(107.0, rel=0.1)
