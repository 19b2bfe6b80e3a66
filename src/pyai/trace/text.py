"""One normalised view of a piece of speech (a sentence or a turn), built once and shared by every
rule that looks at it.

Rules match words, not characters: a phrase is a sequence of lower-case words, so "Opt-out",
"opt out" and "OPT OUT!" are the same phrase. Curly apostrophes (what language models and speech
recognisers often write) become straight ones so "don’t" and "don't" are one word. The text keeps
its length through normalisation, so every offset a matcher reports is an offset into the
original string and can be used to redact it.
"""

from __future__ import annotations

import re

from pyai.trace.pii import Hit, detect

# Same-length substitutions only (offsets must survive).
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
#: A word: letters/digits, with inner apostrophes ("don't", "o'clock"). Underscores are not letters.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def normalize(text: str) -> str:
    """``text`` with apostrophe variants made plain; always the same length as ``text``."""
    return text.translate(_APOSTROPHES)


def words(text: str) -> tuple[str, ...]:
    """The lower-case words of ``text``: how phrases are compared."""
    return tuple(m.group().lower() for m in WORD.finditer(normalize(text)))


class Doc:
    """A text and what matchers need of it, each computed at most once, on first use: the words
    with their offsets, the set of words (a cheap prefilter for phrase rules) and the PII found."""

    __slots__ = ("text", "_low", "_folded", "_tokens", "_token_set", "_pii")

    def __init__(self, text: str) -> None:
        self.text = normalize(text)
        self._low: str | None = None
        self._folded: str | None = None
        self._tokens: list[tuple[str, int, int]] | None = None
        self._token_set: frozenset[str] | None = None
        self._pii: list[Hit] | None = None

    @property
    def lower(self) -> str:
        """The text in lower case; same offsets as ``text`` unless a character changed length."""
        if self._low is None:
            self._low = self.text.lower()
        return self._low

    @property
    def folded(self) -> str:
        """The text case-folded (as case-insensitive regexes compare), for substring prefilters."""
        if self._folded is None:
            self._folded = self.text.casefold()
        return self._folded

    @property
    def tokens(self) -> list[tuple[str, int, int]]:
        """(lower-case word, start, end) for every word, in order."""
        if self._tokens is None:
            low = self.lower
            if len(low) == len(self.text):  # the usual case: lower-casing kept every offset
                self._tokens = [(m.group(), m.start(), m.end()) for m in WORD.finditer(low)]
            else:
                self._tokens = [(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(self.text)]
        return self._tokens

    @property
    def token_set(self) -> frozenset[str]:
        """The distinct words (cheaper than :attr:`tokens`: most rules stop at this prefilter)."""
        if self._token_set is None:
            self._token_set = frozenset(WORD.findall(self.lower))
        return self._token_set

    @property
    def pii(self) -> list[Hit]:
        """Every PII hit in the text (all kinds, non-overlapping, in order)."""
        if self._pii is None:
            self._pii = detect(self)
        return self._pii
