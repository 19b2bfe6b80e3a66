"""Deterministic PII detectors: US social security numbers, payment card numbers, e-mail addresses
and US phone numbers, written as digits or spoken as digit words ("four two four two …", each
digit a word; "forty-two" is not read as digits).

Each detector is a pattern plus a validity check, so that ordinary numbers are left alone:

- ``credit_card``: 13–19 digits (optionally in groups split by single spaces or dashes) that pass
  the Luhn checksum — a random 16-digit number passes only one time in ten, an order number
  almost never looks like a grouped card, and a grouped card followed by more digits (an expiry or
  a security code read in the same breath) is still found, at its group boundaries;
- ``ssn``: ``123-45-6789`` / ``123 45 6789`` with the Social Security Administration's structural
  rules (no area 000, 666 or 9xx, no group 00, no serial 0000); nine bare digits only when
  "social", "SSN", "security number" or "taxpayer" is near, because bare nine-digit numbers are
  mostly something else (ZIP+4, account numbers);
- ``us_phone``: a North American number (area code and exchange start with 2–9), with or without
  ``+1``, brackets, spaces, dots or dashes;
- ``email``: ``name@domain.tld`` and the spoken form ``name at domain dot com``.

Hits never overlap: a card wins over a phone number inside it, an SSN over a phone, and so on.
A hit's :func:`mask` is what evidence may keep (PCI DSS allows at most the last four digits of a
card number to be shown); the raw number never leaves this module in a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyai.trace.text import Doc

PII_KINDS = ("ssn", "credit_card", "email", "us_phone")

#: What a redacted span is replaced with in the spoken text (said as words by the voice).
PLACEHOLDERS = {
    "credit_card": "[redacted card number]",
    "ssn": "[redacted SSN]",
    "email": "[redacted email]",
    "us_phone": "[redacted phone number]",
}
PLACEHOLDER = "[redacted]"  # a phrase or regex rule's match


@dataclass(frozen=True, slots=True)
class Hit:
    """A matched span of a text. ``kind`` is a PII kind, ``"phrase"`` or ``"regex"``; ``digits``
    holds a number's digits (cards, SSNs, phones) for validation and masking."""

    start: int
    end: int
    text: str
    kind: str
    digits: str = ""


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number carries."""
    total, double = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


def _ssn_valid(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _nanp(digits: str) -> str | None:
    """The 10-digit North American number in ``digits`` (optionally led by 1), or None."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789":
        return digits
    return None


