"""Words for matching, shared by everything that compares what was said with a text of its own:
the embedded brain's retrieval, the tool planner, slot filling and the post-call summary.

One tokenizer and one crude stemmer, so "bookings", "booked" and "booking" meet "book" the same
way everywhere. The stop lists stay with their users: what is noise differs by job ("open" is the
subject of a question to a knowledge base, while a summary drops far more filler than a tool match).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SUFFIXES = ("ing", "ed", "es", "s", "e")


def tokens(text: str) -> list[str]:
    """The lower-cased words and numbers of ``text`` in order (an inner apostrophe kept: "don't")."""
    return _TOKEN.findall(text.lower())


def stem(word: str) -> str:
    """A word without its inflection ("guests"/"guest", "booked"/"booking"/"book",
    "prices"/"price" all meet), for matching only: "boxes" → "box", but "price" → "pric". A
    possessive "'s" goes first; at least three letters are always kept."""
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str, stop: frozenset[str], min_len: int = 3) -> list[tuple[str, str]]:
    """``(stem, word)`` for each word of ``text`` not in ``stop``, in order; words shorter than
    ``min_len`` go too, but numbers always stay."""
    return [(stem(w), w) for w in tokens(text) if w not in stop and (len(w) >= min_len or w.isdigit())]
