"""Rendering for engines that make a whole utterance at once (Piper, Festival's HTS voice).

Such an engine's first audio waits for its first call, whose cost grows with the text, so each
sentence is made lead clause first (:func:`~pyai.engines.tts.clauses.lead_clause`) and the rest
while that plays. Each piece is brought to 24 kHz and then, when the voice asks for it, reshaped
by WORLD (after resampling: WORLD's frames need a whole number of samples, which 22.05 kHz does
not give). The length is known only once made (``seconds`` is None), so callers hold an estimate
and settle what was made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from pyai.audio.resample import StreamResampler
from pyai.engines.tts.base import NATIVE_RATE, VoiceSpec
from pyai.engines.tts.clauses import lead_clause
from pyai.engines.tts.effects import reshape_stream


class WholeUtteranceRendering:
    """One sentence; ``make(text)`` returns float32 mono audio at ``rate`` for a piece of it, and
    ``center_hz`` is the voice's median F0 (the centre its intonation range is scaled around)."""

    seconds = None

    def __init__(
        self, make: Callable[[str], np.ndarray], rate: int, center_hz: float, text: str, spec: VoiceSpec
    ) -> None:
        self._make, self._rate, self._center_hz, self._text, self._spec = make, rate, center_hz, text, spec

    def pieces(self) -> Iterator[np.ndarray]:
        """Float32 audio at 24 kHz, clause by clause."""
        spec = self._spec
        resampler = StreamResampler(self._rate, NATIVE_RATE)
        clauses = lead_clause(self._text)
        for i, clause in enumerate(clauses):
            audio = resampler.process(self._make(clause))
            if i == len(clauses) - 1:
                audio = np.concatenate([audio, resampler.flush()])
            if not len(audio):
                continue
            if spec.pitch_shift or spec.needs_vocoder:
                yield from reshape_stream(
                    (audio,),
                    len(audio),
                    NATIVE_RATE,
                    center_hz=self._center_hz,
                    pitch_shift=spec.pitch_shift,
                    formant_shift=spec.formant_shift,
                    pitch_range=spec.pitch_range,
                )
            else:
                yield audio
