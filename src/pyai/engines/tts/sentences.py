"""Split text into speakable chunks: sentences, and long sentences at clause boundaries.

Synthesis streams chunk by chunk, so the first chunk bounds time-to-first-audio. Text that
arrives in pieces (a language model's tokens) is cut by :class:`SentenceStream` into the same
chunks, each as soon as it is complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_CHUNK = 220
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_CLAUSE = re.compile(r"(?<=[,;])\s+")
#: Abbreviations whose full stop does not end the sentence: titles before a name ("Dr. Smith")
#: and ones followed by more of the sentence ("e.g. a refund"). Text that went through
#: ``to_spoken`` has them written out already; a language model's raw text does not. A number's
#: point ("3.5") has no space after it, so it never looks like a sentence end.
_NO_END = re.compile(r"(?<![\w.])(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|(?i:vs|approx|apt|ste|ext|dept|e\.g|i\.e|cf))\.$")
_NO_END_LOOK = 10  # enough text before a full stop to hold the longest abbreviation and its left edge
#: What the (English) flite voices say: other scripts come out as a short silence, symbols as nothing.
_SAYABLE = re.compile(r"[A-Za-z0-9]")


UNSPEAKABLE = "nothing in it can be spoken (it needs a letter A-Z or a digit)"


def speakable(text: str) -> bool:
    """True when ``text`` has something to say: at least one letter A-Z or digit (else see ``UNSPEAKABLE``)."""
    return _SAYABLE.search(text) is not None


def _sentence_ends(text: str) -> Iterator[re.Match[str]]:
    """The gaps between sentences: punctuation then whitespace, or a line break, but not after an
    abbreviation that never ends a sentence."""
    for m in _SENTENCE.finditer(text):
        if "\n" in m.group() or not _NO_END.search(text[max(0, m.start() - _NO_END_LOOK) : m.start()]):
            yield m


def _sentences(text: str) -> Iterator[str]:
    start = 0
    for m in _sentence_ends(text):
        yield text[start : m.start()]
        start = m.end()
    yield text[start:]


def split_sentences(text: str) -> list[str]:
    chunks: list[str] = []
    for sentence in (s.strip() for s in _sentences(text)):
        if not sentence:
            continue
        if len(sentence) <= MAX_CHUNK:
            chunks.append(sentence)
            continue
        current = ""
        for clause in _CLAUSE.split(sentence):
            while len(clause) > MAX_CHUNK:  # no punctuation at all: cut at a space
                cut = clause.rfind(" ", 0, MAX_CHUNK)
                cut = cut if cut > 0 else MAX_CHUNK
                if current:
                    chunks.append(current)
                    current = ""
                chunks.append(clause[:cut].strip())
                clause = clause[cut:].strip()
            if current and len(current) + len(clause) + 1 > MAX_CHUNK:
                chunks.append(current)
                current = clause
            else:
                current = f"{current} {clause}".strip()
        if current:
            chunks.append(current)
    return [c for c in chunks if any(ch.isalnum() for ch in c)]


class SentenceStream:
    """Text arriving in pieces → the chunks :func:`split_sentences` makes of it, each as soon as
    it can no longer change: a sentence once the whitespace after its end has arrived ("3." may
    yet become "3.5", "Dr" is known whole once a space follows it), and the leading clauses of a
    sentence longer than ``MAX_CHUNK`` once they fill a chunk. :meth:`flush` gives the rest."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> list[str]:
        """Add ``piece``; the chunks it completed, in order."""
        self._text += piece
        chunks: list[str] = []
        if ends := list(_sentence_ends(self._text)):
            chunks = split_sentences(self._text[: ends[-1].start()])
            self._text = self._text[ends[-1].end() :]
        while len(self._text) > MAX_CHUNK:  # a long sentence: its first chunk cannot change any more
            head, rest = _first_chunk(self._text)
            chunks += split_sentences(self._text[:head])
            self._text = self._text[rest:]
        return chunks

    def flush(self) -> list[str]:
        """The text is over: the chunks of whatever is left."""
        chunks, self._text = split_sentences(self._text), ""
        return chunks


def _first_chunk(sentence: str) -> tuple[int, int]:
    """Where the first chunk of a sentence longer than ``MAX_CHUNK`` ends, and where the rest
    starts: after the last clause that fits, else at the last space that fits (as
    :func:`split_sentences` cuts)."""
    fits = [m for m in _CLAUSE.finditer(sentence) if m.start() <= MAX_CHUNK]
    if fits:
        return fits[-1].start(), fits[-1].end()
    cut = sentence.rfind(" ", 0, MAX_CHUNK)
    return (cut, cut + 1) if cut > 0 else (MAX_CHUNK, MAX_CHUNK)
