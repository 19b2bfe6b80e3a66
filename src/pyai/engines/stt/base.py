"""The STT interface every engine implements, and the transcript types it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

RATE = 16000  # every engine takes 16 kHz mono float32
SEGMENT_GAP_S = 0.6  # a pause this long starts a new segment


class EngineUnavailable(RuntimeError):
    """The engine cannot take this request now (busy, or its upstream failed); worth a retry."""


class EngineBusy(EngineUnavailable):
    """Every decoder is in use and none came free in time."""


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds
    end: float
    confidence: float = 1.0


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Transcript:
    text: str
    words: list[Word] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    language: str = "en"


def group_segments(words: list[Word], first_id: int = 0) -> list[Segment]:
    """Cut a word list into segments at pauses of ``SEGMENT_GAP_S`` or more."""
    segments: list[Segment] = []
    current: list[Word] = []
    for w in words:
        if current and w.start - current[-1].end >= SEGMENT_GAP_S:
            segments.append(_segment(first_id + len(segments), current))
            current = []
        current.append(w)
    if current:
        segments.append(_segment(first_id + len(segments), current))
    return segments


def refuse_prefix(prefix: str | None, engine: str) -> None:
    """Engines without a decoder prefix refuse one rather than silently dropping it."""
    if prefix:
        raise ValueError(f"the {engine} engine cannot force a transcript prefix")


def _segment(ident: int, words: list[Word]) -> Segment:
    return Segment(ident, words[0].start, words[-1].end, " ".join(w.word for w in words), list(words))


class SpeechToText(Protocol):
    name: str
    #: Whether ``transcribe`` can force its transcript to begin with a given ``prefix`` (Whisper's
    #: decoder prefix). Streams use it to keep each utterance's ``stable_text`` a prefix of its final.
    forces_prefix: bool

    @property
    def languages(self) -> tuple[str, ...] | None:
        """ISO-639-1 codes it transcribes; None when it cannot tell (a remote endpoint decides)."""
        ...

    def transcribe(
        self, samples: np.ndarray, *, language: str | None = None, prompt: str | None = None, prefix: str | None = None
    ) -> Transcript:
        """Whole-utterance decode; ``prompt`` (key terms, earlier text) biases engines that take one;
        ``prefix`` (only where ``forces_prefix``) is text the transcript must begin with."""
        ...

    def describe(self) -> dict:
        """What runs here, for ``/v1/models`` and ``pyai doctor`` (no secrets, no model load)."""
        ...

    def close(self) -> None: ...
