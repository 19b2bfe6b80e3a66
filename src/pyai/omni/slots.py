"""Slot filling without a language model: values for a JSON-schema object's properties found in
what a caller said.

The embedded brain has no LLM, yet it must call tools: it fills a tool's ``input_schema`` from
the caller's words, asking for one missing slot at a time (``missing``, ``question``), and a
call's ``extraction_schema`` is filled from the whole transcript the same way. Whisper writes
what it heard, so values arrive as speech: "five five five, one two three four", "a table for
four people at seven thirty tomorrow", "john dot smith at example dot com", "the large one".

The text is prepared once: spoken numbers become digits (``pyai.text.numerals.to_numerals``,
after "twenty-five" is split and "double five" repeated), so every reader below sees "for 4
people at 730". Each reader lists the candidate values it finds and where; candidates the
property's schema rejects (type, enum, minimum/maximum, pattern, maxLength…, checked by
``jsonschema``) are dropped, values said in a question give way to values said otherwise ("Indoor
or outdoor?" / "Outdoor."), and a value is kept only when one remains, or when one is nearest
to a word naming the property ("for four people" for ``party_size``, at most ``_NEAR`` words
apart). Anything else is left out rather than guessed: the brain asks again, an extraction
leaves the field empty.

With ``only`` the brain has just asked for those properties, so the answer may be bare ("four",
"yes", "Tuesday", "John"): a bare number can be a time, a bare "the 5th" a date, and the caller's
last self-correction wins ("four, actually five"). Readings, with the choices made:

- enum of strings: the choice said, case-insensitive, "_"/"-" as spaces, a plural "s" allowed,
  the longest choice winning inside another ("extra large" over "large"); a choice negated
  ("not the small one") does not count, and two choices said is no value.
- integer/number: digits or number words ("two hundred and fifty", "three point five"; "a
  couple" is no number); a lone "one" only in a bare answer or next to a word naming the
  property, as it is usually a pronoun ("the large one"). Numbers that belong to a time, date,
  e-mail or phone number said with them ("at 7", "December 3rd") are not counts.
- boolean: yes/yeah/sure/correct… against no/nope/not/"don't"…; "not sure", "maybe" is neither.
  Without ``only`` a sentence must name the property ("No newsletter, thanks") or ask about it
  with the next sentence answering.
- format date (ISO): today/tonight/tomorrow/yesterday, "in 3 days", weekdays (the next one after
  today; "this Tuesday" on a Tuesday is today), "December 3rd", "the 3rd of December", "3
  December", American "12/03", ISO; a date without a year is the next one from today on. "Help
  you today" and "calling today" are greetings, not dates.
- format time (HH:MM, 24 h): "7:30 pm", "7 pm", "seven thirty" with a cue ("at", am/pm, "in the
  evening"), "half past six", "quarter to eight", "20 past 7", noon/midnight; without am/pm an
  hour 1-6 is afternoon (nobody books a table at 6:30 in the morning), others as said.
- format email: written or spoken ("john dot smith at example dot com", letters spelled one by
  one, "underscore", "dash"), lower-cased.
- phone numbers (format phone/tel, a name with phone/tel/mobile/cell/fax/number, or a pattern
  of digits): digit strings however separated, at least 7 digits (phone-like names and formats),
  only the digits and a leading "+" kept; a digit pattern alone ("zip") lets the pattern decide.
- other strings: a person's name after an explicit cue ("my name is", "name's", "call me";
  "this is" / "I'm" need a capitalised name after them), split into first/last for
  ``first_name``/``last_name``; with ``only`` naming it, the answer itself with fillers
  ("um", "it's", "yeah") stripped, capped at ``maxLength``; never guessed from a transcript.
  Other formats (date-time, uri, …) are not read.

Objects, arrays and ``$ref`` properties are left out: there is no spoken form to read them from.
"""

from __future__ import annotations

import datetime
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from pyai.text.numerals import DIGITS, ORDINALS, TENS, to_numerals
from pyai.text.spoken import MONTHS, full_year, month_number
from pyai.text.words import stem

#: How many words apart a value and a word naming its property may be and still belong together
#: ("for 4 people", "party of 4", "the number of guests will be 4").
_NEAR = 4
#: How far back (characters) a reading looks for the words before it ("not the", "my number is"),
#: so a long transcript costs linear time.
_LOOK = 40


@dataclass(frozen=True)
class _Mention:
    """A candidate value and where it was said (character offsets in ``_Text.norm``)."""

    start: int
    end: int
    value: Any


# --- the text --------------------------------------------------------------------------------

_HYPHENATED_TENS = re.compile(rf"\b({'|'.join(TENS)})-(?=[a-z])", re.IGNORECASE)
_REPEATED_DIGIT = re.compile(rf"\b(double|triple)\s+({'|'.join(DIGITS)}|\d)\b", re.IGNORECASE)
_SPLIT_GMAIL = re.compile(r"\bg[\s-]mail\b", re.IGNORECASE)
#: Where a caller corrects themselves; in a bare answer what follows the last one counts.
_CORRECTION = re.compile(
    r"\b(?:actually|i mean|sorry|no wait|wait|make (?:it|that)|scratch that|change (?:it|that) to|rather|no\s*,)",
    re.IGNORECASE,
)


