"""The STT interface every engine implements, and the transcript types it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

RATE = 16000  # every engine takes 16 kHz mono float32


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


class StreamingRecognizer(Protocol):
    """Incremental recognition of one utterance at a time, holding one engine instance."""

    def accept(self, samples: np.ndarray) -> None: ...

    def partial(self) -> str: ...

    def finish(self) -> Transcript: ...

    def redecode(self, samples: np.ndarray) -> Transcript: ...

    def close(self) -> None: ...


class SpeechToText(Protocol):
    name: str

    def transcribe(self, samples: np.ndarray, *, language: str | None = None) -> Transcript: ...

    def open_stream(self) -> StreamingRecognizer: ...