#: A stretch of digits with the separators numbers are written with (and a leading + or bracket).
_NUMBERISH = re.compile(r"[+(]?\d[\d ().+-]*")
_DIGITS_ONLY = re.compile(r"\D")
#: Digit groups separated by one space or dash: the candidates for a card number.
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
_SSN_FORMATTED = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(r"(?<!\d)\d{9}(?!\d)")
_SSN_CONTEXT = re.compile(r"\b(?:social|ssn|s\.s\.n\.?|security number|taxpayer)\b", re.IGNORECASE)
_SSN_CONTEXT_CHARS = 60
_PHONE = re.compile(
    r"(?<![\d+])(?:\+?1[ .-]?)?(?:\(\s?([2-9]\d{2})\s?\)\s?|([2-9]\d{2})[ .-]?)([2-9]\d{2})[ .-]?(\d{4})(?!\d)"
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
#: Bounded repeats: a long run of "dot dot dot …" must not make the search quadratic.
_SPOKEN_EMAIL = re.compile(
    r"\b[a-z0-9][a-z0-9._-]{0,63}(?: {1,3}dot {1,3}[a-z0-9_-]{1,63}){0,4} {1,3}at {1,3}[a-z0-9-]{1,63}"
    r"(?: {1,3}dot {1,3}[a-z0-9-]{1,63}){0,3} {1,3}dot {1,3}(?:com|net|org|edu|gov|io|co|us|info|biz|me)\b",
    re.IGNORECASE,
)
DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_DIGIT_WORD_SET = frozenset(DIGIT_WORDS)
_RUN_GAP = re.compile(r"[\s,-]{1,3}")  # what may sit between the words of a spoken number


def _cards(text: str, groups: list[tuple[int, int, str]], out: list[Hit]) -> None:
    """Card numbers among consecutive ``groups`` (start, end, digits): the longest Luhn-valid
    stretch of 13–19 digits that starts and ends on group boundaries, left to right (a group has
    a digit at least, so no stretch spans more than 19 groups: linear in a long run)."""
    i = 0
    while i < len(groups):
        found = None
        for j in range(min(len(groups), i + 19) - 1, i - 1, -1):
            digits = "".join(g[2] for g in groups[i : j + 1])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                found = j
                out.append(Hit(groups[i][0], groups[j][1], text[groups[i][0] : groups[j][1]], "credit_card", digits))
                break
        i = found + 1 if found is not None else i + 1


def _ssn_context(text: str, start: int, end: int) -> bool:
    return _SSN_CONTEXT.search(text, max(0, start - _SSN_CONTEXT_CHARS), end + _SSN_CONTEXT_CHARS) is not None


def _number_hits(text: str, span: re.Match[str], found: list[Hit]) -> None:
    """Cards, SSNs and phones inside one stretch of digits and separators (``span``)."""
    part, base = span.group(), span.start()
    for run in _DIGIT_RUN.finditer(part):
        groups = [
            (base + run.start() + g.start(), base + run.start() + g.end(), g.group())
            for g in _GROUP.finditer(run.group())
        ]
        if sum(len(g[2]) for g in groups) >= 13:
            _cards(text, groups, found)
    for m in _SSN_FORMATTED.finditer(text, span.start(), span.end()):
        digits = m.group(1) + m.group(3) + m.group(4)
        if _ssn_valid(digits):
            found.append(Hit(m.start(), m.end(), m.group(), "ssn", digits))
    for m in _SSN_BARE.finditer(text, span.start(), span.end()):
        if _ssn_valid(m.group()) and _ssn_context(text, m.start(), m.end()):
            found.append(Hit(m.start(), m.end(), m.group(), "ssn", m.group()))
    for m in _PHONE.finditer(text, span.start(), span.end()):
        digits = (m.group(1) or m.group(2)) + m.group(3) + m.group(4)
        found.append(Hit(m.start(), m.end(), m.group(), "us_phone", digits))


def _digit_hits(text: str, found: list[Hit]) -> None:
    """Written numbers: one pass finds the stretches of digits and separators; only those with
    nine digits or more (the fewest any kind has) are examined by the detectors."""
    for span in _NUMBERISH.finditer(text):
        if len(_DIGITS_ONLY.sub("", span.group())) >= 9:
            _number_hits(text, span, found)


def _spoken_digit_hits(doc: Doc, found: list[Hit]) -> None:
    """Numbers read out as digit words ("four two four two …"): each run of such words (separated
    by spaces, commas or dashes, not by a sentence's end) is classified by its digits like a
    written number."""
    tokens, text = doc.tokens, doc.text
    i, n = 0, len(tokens)
    while i < n:
        if tokens[i][0] not in DIGIT_WORDS:
            i += 1
            continue
        j = i
        while (
            j + 1 < n and tokens[j + 1][0] in DIGIT_WORDS and _RUN_GAP.fullmatch(text, tokens[j][2], tokens[j + 1][1])
        ):
            j += 1
        run = tokens[i : j + 1]
        i = j + 1
        if len(run) < 9:
            continue
        groups = [(s, e, DIGIT_WORDS[w]) for w, s, e in run]
        digits = "".join(g[2] for g in groups)
        before = len(found)
        _cards(text, groups, found)
        if len(found) > before:
            continue
        start, end = run[0][1], run[-1][2]
        if len(digits) == 9 and _ssn_valid(digits) and _ssn_context(text, start, end):
            found.append(Hit(start, end, text[start:end], "ssn", digits))
        elif (phone := _nanp(digits)) is not None:
            found.append(Hit(start, end, text[start:end], "us_phone", phone))


_PRIORITY = {"credit_card": 0, "ssn": 1, "us_phone": 2, "email": 3}


def detect(doc: Doc) -> list[Hit]:
    """Every PII hit in ``doc``, non-overlapping (higher-priority kinds win), in text order."""
    text = doc.text
    found: list[Hit] = []
    _digit_hits(text, found)
    if "@" in text:
        found.extend(Hit(m.start(), m.end(), m.group(), "email") for m in _EMAIL.finditer(text))
    if " dot " in doc.lower:
        found.extend(Hit(m.start(), m.end(), m.group(), "email") for m in _SPOKEN_EMAIL.finditer(text))
    if not _DIGIT_WORD_SET.isdisjoint(doc.token_set):
        _spoken_digit_hits(doc, found)
    if len(found) < 2:
        return found
    kept: list[Hit] = []
    for hit in sorted(found, key=lambda h: (_PRIORITY[h.kind], h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


_DIGIT_CHAR = re.compile(r"\d")


def mask(hit: Hit) -> str:
    """What evidence may keep of a hit: numbers reduced to their last four digits, an e-mail to
    its first letter and domain, any digits of a phrase or regex match starred out."""
    if hit.kind == "credit_card":
        return "*" * (len(hit.digits) - 4) + hit.digits[-4:]
    if hit.kind == "ssn":
        return "***-**-" + hit.digits[-4:]
    if hit.kind == "us_phone":
        return "***-***-" + hit.digits[-4:]
    if hit.kind == "email":
        at = hit.text.find("@")
        if at < 0:
            m = re.search(r"\s+at\s+", hit.text, re.IGNORECASE)
            at = m.start() if m else 0
        return hit.text[:1] + "***" + hit.text[at:]
    return _DIGIT_CHAR.sub("*", hit.text)