def _prepare(text: str) -> str:
    """``text`` with number words as digits, line by line so a transcript keeps its lines.
    Recognisers write "twenty-five" and read-outs say "double five", which ``to_numerals`` does
    not know."""
    text = _HYPHENATED_TENS.sub(r"\1 ", text)
    text = _REPEATED_DIGIT.sub(lambda m: " ".join([m.group(2)] * (2 if m.group(1).lower() == "double" else 3)), text)
    text = _SPLIT_GMAIL.sub("gmail", text)
    return "\n".join(to_numerals(line) for line in text.split("\n"))


class _Text:
    """What was said, prepared once for every property."""

    def __init__(self, raw: str, *, bare: bool, today: datetime.date) -> None:
        self.raw = raw
        self.bare = bare
        self.today = today
        self.norm = _prepare(raw)
        # Clause punctuation counts as a word, so "5 of us, room 12" keeps 12 further from "us".
        words = list(re.finditer(r"[^\W_]+|[,;.!?]", self.norm))
        self._starts = [w.start() for w in words]
        self._stems = [stem(w.group()) for w in words]
        corrections = list(_CORRECTION.finditer(self.norm))
        #: Offset in ``norm`` after the caller's last self-correction (0: none).
        self.corrected = corrections[-1].end() if corrections else 0
        questions = list(re.finditer(r"[^.!?\n]+\?", self.norm))
        self._question_starts = [q.start() for q in questions]
        self._question_ends = [q.end() for q in questions]

    def in_question(self, mention: _Mention) -> bool:
        i = bisect_right(self._question_starts, mention.start) - 1
        return i >= 0 and mention.start < self._question_ends[i]

    def _word(self, offset: int) -> int:
        return max(bisect_right(self._starts, offset) - 1, 0)

    def spots(self, keywords: set[str]) -> list[int]:
        """Indexes of the words that are ``keywords`` (stems)."""
        return [i for i, stem in enumerate(self._stems) if stem in keywords]

    def distance(self, mention: _Mention, spots: list[int]) -> float:
        """Words between ``mention`` and the nearest of ``spots`` (ascending; 0 when one is inside
        it, infinite when there are none)."""
        first, last = self._word(mention.start), self._word(mention.end - 1)
        i = bisect_left(spots, first)
        before = first - spots[i - 1] if i else math.inf
        after = max(spots[i] - last, 0) if i < len(spots) else math.inf
        return min(before, after)


# --- choosing among candidates ---------------------------------------------------------------

_STOPWORDS = frozenset(
    "the a an and or of in on at for to by with from is are be your you my our their its this that what which "
    "how many much will would should can do does it as if any".split()
)
#: Words that go with a kind of count though the property's name does not say them.
_SYNONYMS = (
    frozenset("party people person persons guest guests diner diners pax seat seats us group".split()),
    frozenset("child children kid kids".split()),
    frozenset("age old year years".split()),
)


def _words(text: str) -> list[str]:
    """Lower-cased words of a property name or label: "partySize", "party_size" → party, size."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", text)]


def _keywords(name: str, prop: dict[str, Any], *, description: bool = True) -> set[str]:
    """Stems of the words that name a property, with their synonyms."""
    texts = [name, prop.get("title"), prop.get("description") if description else None]
    words = {w for text in texts if isinstance(text, str) for w in _words(text) if w not in _STOPWORDS}
    for group in _SYNONYMS:
        if words & group:
            words |= group
    return {stem(w) for w in words}


def _disjoint(mentions: list[_Mention]) -> list[_Mention]:
    """The longest mentions that do not overlap ("extra large" rather than "large" inside it),
    in the order they were said."""
    kept: list[_Mention] = []  # disjoint and in order, so only the neighbours of a new one can overlap it
    starts: list[int] = []
    for m in sorted(mentions, key=lambda m: (m.start - m.end, m.start)):
        i = bisect_right(starts, m.start)
        if (not i or kept[i - 1].end <= m.start) and (i == len(kept) or m.end <= kept[i].start):
            kept.insert(i, m)
            starts.insert(i, m.start)
    return kept


def _choose(t: _Text, mentions: list[_Mention], keywords: set[str]) -> Any:
    """The one value said, or the one said nearest a word naming the property; else None. A
    caller's last self-correction in a bare answer, and answers over questions, go first."""
    if t.bare and t.corrected:
        mentions = [m for m in mentions if m.start >= t.corrected] or mentions
    # "Indoor or outdoor?" offers values, "Outdoor." picks one.
    mentions = [m for m in mentions if not t.in_question(m)] or mentions
    values = list(dict.fromkeys(m.value for m in mentions))
    if len(values) <= 1:
        return values[0] if values else None
    spots = t.spots(keywords)
    scored = [(t.distance(m, spots), m.value) for m in mentions]
    best = min(d for d, _ in scored)
    winners = list(dict.fromkeys(v for d, v in scored if d == best))
    return winners[0] if best <= _NEAR and len(winners) == 1 else None


# --- enums -----------------------------------------------------------------------------------

_NEGATED = re.compile(r"(?:\bnot|n['’]t(?:\s+want)?|\binstead\s+of|\brather\s+than|\bno)\s+(?:(?:the|a|an)\s+)?$", re.I)


