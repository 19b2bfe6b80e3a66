"""Cloning: choose the base voice closest to the reference speaker, then set pitch, formants,
rate and intonation range so the synthetic voice measures like the reference.

This is a parametric approximation (no neural speaker model ships in a package here): it
reproduces the speaker's pitch, vocal-tract brightness and pace, not their exact timbre.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from pyai.engines.tts.base import VoiceSpec
from pyai.engines.tts.flite import VOICES
from pyai.engines.tts.registry import get_tts
from pyai.engines.voice.analysis import RATE, VoiceProfile, analyse_voice

MIN_SPEECH_SECONDS = 3.0
CALIBRATION = ("Please call Stella. Ask her to bring these things with her from the store: six spoons of "
               "fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.")


class CloneError(ValueError):
    pass


@cache
def base_profile(voice: str) -> VoiceProfile:
    """Each base voice measured once on the same calibration paragraph."""
    samples = np.concatenate(list(get_tts().synthesize(CALIBRATION, VoiceSpec("flite", voice))))
    return analyse_voice(samples, 24000)


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def build_clone_spec(samples: np.ndarray, rate: int = RATE) -> VoiceSpec:
    ref = analyse_voice(samples, rate)
    if ref.speech_seconds < MIN_SPEECH_SECONDS:
        raise CloneError(f"the reference has {ref.speech_seconds:.1f} s of speech; at least "
                         f"{MIN_SPEECH_SECONDS:.0f} s is required")
    if ref.f0_median <= 0:
        raise CloneError("no voiced speech was found in the reference")
    female = ref.f0_median >= 165
    candidates = ["slt"] if female else [v for v in VOICES if v != "slt"]

    def cost(v: str) -> float:
        p = base_profile(v)
        return abs(math.log(ref.spectral_centroid / p.spectral_centroid)) + abs(math.log(ref.f0_median / p.f0_median)) / 2

    base = min(candidates, key=cost)
    bp = base_profile(base)
    return VoiceSpec(
        engine="flite",
        base_voice=base,
        pitch_shift=round(_clamp(12 * math.log2(ref.f0_median / bp.f0_median), -12, 12), 2),
        formant_shift=round(_clamp(ref.spectral_centroid / bp.spectral_centroid, 0.8, 1.25), 3),
        rate=round(_clamp(ref.speaking_rate / bp.speaking_rate, 0.7, 1.4), 3) if bp.speaking_rate else 1.0,
        pitch_range=round(_clamp(ref.f0_range_st / bp.f0_range_st, 0.5, 2.0), 3) if bp.f0_range_st else 1.0,
    )
