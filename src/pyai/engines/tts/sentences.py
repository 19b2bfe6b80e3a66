"""Split text into speakable chunks: sentences, and long sentences at clause boundaries.

Synthesis streams chunk by chunk, so the first chunk bounds time-to-first-audio.
"""

from __future__ import annotations

import re

MAX_CHUNK = 220
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_CLAUSE = re.compile(r"(?<=[,;])\s+")
#: What the (English) flite voices say: other scripts come out as a short silence, symbols as nothing.
_SAYABLE = re.compile(r"[A-Za-z0-9]")


UNSPEAKABLE = "nothing in it can be spoken (it needs a letter A-Z or a digit)"


def speakable(text: str) -> bool:
    """True when ``text`` has something to say: at least one letter A-Z or digit (else see ``UNSPEAKABLE``)."""
    return _SAYABLE.search(text) is not None


def split_sentences(text: str) -> list[str]:
    chunks: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
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