def _choice_pattern(choice: str) -> re.Pattern[str] | None:
    """``choice`` as said: number words as digits, "_"/"-" as spaces, an optional plural ending."""
    words = _prepare(re.sub(r"[_-]+", " ", choice)).lower().split()
    if not words:
        return None
    body = r"[\s_-]+".join(map(re.escape, words))
    if len(words[-1]) > 3 and words[-1].endswith("s"):
        body = rf"{body[:-1]}s?"
    return re.compile(rf"(?<!\w){body}(?:e?s)?(?!\w)", re.IGNORECASE)


def _enum_mentions(t: _Text, prop: dict[str, Any]) -> list[_Mention]:
    mentions = []
    for choice in prop["enum"]:
        if isinstance(choice, str) and (pattern := _choice_pattern(choice)):
            mentions += [
                _Mention(m.start(), m.end(), choice)
                for m in pattern.finditer(t.norm)
                if not _NEGATED.search(t.norm, max(0, m.start() - _LOOK), m.start())
            ]
    return _disjoint(mentions)


# --- numbers ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.:/$-])(?P<sign>-)?\$?(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w/:]|[.,]\d)")
#: A lone "one" (``to_numerals`` keeps it a word), not "one of them".
_ONE = re.compile(r"\bone\b(?!\s+of\b)", re.IGNORECASE)


def _number_value(text: str, negative: bool, integer: bool) -> int | float | None:
    text = text.replace(",", "")
    number: int | float = int(text) if "." not in text else float(text)
    if isinstance(number, float) and integer:
        if not number.is_integer():
            return None
        number = int(number)
    return -number if negative else number


def _masked(text: str, mentions: Iterable[_Mention]) -> str:
    """``text`` with the mentioned spans blanked (same length, so offsets still hold)."""
    chars = list(text)
    for m in mentions:
        chars[m.start : m.end] = " " * (m.end - m.start)
    return "".join(chars)


def _number_mentions(t: _Text, name: str, prop: dict[str, Any]) -> list[_Mention]:
    taken = [*_time_mentions(t, loose=False), *_date_mentions(t, loose=False), *_email_mentions(t)]
    taken += [m for m in _phone_mentions(t, 7) if _said_as_phone(t, m)]
    text = _masked(t.norm, taken)
    integer = _type(prop) == "integer"
    mentions = []
    for m in _NUMBER.finditer(text):
        value = _number_value(m.group("n"), bool(m.group("sign")), integer)
        if value is not None:
            mentions.append(_Mention(m.start(), m.end(), value))
    spots = t.spots(_keywords(name, prop))
    for m in _ONE.finditer(text):
        mention = _Mention(m.start(), m.end(), 1)
        if t.bare or t.distance(mention, spots) <= _NEAR:
            mentions.append(mention)
    return mentions


# --- dates -----------------------------------------------------------------------------------

_MONTH = rf"(?P<mon>{'|'.join(MONTHS)}|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?"
_ORDINAL_DAY = "|".join(sorted((w for w, n in ORDINALS.items() if n <= 31), key=len, reverse=True))
_DAY = rf"(?:(?P<d>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dw>{_ORDINAL_DAY}))\b"
_YEAR = r"(?:,?\s+(?P<y>(?:19|20)\d\d)\b)?"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}", re.IGNORECASE)
_SLASH_DATE = re.compile(r"(?<![\w/.])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\w/]|\.\d)")
_ISO_DATE = re.compile(r"(?<![\w-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\w-])")
_DAY_ONLY = re.compile(rf"\bthe\s+(?:(?P<d>\d{{1,2}})(?:st|nd|rd|th)|(?P<dw>{_ORDINAL_DAY}))\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\b(?P<rel>(?:the\s+)?day\s+after\s+tomorrow|tomorrow|today|tonight|yesterday)\b"
    r"|\bin\s+(?P<n>\d{1,3}|a|one)\s+(?P<unit>days?|weeks?)\b",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(rf"\b(?:(?P<which>next|this|coming)\s+)?(?P<wd>{'|'.join(_WEEKDAYS)})\b", re.IGNORECASE)
#: "How can I help you today?", "thanks for calling today": no date is meant.
_GREETING_TODAY = re.compile(r"\b(?:you|calling|call)\s+today$", re.IGNORECASE)
_AFTER_WEEKDAY = re.compile(rf"\b(?:{'|'.join(_WEEKDAYS)})\s*,?\s*$", re.IGNORECASE)
_BETWEEN_WEEKDAY_AND_DATE = re.compile(r"[\s,]*(?:the\s+)?", re.IGNORECASE)


def _date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _next_date(today: datetime.date, month: int, day: int) -> datetime.date | None:
    """``month``/``day`` in this year, or the next if it has passed (a booking is ahead)."""
    this_year = _date(today.year, month, day)
    return this_year if this_year and this_year >= today else _date(today.year + 1, month, day)


def _day_number(m: re.Match[str]) -> int:
    return int(m.group("d")) if m.group("d") else ORDINALS[m.group("dw").lower()]


def _read_month_date(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    month, day = month_number(m.group("mon")), _day_number(m)
    return _date(int(m.group("y")), month, day) if m.group("y") else _next_date(today, month, day)


def _read_numeric_date(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    month, day = int(m.group("m")), int(m.group("d"))
    return _date(full_year(m.group("y")), month, day) if m.group("y") else _next_date(today, month, day)


def _read_day_only(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    """The next date with that day of the month (looking two months on, for "the 31st")."""
    day = _day_number(m)
    for ahead in range(3):
        year, month = divmod(today.month - 1 + ahead, 12)
        found = _date(today.year + year, month + 1, day)
        if found and found >= today:
            return found
    return None


def _read_relative(m: re.Match[str], today: datetime.date) -> datetime.date:
    if m.group("unit"):
        count = int(m.group("n")) if m.group("n").isdigit() else 1
        return today + datetime.timedelta(days=count * (7 if m.group("unit").lower().startswith("week") else 1))
    word = m.group("rel").lower()
    offset = 2 if "after" in word else {"tomorrow": 1, "yesterday": -1}.get(word, 0)
    return today + datetime.timedelta(days=offset)


def _read_weekday(m: re.Match[str], today: datetime.date) -> datetime.date:
    ahead = (_WEEKDAYS.index(m.group("wd").lower()) - today.weekday()) % 7
    if ahead == 0 and (m.group("which") or "").lower() != "this":
        ahead = 7
    return today + datetime.timedelta(days=ahead)


_EXPLICIT_DATES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], datetime.date], datetime.date | None]], ...] = (
    (_MONTH_DAY, _read_month_date),
    (_DAY_MONTH, _read_month_date),
    (_SLASH_DATE, _read_numeric_date),
    (_ISO_DATE, lambda m, _: _date(int(m.group("y")), int(m.group("m")), int(m.group("d")))),
)


