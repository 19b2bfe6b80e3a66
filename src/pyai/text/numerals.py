"""Spoken numbers → digits, for the ``numerals`` flag of Hear.

Recognisers write numbers as words ("twenty five dollars"); voice agents want "$25". The
normaliser finds maximal runs of number words and rewrites each run:

- digit sequences concatenate, as in phone numbers and codes: "five five five one two" → "55512"
  ("oh" counts as zero inside such a run);
- cardinals combine with scales: "one hundred and twenty three" → "123",
  "two thousand twenty four" → "2024"; numbers that cannot combine are juxtaposed
  ("nineteen eighty four" → "1984");
- "point" makes decimals ("three point five" → "3.5");
- units after a number: dollars → "$25", "five dollars and fifty cents" → "$5.50",
  cents alone → "$0.50", percent → "10%";
- ordinals: "twenty third" → "23rd"; a lone "first".."twelfth" only after "the" or a month
  ("the second floor" → "the 2nd floor", but "wait a second" stays).

A lone "one" stays a word unless a unit follows ("one of them", but "one dollar" → "$1"),
because it is far more often a pronoun than a quantity.
"""

from __future__ import annotations

import re
from decimal import Decimal

UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
    "sixtieth": 60,
    "seventieth": 70,
    "eightieth": 80,
    "ninetieth": 90,
    "hundredth": 100,
    "thousandth": 1000,
}
LONE_ORDINAL_CONTEXT = {
    "the",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
}
DIGITS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
#: A spoken digit → its keypad key ("oh", and a lone "o", are zero as people read numbers out).
DIGIT_KEYS = {word: str(UNITS.get(word, 0)) for word in DIGITS} | {"o": "0"}
CURRENCY = {"dollar", "dollars", "bucks"}
CENTS = {"cent", "cents"}
NUMBER_WORDS = set(UNITS) | set(TENS) | set(SCALES)

_TOKEN = re.compile(r"\S+")
_EDGE = re.compile(r"^([^\w$%]*)([\w'-]*?)([^\w%]*)$")


def _split(token: str) -> tuple[str, str, str]:
    """(leading punctuation, word, trailing punctuation)."""
    m = _EDGE.match(token)
    return (m.group(1), m.group(2), m.group(3)) if m else ("", token, "")


def _suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _Cardinal:
    """Greedy accumulator for one cardinal number ("two thousand four hundred and six")."""

    def __init__(self) -> None:
        self.total = 0
        self.current = 0
        self.last: str | None = None  # unit | teen | tens | scale
        self.empty = True

    def can_take(self, word: str) -> bool:
        if word in SCALES:
            return not self.empty and self.last != "scale" or (self.last == "scale" and SCALES[word] > 100)
        if word in TENS:
            return self.empty or self.last == "scale"
        if word in UNITS:
            value = UNITS[word]
            if self.empty:
                return True
            if self.last == "tens":
                return 1 <= value <= 9
            return self.last == "scale" and word != "oh"
        return False

    def take(self, word: str) -> None:
        self.empty = False
        if word in SCALES:
            scale = SCALES[word]
            if scale == 100:
                self.current = (self.current or 1) * 100
            else:
                self.total += (self.current or 1) * scale
                self.current = 0
            self.last = "scale"
        elif word in TENS:
            self.current += TENS[word]
            self.last = "tens"
        else:
            self.current += UNITS[word]
            self.last = "teen" if UNITS[word] >= 10 else "unit"

    @property
    def value(self) -> int:
        return self.total + self.current


def _parse_run(words: list[str]) -> str:
    """Digits for a run of number words (no units or punctuation inside)."""
    if len(words) > 1 and all(w in DIGITS for w in words):
        return "".join(str(UNITS[w]) for w in words)
    pieces: list[str] = []
    card = _Cardinal()
    for w in words:
        if w == "and":
            continue
        if not card.can_take(w):
            pieces.append(str(card.value))
            card = _Cardinal()
        card.take(w)
    if not card.empty:
        pieces.append(str(card.value))
    return "".join(pieces)


def _join_digit_lists(parts: list[tuple[str, str, str]]) -> None:
    """Drop the commas inside a read-out digit string ("five, five, five, one, two"): punctuating
    recognisers (Whisper) write the speaker's pauses between digits as commas. Three or more
    digit words, separated by nothing but commas, count; "nine, ten" or "one, two" stay a list."""
    i = 0
    while i < len(parts):
        j = i
        while j < len(parts) and parts[j][1].lower() in DIGITS and not (j > i and parts[j][0]):
            j += 1
            if parts[j - 1][2] not in ("", ","):
                break
        if j - i >= 3 and any(parts[k][2] == "," for k in range(i, j - 1)):
            for k in range(i, j - 1):
                parts[k] = (parts[k][0], parts[k][1], "")
        i = max(j, i + 1)


