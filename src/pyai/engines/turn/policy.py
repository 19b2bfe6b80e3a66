"""When a pause ends the caller's turn: the ``eagerness`` schedule and the rule that applies it.

A streaming endpointer reports a ``pause`` once the caller has been silent for ``pause_ms``. The
session asks the turn model (smart-turn) whether the speech so far sounds finished and hands the
answer back; the turn then ends after ``complete_ms`` of silence if it sounds finished, or after
``incomplete_ms`` if it does not (also the fallback when no answer arrives). Eagerness trades the
two errors against each other; measured on human and flite speech with a 0.5 s / 1 s pause put
after a word mid-sentence (docs/benchmarks.md, "Voice activity and end of turn"):

- ``high``: two thirds of finished turns end ~0.3 s after the last word; cuts off ~1/3 of pauses;
- ``normal``: two thirds end ~0.5 s after it, the rest at 1.5 s; cuts off 21% / 28%;
- ``low``: half end ~0.65 s after it, the rest at 3 s; cuts off 7% / 23%.

Today's fixed 600 ms silence ends every finished turn at ~0.64 s and cuts off 19% / 81%.

The model hears prosody and words, but read-out digit strings sound finished after every digit
(a human "two nine three" of "two nine three four zero" scores 0.99), so a transcript that ends in
a digit or in a word that cannot end a sentence keeps the turn open whatever the model says.

Tried and rejected (2026-11-26): letting a Whisper transcript that ends in "?" end a turn the model
calls unfinished (flite's flat "Are you open on Sunday?" scores 0.13 and waits the fallback).
Whisper punctuates a question cut off mid-sentence as a whole one just as readily: of 86
mid-sentence cuts of 12 flite questions, 50 came back ending in "?" ("Do you have any?", "Can I pay
my bill with a credit?"), and those are exactly the pauses the model calls unfinished.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EAGERNESS_LEVELS = ("low", "normal", "high")


@dataclass(frozen=True)
class TurnPolicy:
    pause_ms: int  # silence after speech before the turn model is consulted
    threshold: float  # turn-model probability at or above which the turn sounds finished
    complete_ms: int  # silence that ends a turn judged finished
    incomplete_ms: int  # silence that ends a turn judged unfinished, or never judged (the fallback)

    @classmethod
    def for_eagerness(cls, eagerness: str) -> TurnPolicy:
        try:
            return _PRESETS[eagerness]
        except KeyError:
            raise ValueError(f"eagerness: expected one of {', '.join(EAGERNESS_LEVELS)}, got {eagerness!r}") from None

    def is_complete(self, probability: float, transcript: str | None = None) -> bool:
        """The verdict for one pause: the model's probability, overruled by a transcript that
        clearly goes on (see :func:`transcript_continues`)."""
        return probability >= self.threshold and not transcript_continues(transcript or "")


_PRESETS = {
    "low": TurnPolicy(pause_ms=300, threshold=0.9, complete_ms=600, incomplete_ms=3000),
    "normal": TurnPolicy(pause_ms=200, threshold=0.7, complete_ms=450, incomplete_ms=1500),
    "high": TurnPolicy(pause_ms=200, threshold=0.5, complete_ms=250, incomplete_ms=1200),
}

_DIGIT = re.compile(r"^\d+$")
_DIGIT_WORDS = frozenset("zero oh one two three four five six seven eight nine double triple".split())
_CONTINUATIONS = frozenset(
    """a an the and or but so because if then to of for from with at in on by about my your our their his her its
    is are was were am be um uh er erm like""".split()
)


def transcript_continues(transcript: str) -> bool:
    """Whether the words so far cannot be a whole turn: they end in a digit (someone reading out
    a number pauses between groups) or in an article, conjunction, preposition, possessive, a
    linking verb or a filler."""
    words = re.findall(r"[\w']+", transcript.lower())
    if not words:
        return False
    last = words[-1]
    return bool(_DIGIT.match(last)) or last in _DIGIT_WORDS or last in _CONTINUATIONS