def _date_mentions(t: _Text, loose: bool) -> list[_Mention]:
    """Dates said; ``loose`` (a bare answer) also takes a day alone ("the 5th"), which elsewhere
    counts only after a weekday ("Tuesday the 5th")."""
    found = [
        _Mention(m.start(), m.end(), d.isoformat())
        for pattern, read in _EXPLICIT_DATES
        for m in pattern.finditer(t.norm)
        if (d := read(m, t.today))
    ]
    found += [
        _Mention(m.start(), m.end(), d.isoformat())
        for m in _DAY_ONLY.finditer(t.norm)
        if (loose or _AFTER_WEEKDAY.search(t.norm, max(0, m.start() - _LOOK), m.start()))
        and (d := _read_day_only(m, t.today))
    ]
    explicit = _disjoint(found)
    weekdays = [
        _Mention(m.start(), m.end(), _read_weekday(m, t.today).isoformat())
        for m in _WEEKDAY.finditer(t.norm)
        # "Tuesday, December 3rd": the date says which Tuesday.
        if not any(_BETWEEN_WEEKDAY_AND_DATE.fullmatch(t.norm, m.end(), e.start) for e in explicit)
    ]
    relative = [
        _Mention(m.start(), m.end(), _read_relative(m, t.today).isoformat())
        for m in _RELATIVE.finditer(t.norm)
        if not _GREETING_TODAY.search(t.norm, max(0, m.start() - _LOOK), m.end())
    ]
    return _disjoint(explicit + weekdays + relative)


# --- times -----------------------------------------------------------------------------------

_HOUR = r"(?P<h>\d{1,2}|one)"
_MERIDIEM = r"(?:\s*(?P<mer>[ap]\.?\s?m\b\.?|in\s+the\s+(?:morning|afternoon|evening)|at\s+night|tonight))"
_AT = r"(?P<at>\b(?:at|around)\s+)"
_OCLOCK = r"\s*o['’]?\s?clock"
_TIMES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"{_AT}?(?<![\w:.])(?P<h>\d{{1,2}})(?P<sep>[:.])(?P<m>\d{{2}})(?![\d:]|\.\d){_MERIDIEM}?(?!\w)",
        rf"{_AT}?(?<![\w:.]){_HOUR}(?:{_OCLOCK})?{_MERIDIEM}(?!\w)",
        rf"{_AT}?(?<![\w:.]){_HOUR}{_OCLOCK}{_MERIDIEM}?(?!\w)",
        rf"{_AT}?(?<![\w:.$])(?P<hm>\d{{3,4}}){_MERIDIEM}?(?!\w|[.:]\d)",
        rf"(?<!\w)(?:a\s+)?(?P<past>half|quarter|\d{{1,2}})(?:\s+minutes?)?\s+(?:past|after)\s+{_HOUR}{_MERIDIEM}?(?!\w)",
        rf"(?<!\w)(?:a\s+)?(?P<to>quarter|\d{{1,2}}\s+minutes?)\s+(?:to|till|til|before|of)\s+{_HOUR}{_MERIDIEM}?(?!\w)",
        r"(?<!\w)(?:12\s*)?(?P<word>noon|midday|midnight)(?!\w)",
        rf"{_AT}{_HOUR}{_MERIDIEM}?(?!\w|[.:]\d|\s*(?:%|percent\b))",
    )
)
#: A number alone, a time only in a bare answer to "what time?" ("7", "730" from "seven thirty").
_BARE_TIME = re.compile(r"(?<![\w:.$])(?P<hm>\d{3,4})(?!\w|[.:]\d)|(?<![\w:.$])(?P<h>\d{1,2}|one)(?!\w|[.:]\d)", re.I)


def _clock(hour_text: str, hour: int, minute: int, meridiem: str | None) -> str | None:
    """The time as HH:MM, or None when there is no such time. Without am/pm an hour 1-6 said on a
    12-hour clock (no leading zero) is afternoon."""
    if not 0 <= minute <= 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif 1 <= hour <= 6 and not hour_text.startswith("0"):
        hour += 12
    return f"{hour:02d}:{minute:02d}" if 0 <= hour <= 23 else None


