"""Cut a short lead clause off a sentence, for engines that make a whole utterance at once.

A VITS voice's first audio waits for its first inference, whose cost grows with the text; a short
lead clause (made first, the rest made while it plays) keeps the first audio early. The cut goes
where a speaker would pause anyway: at the first comma, semicolon, colon or dash, in any sentence
(the voice pauses there whether or not it is cut); else, in a longer sentence, before a
conjunction; a long sentence with neither is cut after a few words. A short sentence without a
pause mark stays whole, since a cut where the voice would not pause costs a little prosody.
"""

from __future__ import annotations

import re

#: Sentences up to this many words are cut only at a pause mark. Piper's first audio for "Thank
#: you for calling, your order has shipped." made whole: 176 ms p50 on a 2 vCPU AVX2 VM; cut at its
#: comma: 103 ms, and Whisper heard the same words (docs/benchmarks.md, "Speak").
SHORT_WORDS = 8
#: The lead clause has at least this many words (a one-word lead sounds clipped) ...
MIN_LEAD = 2
#: ... and at most this many (inference costs ~15 ms a word on 2 cores).
MAX_LEAD = 6
#: A sentence longer than this with no pause or conjunction early on is cut after at most
#: ``MAX_LEAD - 1`` words, never inside a number.
LONG_WORDS = 12
_PAUSE = re.compile(r"[,;:\u2013\u2014]$")
_CONJUNCTIONS = frozenset("and but or so because which while when if then although".split())
#: Never cut inside a spoken number ("one | thousand two hundred").
_NUMBER_WORDS = frozenset(
    "zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety"
    " hundred thousand million billion point and dollars cents".split()
)


def lead_clause(sentence: str) -> list[str]:
    """``[lead, rest]`` (both non-empty) or ``[sentence]`` when there is no good early cut."""
    words = sentence.split()
    cut = _pause_cut(words) if len(words) <= SHORT_WORDS else _cut(words)
    if cut is None:
        return [sentence]
    return [" ".join(words[:cut]), " ".join(words[cut:])]


def _window(words: list[str]) -> range:
    """The lead clause's possible lengths: it and the rest have at least ``MIN_LEAD`` words."""
    return range(MIN_LEAD, min(MAX_LEAD, len(words) - MIN_LEAD) + 1)


def _pause_cut(words: list[str]) -> int | None:
    """After the first punctuation that marks a pause, or None."""
    return next((n for n in _window(words) if _PAUSE.search(words[n - 1])), None)


def _cut(words: list[str]) -> int | None:
    """How many words go in the lead clause of a longer sentence, or None."""
    if (n := _pause_cut(words)) is not None:
        return n
    window = _window(words)
    for n in window:  # before a conjunction
        if words[n].lower() in _CONJUNCTIONS:
            return n
    if len(words) <= LONG_WORDS:
        return None
    return next((n for n in reversed(range(MIN_LEAD, MAX_LEAD)) if not _splits_number(words, n)), None)


def _splits_number(words: list[str], n: int) -> bool:
    return _is_number(words[n - 1]) or _is_number(words[n])


def _is_number(word: str) -> bool:
    word = word.lower().strip(",.;:!?")
    return word.isdigit() or all(part in _NUMBER_WORDS for part in word.split("-"))
