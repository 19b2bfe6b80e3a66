"""How the embedded recap reads a pack's fields from the call, one reader per kind of value.

A value is read only when it was said; anything unclear stays ``None`` rather than guessed:

- ``slots``: the field's JSON schema filled by the embedded slot filler (:func:`pyai.omni.slots.fill`,
  which also fills agents' extraction schemas: dates, times, e-mails, phone numbers, codes,
  numbers, names), from the sentences of the field's speakers that match its ``scope``.
- ``categories``: the category whose cue phrases were said most often (ties: the first said).
- ``phrase``: the phrase a cue pattern captured (group ``v``), from the last sentence with one.
- ``money``: an amount said with a money word ("$50,000", "fifty thousand dollars", "40k", "2.5
  million") in a sentence about budget or spend; the last one said, nearest that word.
- ``decision_maker``: ``"caller"`` when the caller says the decision is theirs; the role they name
  when they must check with someone ("run it by my CFO" → ``"CFO"``); ``"someone else"`` when
  they only say it is not theirs.
- ``meeting``: the date (and time, when said with it) of the last sentence that settles a meeting
  ("I've booked you for…"), else of the last that proposes one, as ``YYYY-MM-DD`` or
  ``YYYY-MM-DDTHH:MM`` (local time as said; no zone); a field of format ``date`` or ``time``
  takes that part alone, from the same sentence.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pyai.omni.slots import fill
from pyai.recap.transcript import Sentence, find, negated
from pyai.text.numerals import to_numerals

if TYPE_CHECKING:
    from pyai.recap.packs import Field

Reader = Callable[["Field", Sequence[Sentence], datetime.date], Any]


def _scoped(field: Field, said: Sequence[Sentence]) -> list[Sentence]:
    return [
        s
        for s in said
        if s.speaker in field.speakers and (not field.scope or any(p.search(s.low) for p in field.scope))
    ]


def read_slots(field: Field, said: Sequence[Sentence], today: datetime.date) -> Any:
    text = "\n".join(s.text for s in _scoped(field, said))
    return fill({"type": "object", "properties": {field.name: dict(field.schema)}}, text, today=today).get(field.name)


def read_categories(field: Field, said: Sequence[Sentence], today: datetime.date) -> str | None:
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, s in enumerate(_scoped(field, said)):
        for value, patterns in field.categories.items():
            hits = sum(1 for p in patterns for m in p.finditer(s.low) if not negated(s.low, m.start()))
            if hits:
                counts[value] = counts.get(value, 0) + hits
                first.setdefault(value, i)
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], first[v]))


def read_phrase(field: Field, said: Sequence[Sentence], today: datetime.date) -> str | None:
    for s in reversed(_scoped(field, said)):
        if m := find(field.patterns, s.low):
            value = (m.groupdict().get("v") or m.group(0)).strip(" ,.")
            return value or None
    return None


_MONEY = re.compile(
    r"(?P<cur>\$)?\s?(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<scale>k|thousand|grand|m|mm|million|mil|bn|billion)?\b\s*(?P<unit>dollars|bucks|usd|euros?|eur|pounds|gbp)?"
)
_SCALES = {"k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "mil": 1e6}
_SCALES |= {"bn": 1e9, "billion": 1e9}


def read_money(field: Field, said: Sequence[Sentence], today: datetime.date) -> int | float | None:
    for s in reversed(_scoped(field, said)):
        norm = to_numerals(s.low)
        cue = next((m for p in field.patterns for m in p.finditer(norm)), None)
        if cue is None:
            continue
        amounts = [
            m for m in _MONEY.finditer(norm) if (m.group("cur") or m.group("scale") or m.group("unit")) and m.group("n")
        ]
        if not amounts:
            continue
        best = min(amounts, key=lambda m: min(abs(m.start() - cue.end()), abs(cue.start() - m.end())))
        value = float(best.group("n").replace(",", "")) * _SCALES.get(best.group("scale") or "", 1)
        return int(value) if value.is_integer() else round(value, 2)
    return None


_ROLE = (
    r"(?P<role>boss|manager|cfo|ceo|cto|coo|cio|founder|owner|partners?|board|business partner|finance(?: team)?"
    r"|procurement|purchasing|legal|it department|director(?: of \w+)?|vp(?: of \w+)?|head of \w+|team lead"
    r"|wife|husband)"
)
_SELF = re.compile(
    r"\b(?:i'm|i am) the (?:decision maker|one who decides|person who decides|one making the decision)"
    r"|\b(?:it's|it is|that's|that is) (?:my|ultimately my) (?:call|decision)"
    r"|\bi (?:make|sign off on) (?:the|those|these|that|this) (?:decisions?|calls?)\b"
    r"|\bi (?:decide|have the final say|sign off)\b"
)
_NOT_SELF = re.compile(
    r"\b(?:i'm|i am) not the (?:decision maker|one who decides|person who decides|one making the decision)"
    r"|\bnot (?:my (?:call|decision)|up to me)\b"
)
_OTHER = (
    re.compile(
        r"\b(?:run (?:it|this|that) by|check with|talk (?:it over )?(?:to|with)|speak (?:to|with)"
        rf"|(?:get|need) (?:approval|sign-?off) from|loop in|ask) (?:my|our|the) {_ROLE}\b"
    ),
    re.compile(rf"\b(?:my|our|the) {_ROLE} (?:makes|decides|has the final say|signs off|will (?:decide|make))\b"),
    re.compile(rf"\b(?:up to|decision for|call for) (?:my|our|the) {_ROLE}\b"),
)
_ACRONYMS = {"cfo", "ceo", "cto", "coo", "cio", "vp", "it"}


def _role(text: str) -> str:
    return " ".join(w.upper() if w in _ACRONYMS else w for w in text.split())


def read_decision_maker(field: Field, said: Sequence[Sentence], today: datetime.date) -> str | None:
    value = None
    for s in _scoped(field, said):  # the last statement wins
        if m := find(_OTHER, s.low):
            value = _role(m.group("role"))
        for m in _SELF.finditer(s.low):
            value = "someone else" if negated(s.low, m.start()) else "caller"
        if _NOT_SELF.search(s.low) and value in (None, "caller"):
            value = "someone else"
    return value


_MEETING_DATE = {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
_MEETING_TIME = {"type": "object", "properties": {"time": {"type": "string", "format": "time"}}}


def _settling_tail(field: Field, s: Sentence) -> str | None:
    """The sentence from its last settling cue on ("…cancelled Tuesday and booked you for Friday"
    → "booked you for Friday"), or None without one."""
    starts = [m.start() for p in field.patterns for m in p.finditer(s.low) if not negated(s.low, m.start())]
    if not starts or len(s.low) != len(s.text):
        return None
    return s.text[max(starts) :]


def read_meeting(field: Field, said: Sequence[Sentence], today: datetime.date) -> str | None:
    """Sentences that settle a meeting (the field's ``patterns``: "I've booked…", "see you…") are
    read first, newest first, from their last cue on; then the rest of its scope: "I'll send the
    invite today" must not make today the meeting. A ``date``/``time`` format field gets that part
    alone."""
    scoped = _scoped(field, said)
    texts = [tail for s in reversed(scoped) if (tail := _settling_tail(field, s))]
    fmt = field.schema.get("format")
    for text in [*texts, *(s.text for s in reversed(scoped))]:
        date = fill(_MEETING_DATE, text, today=today).get("date")
        if date:
            time = fill(_MEETING_TIME, text, today=today).get("time")
            if fmt == "date":
                return date
            if fmt == "time":
                return time
            return f"{date}T{time}" if time else date
    return None


READERS: dict[str, Reader] = {
    "slots": read_slots,
    "categories": read_categories,
    "phrase": read_phrase,
    "money": read_money,
    "decision_maker": read_decision_maker,
    "meeting": read_meeting,
}