def _minutes(text: str) -> int:
    word = text.split()[0].lower()
    return {"half": 30, "quarter": 15}.get(word) or int(word)


def _read_time(m: re.Match[str], cue_needed: bool) -> str | None:
    g = m.groupdict()
    said = (g.get("mer") or "").lower()
    meridiem = ("am" if said.startswith("a") or "morning" in said else "pm") if said else None
    if g.get("word"):
        return "00:00" if g["word"].lower() == "midnight" else "12:00"
    cued = bool(g.get("at") or meridiem)
    if g.get("hm"):
        hour_text = g["hm"][:-2]
        return _clock(hour_text, int(hour_text), int(g["hm"][-2:]), meridiem) if cued or not cue_needed else None
    if g.get("sep") == "." and not cued:
        return None  # "3.50" is a price, "at 7.30" a time
    hour_text = g["h"]
    hour, minute = (1 if hour_text.lower() == "one" else int(hour_text)), int(g.get("m") or 0)
    if g.get("past"):
        minute = _minutes(g["past"])
    elif g.get("to"):
        hour, minute = (hour - 1 or 12), 60 - _minutes(g["to"])
    return _clock(hour_text, hour, minute, meridiem)


def _time_mentions(t: _Text, loose: bool) -> list[_Mention]:
    found = _disjoint(
        [
            _Mention(m.start(), m.end(), value)
            for pattern in _TIMES
            for m in pattern.finditer(t.norm)
            if (value := _read_time(m, cue_needed=True))
        ]
    )
    if loose and not found:
        found = [
            _Mention(m.start(), m.end(), value)
            for m in _BARE_TIME.finditer(t.norm)
            if (value := _read_time(m, cue_needed=False))
        ]
    return found


# --- e-mail and phone numbers ----------------------------------------------------------------

#: "john.smith", or letters spelled one by one ("j o h n"), read from the first of them only: a
#: run of single letters is otherwise re-read from each of its letters.
_LOCAL_WORD = r"(?:(?<!\b\w\s)[a-z0-9](?:\s+[a-z0-9]\b)+|[a-z0-9][\w+]*(?:[.-][\w+]+)*)"
#: Spoken only: a written one is part of a word above (both would split "a.b-c" every which way).
_LOCAL_SEPARATOR = r"\s+(?:dot|period|underscore|dash|hyphen)\s+"
_EMAIL = re.compile(
    rf"(?<![\w.@+-])(?P<local>{_LOCAL_WORD}(?:{_LOCAL_SEPARATOR}{_LOCAL_WORD}){{0,8}})(?:\s+at\s+|\s*@\s*)"
    r"(?P<domain>[a-z0-9-]+(?:(?:\s+dot\s+|\.)[a-z0-9-]+){1,8})",
    re.IGNORECASE,
)
_SPOKEN_SYMBOLS = {"dot": ".", "period": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
_EMAIL_ADDRESS = re.compile(r"[a-z0-9](?:[a-z0-9_%+-]|\.(?!\.))*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")


def _written_address(spoken: str) -> str:
    words = re.sub(r"\s+(dot|period|underscore|dash|hyphen)\s+", lambda m: _SPOKEN_SYMBOLS[m.group(1)], spoken)
    return re.sub(r"\s+", "", words)


def _email_mentions(t: _Text) -> list[_Mention]:
    found = []
    for m in _EMAIL.finditer(t.norm):
        address = f"{_written_address(m.group('local'))}@{_written_address(m.group('domain'))}".lower()
        if _EMAIL_ADDRESS.fullmatch(address):
            found.append(_Mention(m.start(), m.end(), address))
    return found


_PHONE = re.compile(r"(?<![\w+])(?P<plus>\+\s*|\bplus\s+)?(?P<body>\(?\d(?:[\d().\- ]*\d)?)(?!\w)", re.IGNORECASE)
_PHONE_CUE = re.compile(r"\b(?:phone|number|cell|mobile|call|reach|contact|tel|telephone|fax|text)\b\D{0,25}$", re.I)


def _phone_mentions(t: _Text, min_digits: int) -> list[_Mention]:
    found = []
    for m in _PHONE.finditer(t.norm):
        digits = re.sub(r"\D", "", m.group("body"))
        if min_digits <= len(digits) <= 15:
            found.append(_Mention(m.start(), m.end(), ("+" if m.group("plus") else "") + digits))
    return found


def _said_as_phone(t: _Text, mention: _Mention) -> bool:
    """A long digit string that is a phone number rather than a count ("1500000" from "one
    million five hundred thousand"): written like one, or said after "number", "call me at"…"""
    said = t.norm[mention.start : mention.end]
    return (
        not said.isdigit()
        or said.startswith("0")
        or bool(_PHONE_CUE.search(t.norm, max(0, mention.start - _LOOK), mention.start))
    )


# --- yes and no ------------------------------------------------------------------------------

_UNSURE = re.compile(r"\b(?:not\s+sure|unsure|(?:don['’]?t|do\s+not)\s+know|dunno|maybe|perhaps|no\s+idea)\b")
_NEGATIVE_PHRASE = re.compile(
    r"\b(?:(?:of\s+course|absolutely|definitely|certainly)\s+not|not\s+(?:really|at\s+all|(?:\w+\s+)?"
    r"(?:correct|right|true|okay|ok|good)))\b"
)
_POSITIVE_PHRASE = re.compile(
    r"\b(?:no\s+(?:problem|worries)|not\s+a\s+problem|why\s+not|(?:don['’]?t|do\s+not)\s+mind|of\s+course|"
    r"sounds\s+good|go\s+ahead|please\s+do|that['’]?s\s+right|i\s+(?:do|would|will)\b(?!\s+not)|uh\s+huh|mm\s+hmm|mhm)\b"
)
_NEGATIVE_WORD = re.compile(r"\b(?:no|nope|nah|never|negative|incorrect|wrong|false|not|cannot|\w+n['’]t)\b")
_POSITIVE_WORD = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|sure|correct|right|absolutely|definitely|certainly|ok|okay|affirmative|true|"
    r"indeed|exactly)\b"
)


