"""SSML input → script parts: the common subset voice platforms accept, strictly.

Supported: ``<speak>`` (the root), ``<break time|strength>``, ``<say-as interpret-as [format]>``
(characters, spell-out, telephone, date, cardinal, ordinal, digits), ``<prosody rate>``, ``<p>``,
``<s>``, ``<sub alias>`` and ``<emphasis [level]>`` (its text is read; the engines have no
emphasis). Anything else — another tag, another attribute, a bad value — is a :class:`ScriptError`
naming it and its line, never silently read or skipped, so a caller learns at once that
``<prosody pitch>`` or ``<voice>`` does nothing here. Tags are never read aloud.

Limits: a pause is at most ``MAX_PAUSE_S`` (longer ones are cut to it, as other platforms do);
a prosody rate is 25%-400%; nested rates multiply, and synthesis keeps the request's speed times
the rate within the speed range (``synthesis.pace``).

Parsed with the standard library's expat, which fetches nothing; a document type declaration
(the only way to define entities, and with them "billion laughs" expansion) is refused, and an
undefined entity is a well-formedness error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

from pyai.engines.tts.sentences import speakable
from pyai.speak.parts import Pause, Script, ScriptError, Speech, cap_tokens, spoken
from pyai.text.number_words import digits
from pyai.text.spoken import DATE_FORMATS, say_date_as, say_number, say_ordinal, say_telephone, spell

MAX_PAUSE_S = 10.0
#: The ``<prosody rate>`` an attribute may give.
MIN_RATE, MAX_RATE = 0.25, 4.0
#: ``<break strength>`` → seconds (a sentence's own pause is about "medium").
STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.75, "x-strong": 1.0}
RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "fast": 1.25, "x-fast": 1.5}
EMPHASIS_LEVELS = ("strong", "moderate", "reduced", "none")


#: ``interpret-as`` → reading of the element's text (``format`` is only for dates).
SAY_AS: dict[str, Callable[[str, str | None], str]] = {
    "characters": lambda text, fmt: spell(text),
    "spell-out": lambda text, fmt: spell(text),
    "telephone": lambda text, fmt: say_telephone(text),
    "date": say_date_as,
    "cardinal": lambda text, fmt: say_number(text),
    "ordinal": lambda text, fmt: say_ordinal(text),
    "digits": lambda text, fmt: digits(text),
}
#: Tag → the attributes it takes (``xml:lang``, namespace declarations and ``xsi:`` schema hints
#: are allowed anywhere).
ATTRIBUTES = {
    "speak": {"version"},
    "break": {"time", "strength"},
    "say-as": {"interpret-as", "format"},
    "prosody": {"rate"},
    "p": set(),
    "s": set(),
    "sub": {"alias"},
    "emphasis": {"level"},
}
#: Elements whose content is text only, read by the element rather than as it stands.
_TEXT_ONLY = ("say-as", "sub", "break")
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" +(?=[.,!?;:])")
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*")


def _spoken_layout(text: str) -> str:
    return spoken(" ".join(text.split()))


def is_ssml(text: str) -> bool:
    """Whether ``text`` is meant as SSML: it starts (after spaces) with ``<speak``, or with an XML
    declaration or document type, which are then parsed (and refused) rather than read aloud."""
    return re.match(r"\s*<(?:speak[\s>/]|\?xml|!DOCTYPE)", text, re.IGNORECASE) is not None


@dataclass
class _Element:
    tag: str
    rate: float
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class _Reader:
    """Builds the script while expat walks the document (errors name the line expat is on)."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self._parser = parser
        self.script: Script = []
        self._open: list[_Element] = []
        self._pending: list[tuple[str, bool]] = []  # (text, already spoken form)

    def _error(self, message: str) -> ScriptError:
        return ScriptError(f"SSML line {self._parser.CurrentLineNumber}: {message}")

    @property
    def _rate(self) -> float:
        return self._open[-1].rate if self._open else 1.0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag not in ATTRIBUTES:
            raise self._error(f"<{tag}> is not supported (supported: {', '.join(f'<{t}>' for t in ATTRIBUTES)})")
        if not self._open and tag != "speak":
            raise self._error(f"the root element must be <speak>, not <{tag}>")
        if self._open and tag == "speak":
            raise self._error("<speak> cannot be inside another element")
        if self._open and self._open[-1].tag in _TEXT_ONLY:
            raise self._error(f"<{self._open[-1].tag}> can hold only text, not <{tag}>")
        self._check_attributes(tag, attrs)
        rate = self._rate
        if tag == "break":
            self._flush()
            if (seconds := self._pause(attrs)) > 0:
                self.script.append(Pause(seconds))
        elif tag in ("prosody", "p", "s"):
            self._flush()
            if "rate" in attrs:
                rate = round(rate * self._prosody_rate(attrs["rate"]), 3)
        elif tag == "say-as":
            self._check_say_as(attrs)
        elif tag == "sub" and "alias" not in attrs:
            raise self._error("<sub> needs an alias attribute (the text to say)")
        elif tag == "emphasis" and attrs.get("level", "moderate") not in EMPHASIS_LEVELS:
            raise self._error(f"<emphasis> level={attrs['level']!r} is not one of {', '.join(EMPHASIS_LEVELS)}")
        self._open.append(_Element(tag, rate, attrs))

    def end(self, tag: str) -> None:
        element = self._open.pop()
        if tag == "say-as":
            text = cap_tokens("".join(element.text))
            kind, fmt = element.attrs["interpret-as"], element.attrs.get("format")
            try:
                said = SAY_AS[kind](text, fmt)
            except ValueError as e:
                raise self._error(f'<say-as interpret-as="{kind}">: {e}') from None
            if not said:
                raise self._error(f'<say-as interpret-as="{kind}"> has nothing to read in {text.strip()!r}')
            self._pending.append((said, True))
        elif tag == "sub":
            self._pending.append((element.attrs["alias"], False))
        elif tag in ("prosody", "p", "s", "speak"):
            self._flush(element.rate)

    def text(self, data: str) -> None:
        if self._open and self._open[-1].tag in _TEXT_ONLY:
            if self._open[-1].tag == "break" and data.strip():
                raise self._error("<break> cannot hold text")
            self._open[-1].text.append(data)
        else:
            self._pending.append((data, False))

    def _flush(self, rate: float | None = None) -> None:
        """End the current run of text: it becomes one spoken part (written text normalised, say-as
        readings as they are) at the rate of the element it was in. Line breaks in SSML are layout,
        not sentence ends (those are punctuation, ``<s>`` and ``<p>``), so whitespace becomes a space."""
        pieces: list[str] = []
        written: list[str] = []
        for text, said in self._pending:
            if said:
                pieces += [_spoken_layout("".join(written)), text]
                written = []
            else:
                written.append(text)
        pieces.append(_spoken_layout("".join(written)))
        self._pending = []
        words = _SPACE_BEFORE_PUNCTUATION.sub("", " ".join(p for p in pieces if p))
        if speakable(words):
            self.script.append(Speech(words, self._rate if rate is None else rate))

    def refuse_doctype(self, *_: object) -> None:
        raise self._error("a <!DOCTYPE> is not allowed (it could define entities)")

    def _check_attributes(self, tag: str, attrs: dict[str, str]) -> None:
        for name, value in attrs.items():
            if name == "xml:lang":
                if not value.lower().startswith("en"):
                    raise self._error(f"<{tag}> xml:lang={value!r}: only English (en) can be spoken")
            elif name not in ATTRIBUTES[tag] and not name.startswith(("xmlns", "xsi:")):
                allowed = ", ".join(sorted(ATTRIBUTES[tag])) or "none"
                raise self._error(f"<{tag}> has no attribute {name!r} here (supported: {allowed})")

    def _pause(self, attrs: dict[str, str]) -> float:
        if "time" in attrs:
            m = _DURATION.fullmatch(attrs["time"])
            if m is None:
                raise self._error(f"<break> time={attrs['time']!r} is not a duration like 500ms or 1.5s")
            seconds = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
            return min(seconds, MAX_PAUSE_S)
        strength = attrs.get("strength", "medium")
        if strength not in STRENGTHS:
            raise self._error(f"<break> strength={strength!r} is not one of {', '.join(STRENGTHS)}")
        return STRENGTHS[strength]

    def _prosody_rate(self, value: str) -> float:
        if value in RATES:
            return RATES[value]
        m = _RATE.fullmatch(value)
        rate = float(m.group(1)) / (100 if m.group(2) else 1) if m else 0.0
        if not MIN_RATE <= rate <= MAX_RATE:
            raise self._error(
                f"<prosody> rate={value!r} is not {', '.join(RATES)}, a percentage from 25% to 400% "
                "or a multiplier from 0.25 to 4"
            )
        return rate

    def _check_say_as(self, attrs: dict[str, str]) -> None:
        kind = attrs.get("interpret-as")
        if kind not in SAY_AS:
            raise self._error(f"<say-as> interpret-as={kind!r} is not one of {', '.join(SAY_AS)}")
        fmt = attrs.get("format")
        if fmt is not None and (kind != "date" or fmt not in DATE_FORMATS):
            expected = f"one of {', '.join(DATE_FORMATS)}" if kind == "date" else "only for dates"
            raise self._error(f'<say-as interpret-as="{kind}"> format={fmt!r}: {expected}')


def parse_ssml(text: str) -> Script:
    """The parts an SSML document says; ``ScriptError`` naming the problem and its line."""
    parser = expat.ParserCreate()
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    parser.StartDoctypeDeclHandler = reader.refuse_doctype
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        raise ScriptError(
            f"SSML is not well-formed: {expat.ErrorString(e.code)} (line {e.lineno}, column {e.offset + 1})"
        ) from None
    return reader.script
