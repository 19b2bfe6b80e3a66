"""The TTS engine callers use: each voice's spec names its engine (flite, piper or festival), and
every sentence goes to that engine. Engines load on first use, so a flite-only caller never loads
the 63 MB neural voice or starts a Festival process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np

from pyai.engines.tts import festival, piper
from pyai.engines.tts.base import Rendering, VoiceEngine, VoiceSpec
from pyai.engines.tts.festival import FestivalTTS
from pyai.engines.tts.flite_world import flite_world
from pyai.engines.tts.piper import PiperTTS
from pyai.engines.tts.sentences import split_sentences
from pyai.ops.metrics import TimedRendering

log = logging.getLogger(__name__)

#: Engine name (``VoiceSpec.engine``) → how to make it.
ENGINES: dict[str, Callable[[], VoiceEngine]] = {"flite": flite_world, "piper": PiperTTS, "festival": FestivalTTS}


class EngineRouter:
    """Implements :class:`~pyai.engines.tts.base.TextToSpeech` over every engine."""

    name = "flite+world, piper, festival"

    def __init__(self) -> None:
        self._engines: dict[str, VoiceEngine] = {}

    def engine(self, name: str) -> VoiceEngine:
        if name not in ENGINES:
            raise ValueError(f"unknown TTS engine {name}")
        if name not in self._engines:
            self._engines[name] = ENGINES[name]()
        return self._engines[name]

    def render(self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None) -> Rendering:
        return TimedRendering(spec.engine, lambda: self.engine(spec.engine).render(text, spec, speed, seed))

    def warm(self) -> None:
        """Load the engines that start slowly (the neural voice ~0.5 s, a Festival process ~0.2 s)
        by saying a word with each of their voices, so a first request does not wait for them. A
        failure is logged, not raised: the voices of the other engines still work."""
        for engine, voices in {"piper": piper.VOICES, "festival": festival.VOICES}.items():
            for base in voices:
                try:
                    for _ in self.render("Ready.", VoiceSpec(engine, base)).pieces():
                        pass
                except Exception:
                    log.exception("TTS engine %s voice %s failed to load", engine, base)

    def synthesize(
        self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None
    ) -> Iterator[np.ndarray]:
        for chunk in split_sentences(text):
            yield from self.render(chunk, spec, speed, seed).pieces()


@cache
def get_tts() -> EngineRouter:
    """The process's engines; flite is checked at once (it runs in-process, the clones and designs
    all use it, and a missing library should fail the start, not a request)."""
    router = EngineRouter()
    router.engine("flite")
    return router
