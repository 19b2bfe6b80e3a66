"""The TTS engine: flite renders each sentence at the voice's pitch and rate, WORLD reshapes
timbre and intonation when the voice asks for it, soxr brings it to the native 24 kHz."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np

from pyai.audio.resample import resample
from pyai.engines.tts import flite
from pyai.engines.tts.base import NATIVE_RATE, VoiceSpec
from pyai.engines.tts.effects import reshape
from pyai.engines.tts.sentences import split_sentences


class FliteWorldTTS:
    name = "flite+world"

    def render(self, text: str, spec: VoiceSpec, speed: float = 1.0) -> np.ndarray:
        """One chunk of text → float32 at 24 kHz."""
        if spec.engine != "flite":
            raise ValueError(f"unknown TTS engine {spec.engine}")
        native_pitch = spec.base_voice in flite.PITCH_CONTROL
        f0 = flite.NATIVE_F0[spec.base_voice] * 2 ** (spec.pitch_shift / 12) if spec.pitch_shift and native_pitch else None
        vocoder_pitch = 0.0 if native_pitch else spec.pitch_shift
        stretch = 1.0 / max(0.05, spec.rate * speed)
        samples, rate = flite.render(text, spec.base_voice, f0_mean=f0, stretch=stretch)
        if spec.needs_vocoder or vocoder_pitch:
            samples = reshape(samples, rate, pitch_shift=vocoder_pitch, formant_shift=spec.formant_shift,
                              pitch_range=spec.pitch_range)
        return resample(samples, rate, NATIVE_RATE)

    def synthesize(self, text: str, spec: VoiceSpec, speed: float = 1.0) -> Iterator[np.ndarray]:
        for chunk in split_sentences(text):
            yield self.render(chunk, spec, speed)


@cache
def get_tts() -> FliteWorldTTS:
    if not flite.available():
        raise RuntimeError("flite is not installed (apt-get install flite; `make setup` does it)")
    return FliteWorldTTS()
