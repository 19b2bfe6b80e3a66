"""The flite engine: flite renders each sentence at the voice's pitch and rate, WORLD reshapes
timbre and intonation when the voice asks for it, soxr brings it to the native 24 kHz."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pyai.audio.resample import StreamResampler
from pyai.engines.tts import flite
from pyai.engines.tts.base import NATIVE_RATE, VoiceSpec
from pyai.engines.tts.effects import reshape_stream


class FliteRendering:
    """One sentence being spoken: its length is known before the audio is (see ``FliteStream``),
    so a caller can bill and send headers first; ``pieces()`` reshapes it as it arrives."""

    def __init__(self, stream: flite.FliteStream, reshape: dict) -> None:
        self._stream, self._reshape = stream, reshape  # reshape_stream keyword arguments; empty = none

    @property
    def seconds(self) -> float:
        return self._stream.seconds

    def pieces(self) -> Iterator[np.ndarray]:
        """Float32 audio at 24 kHz, piece by piece as flite and the vocoder make it."""
        stream = self._stream
        resampler = StreamResampler(stream.rate, NATIVE_RATE)
        source = stream.chunks()
        if self._reshape:
            source = reshape_stream(source, stream.total, stream.rate, **self._reshape)
        for piece in source:
            if len(out := resampler.process(piece)):
                yield out
        if len(tail := resampler.flush()):
            yield tail


class FliteWorldTTS:
    name = "flite+world"

    def render(self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None) -> FliteRendering:
        """Start speaking one chunk of text; returns once its length is known."""
        if spec.engine != "flite":
            raise ValueError(f"unknown TTS engine {spec.engine}")
        native_f0 = flite.NATIVE_F0[spec.base_voice]
        native_pitch = spec.base_voice in flite.PITCH_CONTROL
        f0 = native_f0 * 2 ** (spec.pitch_shift / 12) if spec.pitch_shift and native_pitch else None
        vocoder_pitch = 0.0 if native_pitch else spec.pitch_shift
        stretch = 1.0 / max(0.05, spec.rate * speed)
        stream = flite.FliteStream(text, spec.base_voice, f0_mean=f0, stretch=stretch, seed=seed)
        reshape = {}
        if spec.needs_vocoder or vocoder_pitch:
            reshape = {
                "center_hz": f0 or native_f0,
                "pitch_shift": vocoder_pitch,
                "formant_shift": spec.formant_shift,
                "pitch_range": spec.pitch_range,
            }
        return FliteRendering(stream, reshape)


def flite_world() -> FliteWorldTTS:
    if not all(flite.voice_available(v) for v in flite.NATIVE_F0):
        raise RuntimeError("flite is not installed (apt-get install flite; `make setup` does it)")
    return FliteWorldTTS()