def _polarity(text: str) -> bool | None:
    """True for a yes, False for a no, None for neither, both, or "not sure"."""
    text = text.lower()
    if _UNSURE.search(text):
        return None
    text, negative = _NEGATIVE_PHRASE.subn(" ", text)
    text, positive = _POSITIVE_PHRASE.subn(" ", text)
    negative += len(_NEGATIVE_WORD.findall(text))
    positive += len(_POSITIVE_WORD.findall(text))
    return None if bool(positive) == bool(negative) else bool(positive)


#: Words of a boolean's name that say nothing about what it is ("wants_callback", "is_member").
_BOOLEAN_FILLER = frozenset(
    "is has have wants want needs need would like did does do can should will was were are requested request "
    "requires require prefers prefer opted opt".split()
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _boolean(t: _Text, name: str, prop: dict[str, Any]) -> bool | None:
    if t.bare:
        after = _polarity(t.norm[t.corrected :]) if t.corrected else None
        return after if after is not None else _polarity(t.norm)
    keywords = _keywords(name, prop, description=False) - {stem(w) for w in _BOOLEAN_FILLER}
    sentences = [s for s in _SENTENCE.split(t.norm) if s.strip()]
    found = set()
    for i, sentence in enumerate(sentences):
        if keywords & {stem(w) for w in re.findall(r"[^\W_]+", sentence)}:
            asked = sentence.rstrip().endswith("?") and i + 1 < len(sentences)
            if (answer := _polarity(sentences[i + 1] if asked else sentence)) is not None:
                found.add(answer)
    return found.pop() if len(found) == 1 else None


# --- names and other strings -----------------------------------------------------------------

_PERSON_NAME = frozenset("name firstname lastname fullname surname forename".split())
_NAME_QUALIFIER = frozenset(
    "first last full given family middle caller customer contact guest patient client user person your the of".split()
)
_STRONG_NAME_CUE = re.compile(
    r"\b(?:my\s+(?:(?:full|first|last)\s+)?name\s+is|my\s+name['’]s|(?:the\s+)?name\s+is|name['’]s|call\s+me"
    r"|name\s*:)\s*",
    re.IGNORECASE,
)
#: "This is Sarah", "I'm John", but not "this is great", "I'm calling about…": a capital must follow.
_WEAK_NAME_CUE = re.compile(r"\b(?:this\s+is|i['’]m|i\s+am)\s+", re.IGNORECASE)
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_NOT_A_NAME = frozenset(
    "and from with calling here speaking please thanks thank but so at on my the a an to for is was how who what "
    "again hi hello just i it that yes no yeah okay ok sorry not sure maybe we you why can could would do don't "
    "i'm i'd it's well still going looking trying interested afraid fine good".split()
) | frozenset(_WEEKDAYS)
_PARTICLES = frozenset("de van von da del der di du la le bin al st".split())
_FILLER = re.compile(r"\b(?:u+m+|u+h+|e+r+m*|a+h+|h+m+|m+h*m+)\b[,.]?\s*", re.IGNORECASE)
_ACKNOWLEDGEMENT = re.compile(
    r"^(?:(?:yes|yeah|yep|sure|okay|ok|well|so|oh|right|alright|all\s+right)\b[\s,.!]*)+", re.IGNORECASE
)
_IT_IS = re.compile(r"^(?:it['’]s|it\s+is|that['’]s|that\s+is|(?:it|that)\s+would\s+be|it['’]ll\s+be)\s+", re.I)
_COURTESY = re.compile(r"(?:[\s,]*\b(?:please|thanks|thank\s+you)\b[\s,.!]*)+$", re.IGNORECASE)


def _name_part(name: str) -> str | None:
    """Which part of a person's name property ``name`` holds: "first", "last" or "full"
    ("caller_name"); None when it is not a person's name ("company_name", "username")."""
    words = set(_words(name))
    if not words & _PERSON_NAME or not words <= _PERSON_NAME | _NAME_QUALIFIER:
        return None
    if words & {"first", "given", "firstname", "forename"}:
        return "first"
    if words & {"last", "family", "surname", "lastname"}:
        return "last"
    return "full"


def _spoken_name(text: str, start: int, capital_needed: bool) -> list[str]:
    """The words of the name said from ``start`` on: at most four, ending at punctuation, at a
    word no name is, or, when the name is capitalised, at a lower-case word ("John Smith and")."""
    words: list[str] = []
    for token in text[start:].split():
        word = token.strip('"“”‘’()')
        core = word.rstrip(".,!?;:")
        if len(words) == 4 or not _NAME_WORD.fullmatch(core) or core.lower() in _NOT_A_NAME:
            break
        if words and words[0][0].isupper() != core[0].isupper() and core.lower() not in _PARTICLES:
            break
        if not words and capital_needed and not core[0].isupper():
            break
        words.append(core)
        if core != word and not (len(core) == 1 and word == core + "."):  # an initial ("J.") goes on
            break
    while len(words) > 1 and words[-1].lower() in _PARTICLES:  # "Ludwig van", but "Al" is a name
        words.pop()
    return words


def _cleaned(text: str) -> str:
    """A bare answer without its fillers, acknowledgement and courtesy ("Um, yeah, it's the red
    one, thanks" → "the red one")."""
    text = " ".join(_FILLER.sub("", text).split())
    text = _IT_IS.sub("", _ACKNOWLEDGEMENT.sub("", text))
    return _COURTESY.sub("", text).strip(" \t,.;:!\"'")


def _person_name(t: _Text, part: str) -> str | None:
    names = [_spoken_name(t.raw, m.end(), False) for m in _STRONG_NAME_CUE.finditer(t.raw)]
    cased = any(c.isupper() for c in t.raw)  # a recogniser that writes capitals writes them for names
    names += [_spoken_name(t.raw, m.end(), cased) for m in _WEAK_NAME_CUE.finditer(t.raw)]
    said = list(dict.fromkeys(" ".join(words) for words in names if words))
    if not said and t.bare:
        correction = list(_CORRECTION.finditer(t.raw))
        answer = _cleaned(t.raw[correction[-1].end() :] if correction else "") or _cleaned(t.raw)
        said = [" ".join(_spoken_name(answer, 0, False))]
    if len(said) != 1 or not said[0]:
        return None
    words = said[0].split()
    if part == "first":
        return words[0]
    if part == "last":
        return words[-1] if len(words) > 1 or t.bare else None
    return said[0]


def _capped(text: str, max_length: Any) -> str:
    """``text`` cut to ``max_length`` characters, at a word boundary when one is inside the limit."""
    if not isinstance(max_length, int) or len(text) <= max_length:
        return text
    cut = text[:max_length]
    if not text[max_length].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-")


# --- properties ------------------------------------------------------------------------------

_PHONE_FORMATS = frozenset({"phone", "phone-number", "tel", "telephone"})
_PHONE_WORDS = frozenset("phone telephone tel mobile cell cellphone fax phonenumber".split())
#: A string property named like these holds a code read out digit by digit ("order_number",
#: "account_no", "zip"); a bare "number" is a phone number.
_CODE_WORDS = frozenset("number no num id code pin zip postcode account reference ref confirmation tracking".split())


def _type(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _digit_pattern(pattern: Any) -> bool:
    """Whether a ``pattern`` allows only digits and punctuation ("^\\+?[0-9]{7,15}$", "^\\d{5}$")."""
    if not isinstance(pattern, str) or not re.search(r"\\d|\[[^\]]*0-9", pattern):
        return False
    return not re.search(r"[A-Za-z]", re.sub(r"\\d|0-9|1-9", "", pattern))


def _kind(name: str, prop: dict[str, Any]) -> str | None:
    """How property ``prop`` is read from speech; None for what is never read."""
    if "$ref" in prop:
        return None
    kind = _type(prop)
    if kind in ("integer", "number", "boolean"):
        return kind if kind == "boolean" else "number"
    if kind not in ("string", None):
        return None
    if any(isinstance(c, str) for c in prop.get("enum") or ()):
        return "enum"
    if kind is None:
        return None
    fmt = prop.get("format")
    if fmt in ("date", "time"):
        return fmt
    if fmt in ("email", "idn-email"):
        return "email"
    words = set(_words(name))
    if fmt in _PHONE_FORMATS or (not fmt and (words & _PHONE_WORDS or words == {"number"})):
        return "phone"
    if not fmt and (_digit_pattern(prop.get("pattern")) or (words & _CODE_WORDS and not prop.get("pattern"))):
        return "digits"
    return None if fmt else "string"


def _valid(prop: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` meets ``prop`` (formats are met by how each value is written here). A
    ``$ref`` inside ``prop`` points into the whole schema, out of reach here: no value is sure."""
    try:
        return Draft202012Validator(prop).is_valid(value)
    except Unresolvable:
        return False


def _string(t: _Text, name: str, prop: dict[str, Any], whole: bool) -> str | None:
    part = _name_part(name)
    if part:
        value = _person_name(t, part)
    elif whole:
        value = _cleaned(t.raw)
        value = None if not value or t.raw.rstrip().endswith("?") else value  # a question is no answer
    else:
        value = None
    return _capped(value, prop.get("maxLength")) if value else None


_MENTIONS: dict[str, Callable[[_Text, str, dict[str, Any]], list[_Mention]]] = {
    "enum": lambda t, name, prop: _enum_mentions(t, prop),
    "number": _number_mentions,
    "date": lambda t, name, prop: _date_mentions(t, loose=t.bare),
    "time": lambda t, name, prop: _time_mentions(t, loose=t.bare),
    "email": lambda t, name, prop: _email_mentions(t),
    "phone": lambda t, name, prop: _phone_mentions(t, 7),
    "digits": lambda t, name, prop: _phone_mentions(t, 1),
}


def _value(t: _Text, name: str, prop: dict[str, Any], whole: bool) -> Any:
    kind = _kind(name, prop)
    if kind is None:
        return None
    if kind == "boolean":
        value = _boolean(t, name, prop)
    elif kind == "string":
        value = _string(t, name, prop, whole)
    else:
        keywords = _keywords(name, prop)
        if kind == "enum":  # a description listing the choices must not pull towards them all
            keywords -= {stem(w) for c in prop["enum"] if isinstance(c, str) for w in _words(c)}
        mentions = [m for m in _MENTIONS[kind](t, name, prop) if _valid(prop, m.value)]
        return _choose(t, mentions, keywords)
    return value if value is not None and _valid(prop, value) else None


def fill(
    schema: dict[str, Any], text: str, *, only: Iterable[str] | None = None, today: datetime.date | None = None
) -> dict[str, Any]:
    """Values for the properties of object schema ``schema`` found in ``text`` (a caller's
    utterance or a call's transcript), in schema order; a property with no single valid value
    is left out.

    ``only`` restricts to those property names: the brain has just asked for them, so the answer
    may be bare ("four", "yes", "Tuesday", "John"), and a plain string property that is the only
    one asked for takes the answer itself. ``today`` anchors relative dates (default: the local
    date)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not text.strip():
        return {}
    asked = None if only is None else set(only)
    t = _Text(text, bare=asked is not None, today=today or datetime.date.today())
    plain = [n for n in asked or () if isinstance(properties.get(n), dict) and _kind(n, properties[n]) == "string"]
    values = {}
    for name, prop in properties.items():
        if isinstance(prop, dict) and (asked is None or name in asked):
            value = _value(t, name, prop, whole=plain == [name])
            if value is not None:
                values[name] = value
    return values


def missing(schema: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Required properties of ``schema`` with no value yet (absent, None or ""), in the order the
    schema lists its properties, so the brain asks in the order the tool's author wrote them."""
    required = [r for r in schema.get("required") or () if isinstance(r, str)]
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    ordered = [n for n in properties if n in required] + [n for n in required if n not in properties]
    return [n for n in dict.fromkeys(ordered) if values.get(n) is None or values.get(n) == ""]


# --- asking ----------------------------------------------------------------------------------

_SPELLED_OUT = {"qty": "quantity", "dob": "date of birth", "tel": "phone", "addr": "address", "num": "number"}
#: A one-word name said in full: "What is your phone?" is not how anyone asks.
_ONE_WORD_NAMES = {"phone": "phone number", "tel": "phone number", "mobile": "mobile number", "email": "email address"}
_SOMEONES = re.compile(r"^(?:the\s+)?(?:caller|customer|user|client|guest|patient|person|contact)['’]s\s+", re.I)


def _humanised(name: str) -> str:
    """A property name as words: "partySize" → "party size", "num_guests" → "number of guests"."""
    words = _words(name)
    if len(words) == 1 and words[0] in _ONE_WORD_NAMES:
        return _ONE_WORD_NAMES[words[0]]
    words = [_SPELLED_OUT.get(w, w) for w in words]
    if len(words) > 1 and words[0] in ("number", "count") and words[1] != "of":
        words.insert(1, "of")
    return " ".join(words)


def _label(name: str, prop: dict[str, Any]) -> str:
    """What to call a property aloud: its title, else the head of its description ("Number of
    guests, 1-20" → "number of guests"), else its name; said to the caller ("the caller's email" →
    "your email")."""
    for text in (prop.get("title"), prop.get("description")):
        if isinstance(text, str) and text.strip():
            head = re.split(r"\s*[(;:]|,\s|\.\s|\.$|\s+e\.g\.", text.strip(), maxsplit=1)[0].strip()
            if head and len(head.split()) <= 8:
                label = head if head.split()[0].isupper() and len(head.split()[0]) > 1 else head[0].lower() + head[1:]
                return _SOMEONES.sub("your ", label)
    return _humanised(name)


def _spoken_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def question(schema: dict[str, Any], name: str) -> str:
    """A short spoken question asking for property ``name``: its description when that is a
    question already, else one built from its label, reading out enum choices ("Which size would
    you like: small, medium or large?")."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    prop = properties.get(name) if isinstance(properties.get(name), dict) else {}
    asked = next(
        (
            s.strip()
            for s in (prop.get("description"), prop.get("title"))
            if isinstance(s, str) and s.strip().endswith("?")
        ),
        None,
    )
    label = _label(name, prop)
    choices = [" ".join(re.split(r"[_-]+", c)).strip() for c in prop.get("enum") or () if isinstance(c, str)]
    if choices:
        return f"{asked[:-1] if asked else f'Which {label} would you like'}: {_spoken_list(choices)}?"
    if asked:
        return asked
    if _type(prop) == "boolean":
        return f"{label[0].upper()}{label[1:]}: yes or no?"
    if count := re.match(r"(?:the\s+)?(?:number|count)\s+of\s+(.+)", label, re.IGNORECASE):
        return f"How many {count.group(1)}?"
    if prop.get("format") in ("date", "time") and not re.match(r"(?:the|your|a|an)\b", label, re.IGNORECASE):
        return f"What {label} would you like?"
    verb = "are" if re.search(r"[^su]s$", label) else "is"  # "What are your notes?"
    return (
        f"What {verb} {label}?"
        if re.match(r"(?:the|your|a|an)\b", label, re.IGNORECASE)
        else f"What {verb} your {label}?"
    )