def to_numerals(text: str) -> str:
    tokens = _TOKEN.findall(text)
    parts = [_split(t) for t in tokens]
    _join_digit_lists(parts)
    out: list[str] = []
    i = 0
    while i < len(parts):
        lead, word, trail = parts[i]
        low = word.lower()
        j, run = i, []
        # A run: number words, "and" between number words, and stops at punctuation.
        while j < len(parts):
            w = parts[j][1].lower()
            if w in NUMBER_WORDS or (
                w == "and"
                and run
                and j + 1 < len(parts)
                and parts[j + 1][1].lower() in NUMBER_WORDS
                and run[-1] in SCALES
            ):
                run.append(w)
                j += 1
                if parts[j - 1][2]:
                    break
            else:
                break
        if not run:
            if low in ORDINALS and i > 0 and parts[i - 1][1].lower() in LONE_ORDINAL_CONTEXT and ORDINALS[low] <= 12:
                out.append(f"{lead}{ORDINALS[low]}{_suffix(ORDINALS[low])}{trail}")
            else:
                out.append(tokens[i])
            i += 1
            continue
        last_trail = parts[j - 1][2]
        nxt = parts[j][1].lower() if j < len(parts) and not last_trail else ""
        # compound ordinal: "twenty third"
        if nxt in ORDINALS and ORDINALS[nxt] < 10 and run[-1] in TENS:
            n = TENS[run[-1]] + ORDINALS[nxt]
            prefix = _parse_run(run[:-1]) if len(run) > 1 else ""
            out.append(f"{lead}{prefix}{n}{_suffix(n)}{parts[j][2]}")
            i = j + 1
            continue
        number = _parse_run(run)
        # decimals: "three point five"
        if nxt == "point" and j + 1 < len(parts) and parts[j + 1][1].lower() in DIGITS:
            k, decimals = j + 1, []
            while k < len(parts) and parts[k][1].lower() in DIGITS:
                decimals.append(str(UNITS[parts[k][1].lower()]))
                k += 1
                if parts[k - 1][2]:
                    break
            number += "." + "".join(decimals)
            last_trail, j = parts[k - 1][2], k
            nxt = parts[j][1].lower() if j < len(parts) and not last_trail else ""
            if nxt in SCALES:  # "two point five million": 2500000, not "2.5 01000000"
                number = format(Decimal(number) * SCALES[nxt], "f").rstrip("0").rstrip(".")
                last_trail, j = parts[j][2], j + 1
                nxt = parts[j][1].lower() if j < len(parts) and not last_trail else ""
        if nxt in CURRENCY:
            text_out, j, last_trail = _money(number, parts, j)
            out.append(f"{lead}{text_out}{last_trail}")
            i = j
            continue
        if nxt in CENTS:
            out.append(f"{lead}${int(number) / 100:.2f}{parts[j][2]}")
            i = j + 1
            continue
        if nxt == "percent":
            out.append(f"{lead}{number}%{parts[j][2]}")
            i = j + 1
            continue
        if (run == ["one"] and number == "1") or (run == ["oh"] and number == "0"):
            out.append(tokens[i])  # a lone "one" is usually a pronoun ("one point five" is not)
            i += 1
            continue
        out.append(f"{lead}{number}{last_trail}")
        i = j
    return " ".join(out)


def _money(dollars: str, parts: list[tuple[str, str, str]], j: int) -> tuple[str, int, str]:
    """'$N' or '$N.CC' for "N dollars [and M cents]"; returns (text, next index, trailing punct)."""
    trail = parts[j][2]
    k = j + 1
    if not trail and k < len(parts) and parts[k][1].lower() == "and":
        m, run = k + 1, []
        while m < len(parts) and parts[m][1].lower() in NUMBER_WORDS:
            run.append(parts[m][1].lower())
            m += 1
            if parts[m - 1][2]:
                break
        if run and m < len(parts) and parts[m][1].lower() in CENTS and not parts[m - 1][2]:
            cents = int(_parse_run(run))
            return f"${dollars}.{cents:02d}", m + 1, parts[m][2]
    return f"${dollars}", k, trail
