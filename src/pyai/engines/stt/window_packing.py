"""Several short utterances in one Whisper window, when decodes queue up.

Whisper encodes a fixed 30 s window whatever the audio's length, so for a 2 s utterance most of
the encoder's work is on padding, and that fixed cost (~0.3-0.4 s a decode on this machine,
bench/whisper_cost.py) is what limits how many streams two cores can serve. When every decoder is
busy, the utterances waiting for one are laid end to end in a single window, ``GAP_S`` of silence
between them, decoded once, and each gets back the words whose middle falls in its own span.
Measured on 64 short IVR prompts (bench/whisper_packing.py, docs/benchmarks.md): the same WER or
better, in a quarter of the time, at six a window. An utterance that finds a decoder free is
decoded alone, exactly as without packing, so an idle server behaves as before.

Only decodes that can share a window are packed: the same language and prompt (Whisper's
``initial_prompt`` biases the whole window), no forced prefix (it applies to a window's start)
and at most ``MAX_UTTERANCE_S`` long. Anything else still counts as a busy decoder (:meth:`busy`),
so waiting utterances pack behind it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from pyai.engines.stt.base import RATE, Word

#: Silence between packed utterances: long enough that Whisper ends a sentence, short enough to fit many.
GAP_S = 0.6
#: Packed audio per decode, inside Whisper's 30 s window.
WINDOW_S = 28.0
#: Longer utterances are decoded alone.
MAX_UTTERANCE_S = 8.0

#: ``decode(samples, language, prompt)`` → the window's words, one list per Whisper segment, and
#: the language decoded.
Decode = Callable[[np.ndarray, str | None, str | None], tuple[list[list[Word]], str]]


@dataclass(eq=False)
class _Waiting:
    samples: np.ndarray
    key: tuple[str | None, str | None]  # (language, prompt): what must match to share a window
    done: bool = False
    segments: list[list[Word]] = field(default_factory=list)
    language: str = "en"
    error: BaseException | None = None

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def packable(samples: np.ndarray, prefix: str | None) -> bool:
    return not prefix and len(samples) <= MAX_UTTERANCE_S * RATE


class WindowPacker:
    def __init__(self, decode: Decode, decoders: int) -> None:
        self._decode = decode
        self._decoders = max(1, decoders)  # decodes the engine runs at once
        self._busy = 0
        self._queue: deque[_Waiting] = deque()
        self._cv = threading.Condition()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Hold a decoder for a decode that is never packed."""
        with self._cv:
            self._busy += 1
        try:
            yield
        finally:
            self._release()

    def decode(self, samples: np.ndarray, language: str | None, prompt: str | None) -> tuple[list[list[Word]], str]:
        """This utterance's words (per Whisper segment, times from its own start) and language;
        blocks, in the caller's thread, until a decode that includes it has run."""
        me = _Waiting(samples, (language, prompt))
        with self._cv:
            self._queue.append(me)
        while True:
            with self._cv:
                # lead a decode only while this utterance still waits in the queue: once another
                # caller's window has taken it, wait for that window to finish
                while not me.done and (self._busy >= self._decoders or me not in self._queue):
                    self._cv.wait()
                if me.done:
                    break
                batch = self._take()
                self._busy += 1
            try:
                self._run(batch)
            finally:
                self._release()
        if me.error is not None:
            raise me.error
        return me.segments, me.language

    def _release(self) -> None:
        with self._cv:
            self._busy -= 1
            self._cv.notify_all()

    def _take(self) -> list[_Waiting]:
        """The oldest waiting utterance and those after it that share its window (under the lock)."""
        head = self._queue.popleft()
        batch, seconds = [head], head.seconds
        for other in list(self._queue):
            if other.key == head.key and seconds + GAP_S + other.seconds <= WINDOW_S:
                self._queue.remove(other)
                batch.append(other)
                seconds += GAP_S + other.seconds
        return batch

    def _run(self, batch: list[_Waiting]) -> None:
        try:
            if len(batch) == 1:
                segments, language = self._decode(batch[0].samples, *batch[0].key)
                parts = [segments]
            else:
                gap = np.zeros(int(GAP_S * RATE), dtype=np.float32)
                audio = np.concatenate([piece for w in batch for piece in (w.samples, gap)][:-1])
                segments, language = self._decode(audio, *batch[0].key)
                parts = split(segments, [w.seconds for w in batch])
            for waiting, part in zip(batch, parts, strict=True):
                waiting.segments, waiting.language = part, language
        except BaseException as e:  # noqa: BLE001 - every utterance of the window gets the failure
            for waiting in batch:
                waiting.error = e
        finally:
            with self._cv:
                for waiting in batch:
                    waiting.done = True


def split(segments: list[list[Word]], durations: list[float]) -> list[list[list[Word]]]:
    """A packed window's words handed back to the utterances laid in it (``durations`` apart by
    ``GAP_S``): each word to the span its middle falls in (a gap's middle is the border), its
    times made relative to that utterance's start and kept inside it."""
    starts = np.cumsum([0.0] + [d + GAP_S for d in durations[:-1]])
    borders = [start + d + GAP_S / 2 for start, d in zip(starts, durations, strict=True)][:-1]
    parts: list[list[list[Word]]] = [[] for _ in durations]
    for segment in segments:
        pieces: dict[int, list[Word]] = {}
        for w in segment:
            i = int(np.searchsorted(borders, (w.start + w.end) / 2))
            start, end = starts[i], durations[i]
            moved = Word(w.word, min(max(w.start - start, 0.0), end), min(max(w.end - start, 0.0), end), w.confidence)
            pieces.setdefault(i, []).append(moved)
        for i, words in pieces.items():
            parts[i].append(words)
    return parts
