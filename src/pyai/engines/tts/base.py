"""What a voice is (a synthesis spec) and the interface every TTS engine implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

NATIVE_RATE = 24000  # every engine yields float32 mono at this rate


@dataclass(frozen=True)
class VoiceSpec:
    """A voice as numbers: base engine voice + how to reshape it.

    ``pitch_shift`` in semitones, ``formant_shift`` scales the spectral envelope (vocal-tract
    length: < 1 is a longer tract, darker and more male; > 1 brighter), ``rate`` is speaking-rate
    multiplier, ``pitch_range`` scales intonation around the mean (< 1 flatter, > 1 livelier).
    """

    engine: str = "flite"
    base_voice: str = "slt"
    pitch_shift: float = 0.0
    formant_shift: float = 1.0
    rate: float = 1.0
    pitch_range: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> VoiceSpec:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @property
    def needs_vocoder(self) -> bool:
        return abs(self.formant_shift - 1.0) > 1e-3 or abs(self.pitch_range - 1.0) > 1e-3


class Rendering(Protocol):
    """One sentence being made. ``seconds`` is its length when the engine knows it before the audio
    exists (flite: so it can be billed first), else None (Piper: a neural voice learns its length
    only by making it)."""

    @property
    def seconds(self) -> float | None: ...

    def pieces(self) -> Iterator[np.ndarray]: ...


class VoiceEngine(Protocol):
    """One engine. ``seed`` fixes whatever randomness it has: the same request gives the same audio."""

    def render(self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None) -> Rendering: ...


class TextToSpeech(VoiceEngine, Protocol):
    """What callers use: any voice of any engine, and whole texts split into sentences."""

    def warm(self) -> None: ...

    def synthesize(
        self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None
    ) -> Iterator[np.ndarray]: ...
