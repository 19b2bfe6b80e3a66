"""A call's turns as sentences, and cue phrases found in them, for the embedded recap.

Every embedded rule reads the same view of the call: its sentences in order, each knowing who said
it and whether it is a question. Cue phrases are regular expressions over the lower-cased sentence
(curly apostrophes straightened, so "I’ll" and "I'll" meet). A cue does not count when negated in
its own clause: "not", "never" or a word ending in "n't" among the three words before it ("I'm
*not* interested" is no "interested"). "No" alone is not a negation here: callers say "No, that
sounds great". Negations a cue spells itself ("not interested") sit inside the match and are
not looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyai.omni.call_summary import sentences as split_sentences

CALLER, AGENT = "caller", "agent"
#: Other spellings of the two speakers (a manual trigger may send chat roles).
SPEAKERS = {"caller": CALLER, "user": CALLER, "customer": CALLER, "agent": AGENT, "assistant": AGENT, "bot": AGENT}
_NEGATORS = frozenset({"not", "never", "hardly", "without", "cannot"})
_WORD = re.compile(r"[a-z']+")
_CLAUSE = re.compile(r"[,;:.!?]")


@dataclass(frozen=True)
class Sentence:
    """One sentence of the call: its turn's index, who said it, the words as heard, lower-cased."""

    turn: int
    speaker: str
    text: str
    low: str

    @property
    def question(self) -> bool:
        return self.text.rstrip().endswith("?")


def normalise_turns(turns: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``{speaker, text}`` of each turn with words in it, speakers reduced to caller/agent (turns
    of anyone else, such as a system note, are dropped)."""
    kept = []
    for t in turns:
        speaker = SPEAKERS.get(str(t.get("speaker") or t.get("role") or "").lower())
        text = t.get("text")
        if speaker and isinstance(text, str) and text.strip():
            kept.append({**t, "speaker": speaker, "text": " ".join(text.split())})
    return kept


def lower(text: str) -> str:
    return text.lower().replace("’", "'").replace("‘", "'")


def call_sentences(turns: Sequence[Mapping[str, Any]]) -> list[Sentence]:
    """The sentences of normalised ``turns``, in call order."""
    return [Sentence(i, t["speaker"], s, lower(s)) for i, t in enumerate(turns) for s in split_sentences(t["text"])]


def negated(low: str, start: int) -> bool:
    """Whether the words just before offset ``start`` of ``low`` negate what follows, within its clause."""
    clause = _CLAUSE.split(low[:start])[-1]
    before = _WORD.findall(clause)[-3:]
    return any(w in _NEGATORS or w.endswith("n't") for w in before)


def find(patterns: Iterable[re.Pattern[str]], low: str) -> re.Match[str] | None:
    """The first match of any of ``patterns`` in ``low`` that is not negated."""
    for pattern in patterns:
        for m in pattern.finditer(low):
            if not negated(low, m.start()):
                return m
    return None


def compile_all(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)
