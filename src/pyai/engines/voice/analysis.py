"""Measure a speaker: pitch level and range, spectral envelope (timbre), speaking rate.

These statistics drive cloning and are how we check, objectively, that a clone moved toward
its reference and that stock voices differ from each other.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pyworld as pw
from scipy.signal import find_peaks

from pyai.audio.resample import resample
from pyai.engines.vad.webrtc import speech_seconds

RATE = 16000
FRAME_MS = 10.0
CENTROID_MAX_HZ = 5000.0


@dataclass(frozen=True)
class VoiceProfile:
    f0_median: float  # Hz over voiced frames
    f0_range_st: float  # 10th→90th percentile, semitones
    spectral_centroid: float  # Hz, mean of the voiced frames' envelope centroid below 5 kHz
    speaking_rate: float  # syllable-like energy peaks per second of speech
    speech_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def analyse_voice(samples: np.ndarray, rate: int) -> VoiceProfile:
    x = resample(samples.astype(np.float32), rate, RATE).astype(np.float64)
    f0, t = pw.dio(x, RATE, frame_period=FRAME_MS, speed=4)
    f0 = pw.stonemask(x, f0, t, RATE)
    voiced = f0 > 0
    if voiced.sum() < 10:
        return VoiceProfile(0.0, 0.0, 0.0, 0.0, speech_seconds(x.astype(np.float32), RATE))
    sp = pw.cheaptrick(x, f0, t, RATE)
    freqs = np.linspace(0, RATE / 2, sp.shape[1])
    band = freqs <= CENTROID_MAX_HZ
    env = sp[voiced][:, band]
    centroid = float(np.mean((env * freqs[band]).sum(axis=1) / env.sum(axis=1)))
    p10, p90 = np.percentile(f0[voiced], [10, 90])
    speech = speech_seconds(x.astype(np.float32), RATE)
    energy = np.convolve(x**2, np.ones(RATE // 50) / (RATE // 50), mode="same")[:: RATE // 100]
    energy = np.sqrt(energy)
    peaks, _ = find_peaks(energy, prominence=energy.max() * 0.1, distance=10)
    return VoiceProfile(
        f0_median=float(np.median(f0[voiced])),
        f0_range_st=float(12 * math.log2(p90 / p10)) if p10 > 0 else 0.0,
        spectral_centroid=centroid,
        speaking_rate=float(len(peaks) / speech) if speech > 0 else 0.0,
        speech_seconds=speech,
    )


def profile_distance(a: VoiceProfile, b: VoiceProfile) -> float:
    """One number for 'how different do these speakers measure': pitch in semitones, timbre and
    rate as log-ratios, weighted so one semitone ≈ a 6% centroid change ≈ a 6% rate change."""

    def log_ratio(x: float, y: float) -> float:
        return abs(math.log(max(x, 1e-6) / max(y, 1e-6)))

    return (
        log_ratio(a.f0_median, b.f0_median) * 12
        + log_ratio(a.spectral_centroid, b.spectral_centroid) * 17
        + log_ratio(a.speaking_rate, b.speaking_rate) * 17 * 0.5
        + abs(a.f0_range_st - b.f0_range_st) * 0.25
    )
