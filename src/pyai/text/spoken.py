"""Written English → what a voice agent should say: ``to_spoken("$5 at 4:15 PM")`` is
"five dollars at four fifteen p m".

The TTS engines read text naively ("example.com" comes out "example come", "Dr. Smith" is split
into two sentences at the full stop), so every speech request is normalised here first, whatever
engine then speaks it. The rewriting is pure and deterministic: a list of patterns applied in
order, each turning what it matches into words without digits, so no later pattern reads its
output again. Sentence punctuation is kept (a sentence ending "example.com." still ends), and an
abbreviation's full stop stays only where it also ends the sentence ("Dr. Smith" → "Doctor
Smith", "on Main St. Then" → "on Main Street. Then").

Readings, in the order they are tried, with the choices made where writing is ambiguous:

- e-mail addresses and web addresses: symbols by name, a pause before the "at" of an e-mail
  address ("jane.doe@example.com" → "jane dot doe, at example dot com": run on, Whisper tiny.en
  often lost the "at" or merged it into the name), "www" letter by letter, the scheme ("https://")
  and a trailing slash dropped, digits one by one. A bare domain needs a common top-level domain
  (.com, .dev, …), so "e.g" or "file.txt" are not addresses.
- phone numbers: digit by digit, a long pause (a semicolon: every engine ends a phrase there)
  between the groups as written, "+" read "plus" ("+1 (415) 555-0123" → "plus one; four one five;
  five five five; zero one two three"); forms: "+"-international, "(415) 555-0123",
  "415-555-0123", "415.555.0123" and local "555-0123" (hyphen only: "555.0123" is a decimal). An
  extension ("ext. 12", "x12", "extension 12") is read digit by digit, as are all identifiers.
- dates: month/day and month/day/year are American ("3/14" → "March fourteenth"; "1/2" is
  January second, not a half — dates are far more common on calls); ISO "2026-03-14"; "March 14,
  2026". A two-digit year is 20xx below 70, else 19xx. Impossible dates stay as written.
- times: "4:15 PM" → "four fifteen p m", "9:05" → "nine oh five", "10:00" → "ten o'clock",
  "14:00" → "fourteen hundred", "4pm" → "four p m"; 12:00 PM/AM are "noon"/"midnight" (the
  clock reading is ambiguous on a call). "16:9" is not a time (minutes take two digits).
- money: $, €, £ and ¥ before an amount ("$1,234.50" → "one thousand two hundred thirty-four
  dollars and fifty cents", "$0.99" → "ninety-nine cents", "$2.5 million" → "two point five
  million dollars"); more than two decimals read as a decimal ("$0.125" → "zero point one two
  five dollars"). A symbol after the amount ("5€") is not read.
- percentages ("12.5%" → "twelve point five percent") and units after a number, singular only
  for exactly 1 ("5 km", "1 ft" → "one foot", "72°F" → "seventy-two degrees Fahrenheit", "100 mph",
  "5 GB"). Symbols that are common words ("m", "in", "h") are not units: "10 m" is left alone.
- abbreviations: titles before a capitalised name ("Mr.", "Mrs.", "Ms.", "Prof."); "Dr."/"St."
  are "Doctor"/"Saint" before a name unless a name precedes them ("123 Main St." is "Street",
  "St. Louis" is "Saint Louis", "Elm Dr. Then" is "Drive"); "Apt.", "Ste.", "ext.", "No." (before
  a number), "vs.", "etc.", "approx.", "e.g.", "i.e.", "Jr.", "Sr.", "Ave.", "Blvd.", "Rd.", "Inc.";
  dotted initials ("U.S.") letter by letter; a lone "&" is "and".
- ordinals ("1st", "22nd", "103rd"); decades ("1990s" → "nineteen nineties", "'90s"); years
  after in/since/until/till/before/after/during/from/circa/year ("in 1999" → "nineteen
  ninety-nine"). A bare "1999" elsewhere is a quantity ("one thousand nine hundred ninety-nine"):
  "grew by 2000" must not be "twenty hundred".
- identifiers, digit by digit: a number of 3+ digits after number/account/order/reference/
  confirmation/code/PIN/ID/zip/ticket/case/invoice/tracking/policy/member (with "is", ":", "#"
  between), after "#", with a leading zero ("007"), 7+ digits in a row, and card-style groups
  ("4111 1111 1111 1111", a long pause between groups). A house number ("123 Main St.") is a quantity.

Pauses: a comma asks for a short pause, but the engines' phrasing skips some (Festival's and
flite's ran "B, X" together, heard as "bx"), and an ASR (Whisper tiny.en in bench/speak.py) then
merged or repeated digits ("four, one five, five five five" heard with an extra "five", "four" as
"for"). Groups of a number said digit by digit and the characters of a code are therefore
separated by semicolons, which end a phrase on every engine (the synthesiser makes each its own
piece), measured in docs/benchmarks.md.
- codes: an all-caps token with a digit is spelled character by character, with a long pause
  (semicolon) after each character when it has more than three ("ABX-42Q9" → "A; B; X; four; two;
  Q; nine", "4B" → "four B"). An all-caps word without digits stays a word ("PLEASE") unless it
  has no vowel and at most five letters ("SMS", "HTML" → "S M S", "H T M L") or is a well-known
  initialism ("FBI", "US", "CEO", "OK"); in shouted text (a neighbouring word is also all caps:
  "CALL US NOW") those stay words too.
- remaining numbers: cardinals and decimals, with thousands separators and a minus sign
  ("1,234.5" → "one thousand two hundred thirty-four point five"), ranges ("5-10" → "five to
  ten"), dotted groups such as versions or IP addresses ("192.168.0.1", each group a number,
  "dot" between).

Number words are American: no "and" inside a number, hyphens in 21-99. Anything not matched is
left exactly as written ("I'm at the office", a lone "I", ordinary prose).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable

from pyai.text.number_words import cardinal, decimal, digits, ordinal, year

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: A written number: "1,234,567.89" or "12.5" or "42".
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
#: Not inside a longer number or word on the left / right.
_START = r"(?<![\w.,$€£¥+-])"
_END = r"(?![\w]|[.,-]\d)"

Reading = Callable[[re.Match[str]], str | None]
#: What follows a full stop that ends a sentence: the end of the text, a line break, or a capital.
_SENTENCE_END = re.compile(r"\s*$|\s*\n|\s+[\"'(]?[A-Z]")
_NAME_NEXT = re.compile(r"\s+[A-Z]")
#: How far a reading looks around its match for context (a neighbouring word), so a long text
#: costs linear time, not a scan of everything before each match.
_LOOK = 80


def _ends_sentence(text: str, end: int) -> bool:
    """Whether a full stop at ``end`` would also end the sentence (end of text, a line break, or a
    capital next), so the full stop of an expanded abbreviation can stay only there."""
    return _SENTENCE_END.match(text, end) is not None


def _stop(m: re.Match[str]) -> str:
    """A full stop when the one that ends ``m`` also ends its sentence, else nothing."""
    return "." if m.group(0).endswith(".") and _ends_sentence(m.string, m.end()) else ""


def spell(text: str) -> str:
    """Character by character: letters as capitals, digits as words ("42Q9" → "four two Q nine");
    anything else is dropped."""
    return " ".join(digits(c) if c.isdecimal() else c.upper() for c in text if c.isalnum())


# --- addresses -------------------------------------------------------------------------------

_SYMBOL_NAMES = {
    ".": "dot",
    "@": "at",
    "/": "slash",
    "-": "dash",
    "_": "underscore",
    ":": "colon",
    "?": "question mark",
    "=": "equals",
    "&": "and",
    "#": "hash",
    "%": "percent",
    "~": "tilde",
    "+": "plus",
}
_TLDS = "com|org|net|edu|gov|io|ai|dev|app|co|us|uk|ca|de|info|biz|tv|ly|xyz|cloud|tech|online|site|store"
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(
    rf"(?<![\w@./-])(?:https?://(?:[\w-]+\.)+[A-Za-z]{{2,}}|www\.(?:[\w-]+\.)+[A-Za-z]{{2,}}|(?:[\w-]+\.)+(?:{_TLDS}))"
    r"(?::\d+)?(?:/(?:[^\s]*[^\s.,;:!?)\]\"'])?)?(?![\w@])",
    re.IGNORECASE,
)


def _say_address(m: re.Match[str]) -> str:
    text = re.sub(r"^https?://", "", m.group(0), flags=re.IGNORECASE).rstrip("/")
    words = []
    for piece in re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]", text):
        if piece.isdigit():
            words.append(digits(piece))
        elif piece.isalpha():
            words.append(" ".join(piece) if piece.lower() == "www" else piece)
        elif piece == "@" and words:  # a pause before the domain, as an address is dictated
            words[-1] += ","
            words.append("at")
        elif piece in _SYMBOL_NAMES:
            words.append(_SYMBOL_NAMES[piece])
    return " ".join(words)


# --- phone numbers ---------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+.$€£¥-])(?P<number>"
    r"\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,5}(?:[\s.-]\d{1,5}){1,4}"  # +1 (415) 555-0123, +44 20 7946 0958
    r"|\+\d{7,15}"
    r"|(?:1[\s.-])?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[.-]\d{4}"  # (415) 555-0123, 415.555.0123, 1-800-555-0123
    r"|\d{3}-\d{4}"  # 555-0123
    r")(?:\s?,?\s?(?:ext\.?|extension|x)\s?(?P<extension>\d{1,6}))?" + _END,
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\b(?:ext\.?|extension)\s?#?\s?(\d{1,6})\b", re.IGNORECASE)


#: Between the groups of a number said digit by digit, and the characters of a spelled code: a
#: long pause, a phrase end on every engine (see the module docstring).
GROUP_PAUSE = "; "


def say_telephone(number: str) -> str:
    """Each group of a phone number character by character, a long pause between groups, "+" as
    "plus" ("+1 (415) 555-0123" → "plus one; four one five; five five five; zero one two three")."""
    said = GROUP_PAUSE.join(spell(group) for group in re.findall(r"[A-Za-z0-9]+", number))
    return f"plus {said}" if number.lstrip().startswith("+") else said


def _say_phone(m: re.Match[str]) -> str | None:
    number, extension = m.group("number", "extension")
    if not 7 <= sum(c.isdigit() for c in number) <= 15:
        return None
    said = say_telephone(number)
    return f"{said}, extension {digits(extension)}" if extension else said


def _say_extension(m: re.Match[str]) -> str:
    return f"extension {digits(m.group(1))}"


# --- dates and times -------------------------------------------------------------------------

_ISO_DATE = re.compile(_START + r"(\d{4})-(\d{2})-(\d{2})" + _END)
_SLASH_DATE = re.compile(r"(?<![\w./-])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\w/]|[.,]\d)")
_MONTH_ABBREVIATIONS = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
_MONTH_DATE = re.compile(
    rf"\b({'|'.join(MONTHS)}|{_MONTH_ABBREVIATIONS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
)


def month_number(name: str) -> int:
    """1-12 for a month's name or its usual abbreviation ("Sept" included); 0 if it is neither."""
    key = name[:3].lower()
    return next((i for i, month in enumerate(MONTHS, 1) if month[:3].lower() == key), 0)


def full_year(text: str) -> int:
    """A written year; two digits are 20xx below 70, else 19xx."""
    value = int(text)
    return value if len(text) > 2 else value + (2000 if value < 70 else 1900)


def say_date(month: int, day: int | None = None, year_number: int | None = None) -> str | None:
    """A date as said aloud ("March fourteenth, twenty twenty-six"); ``None`` when no such date exists."""
    if not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= calendar.monthrange(year_number or 2000, month)[1]:
        return None
    said = MONTHS[month - 1]
    if day is not None:
        said += f" {ordinal(day)}"
    if year_number is not None:
        said += f"{',' if day is not None else ''} {year(year_number)}"
    return said


def _say_iso_date(m: re.Match[str]) -> str | None:
    return say_date(int(m.group(2)), int(m.group(3)), int(m.group(1)))


def _say_slash_date(m: re.Match[str]) -> str | None:
    return say_date(int(m.group(1)), int(m.group(2)), full_year(m.group(3)) if m.group(3) else None)


def _say_month_date(m: re.Match[str]) -> str | None:
    return say_date(month_number(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None)


_MERIDIEM = r"(?:\s?([AaPp])\.?[Mm]\b\.?)"
_CLOCK = re.compile(r"(?<![\w:.,])(\d{1,2}):(\d{2})(?::(\d{2}))?" + _MERIDIEM + r"?(?![\w:]|[.,]\d)")
_HOUR = re.compile(r"(?<![\w:.,])(\d{1,2})" + _MERIDIEM)


def say_time(hour: int, minute: int, second: int | None = None, meridiem: str | None = None) -> str | None:
    """A clock time as said aloud; ``meridiem`` is "a" or "p". ``None`` when no such time exists."""
    if not (0 <= minute <= 59 and (1 <= hour <= 12 if meridiem else 0 <= hour <= 23)):
        return None
    if meridiem and hour == 12 and minute == 0 and not second:
        return "noon" if meridiem == "p" else "midnight"
    said = cardinal(hour)
    if minute:
        said += f" oh {cardinal(minute)}" if minute < 10 else f" {cardinal(minute)}"
    elif not meridiem:
        said += " o'clock" if 1 <= hour <= 12 else " hundred"
    if second:
        said += f" and {cardinal(second)} second{'s' if second != 1 else ''}"
    if meridiem:
        said += f" {meridiem} m"
    return said


def _say_clock(m: re.Match[str]) -> str | None:
    second = int(m.group(3)) if m.group(3) else None
    meridiem = m.group(4).lower() if m.group(4) else None
    said = say_time(int(m.group(1)), int(m.group(2)), second, meridiem)
    return None if said is None else said + _stop(m)


def _say_hour(m: re.Match[str]) -> str | None:
    said = say_time(int(m.group(1)), 0, None, m.group(2).lower())
    return None if said is None else said + _stop(m)


# --- money, percentages, units ---------------------------------------------------------------

#: symbol → (one, many, one minor unit, many minor units); ¥ has no minor unit in use.
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
}
_MONEY = re.compile(
    r"(?<![\w$€£¥])([$€£¥])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s(thousand|million|billion|trillion)\b)?"
    r"(?![\d]|[.,]\d)"
)


def _say_money(m: re.Match[str]) -> str:
    one, many, minor_one, minor_many = _CURRENCIES[m.group(1)]
    whole, fraction, scale = int(m.group(2).replace(",", "")), m.group(3) or "", m.group(4)
    if scale or len(fraction) > 2 or (fraction and not minor_many):
        amount = decimal(m.group(2) + (f".{fraction}" if fraction else ""))
        return f"{amount} {scale} {many}" if scale else f"{amount} {many}"
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    main = f"{cardinal(whole)} {one if whole == 1 else many}"
    if not cents:
        return main
    minor = f"{cardinal(cents)} {minor_one if cents == 1 else minor_many}"
    return f"{main} and {minor}" if whole else minor


_PERCENT = re.compile(_START + rf"(-?(?:{_NUMBER}))\s?%")


def _say_percent(m: re.Match[str]) -> str:
    return f"{decimal(m.group(1))} percent"


#: unit as written → (one, many). Case matters: "g" is grams, "G" in "5G" is a letter.
_UNITS = {
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°": ("degree", "degrees"),
    "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
}
_UNIT = re.compile(
    _START
    + rf"(-?(?:{_NUMBER}))\s?("
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)


def _say_unit(m: re.Match[str]) -> str:
    one, many = _UNITS[m.group(2)]
    return f"{decimal(m.group(1))} {one if m.group(1) == '1' else many}"


# --- abbreviations ---------------------------------------------------------------------------

_TITLES = {"Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor"}
#: Before a name / otherwise: "Dr. Smith", "Elm Dr."; "St. Louis", "Main St.".
_NAME_OR_PLACE = {"Dr": ("Doctor", "Drive"), "St": ("Saint", "Street")}
#: Abbreviations that may end a sentence, so their full stop may be one too.
_ENDING = {
    "Jr": "Junior",
    "Sr": "Senior",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "Rd": "Road",
    "Inc": "Incorporated",
    "Ltd": "Limited",
    "Corp": "Corporation",
    "etc": "et cetera",
}
#: Abbreviations followed by more of the sentence: their full stop is never a sentence end.
_INLINE = {
    "vs": "versus",
    "approx": "approximately",
    "apt": "apartment",
    "ste": "suite",
    "ext": "extension",
    "dept": "department",
    "e.g": "for example",
    "i.e": "that is",
}
_TITLE = re.compile(rf"\b({'|'.join(_TITLES)})\b\.?(?=\s+[A-Z])")
_DR_ST = re.compile(r"\b(Dr|St)\b\.?")
_ENDING_ABBREVIATION = re.compile(rf"\b({'|'.join(_ENDING)})\.")
_INLINE_ABBREVIATION = re.compile(rf"(?<![\w.])({'|'.join(re.escape(a) for a in _INLINE)})\.", re.IGNORECASE)
_NUMBER_SIGN = re.compile(r"\bNo\.?\s?(?=\d)|(?<![\w#&])#\s?(?=\d)")
_DOTTED_INITIALS = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})(?!\w)")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)$")


def _after_a_name(text: str, start: int) -> bool:
    """Whether the word before ``start`` is a name or number ("Main", "123"), not a sentence's
    first word: "123 Main St." is a street, "Visit St. Louis" a saint."""
    before = text[max(0, start - _LOOK) : start]
    m = re.search(r"(?:[A-Z][\w'-]*|\d+\w*)\s+$", before)
    return m is not None and _SENTENCE_START.search(before[: m.start()]) is None


def _say_title(m: re.Match[str]) -> str:
    return _TITLES[m.group(1)]


def _say_dr_st(m: re.Match[str]) -> str:
    name_form, place_form = _NAME_OR_PLACE[m.group(1)]
    if _NAME_NEXT.match(m.string, m.end()) and not _after_a_name(m.string, m.start()):
        return name_form
    return place_form + _stop(m)


def _say_ending(m: re.Match[str]) -> str:
    return _ENDING[m.group(1)] + _stop(m)


def _say_inline(m: re.Match[str]) -> str:
    return _INLINE[m.group(1).lower()]


def _say_number_sign(m: re.Match[str]) -> str:
    return "number "


_AMPERSAND = re.compile(r"(?<!\S)&(?!\S)")


def _say_ampersand(m: re.Match[str]) -> str:
    return "and"


def _say_dotted_initials(m: re.Match[str]) -> str:
    return " ".join(m.group(1).replace(".", "").upper()) + _stop(m)


# --- ordinals, years, identifiers ------------------------------------------------------------

_ORDINAL = re.compile(_START + r"(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_DECADE = re.compile(r"(?<![\w.,'’])(1[0-9]|20)(\d)0s\b|(?<!\w)['’]([1-9])0s\b")
_YEAR_CONTEXT = "in|since|until|till|before|after|during|from|circa|year"
_YEAR = re.compile(rf"\b((?i:{_YEAR_CONTEXT}))\s+(1[1-9]\d\d|20\d\d)" + _END)
_ID_CONTEXT = (
    "number|account|order|reference|ref|confirmation|code|pin|id|zip|ticket|case|invoice|tracking|policy|member"
)
_IDENTIFIER = re.compile(rf"\b((?i:{_ID_CONTEXT})(?:\s*(?:is|was|:|#))*\s*)(\d{{3,}})" + _END)
_LONE_IDENTIFIER = re.compile(_START + r"(?:0\d+|\d{7,}|\d{4}(?:[ -]\d{4}){3})" + _END)


def _say_ordinal(m: re.Match[str]) -> str:
    return ordinal(int(m.group(1).replace(",", "")))


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _say_decade(m: re.Match[str]) -> str:
    if m.group(3):
        return _plural(cardinal(int(m.group(3)) * 10))
    return _plural(year(int(m.group(1) + m.group(2) + "0")))


def _say_year(m: re.Match[str]) -> str:
    return f"{m.group(1)} {year(int(m.group(2)))}"


def _say_identifier(m: re.Match[str]) -> str:
    return m.group(1) + digits(m.group(2))


def _say_lone_identifier(m: re.Match[str]) -> str:
    return GROUP_PAUSE.join(digits(group) for group in re.split(r"[ -]", m.group(0)))


# --- codes and all-caps words ----------------------------------------------------------------

_CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_CAPS = re.compile(r"(?<![\w'-])[A-Z]{2,5}(?![\w'-])")
_VOWELS = frozenset("AEIOUY")
#: Initialisms said letter by letter although they have a vowel.
INITIALISMS = frozenset(
    "US USA UK EU UN FBI CIA IRS CEO CFO CTO COO IBM ATM AI API ETA USB UPS IOU ID OK AM PM EST EDT UTC".split()
)
#: No vowel, but a word all the same.
_INTERJECTIONS = frozenset({"HMM", "SHH", "PSST", "BRR", "GRR", "TSK"})


def _say_code(m: re.Match[str]) -> str:
    """A code character by character, with a long pause after each when it is longer than a unit
    number ("A; B; X; four; two" but "four B"): run together, or with commas that the engines'
    phrasing skipped, listeners (and an ASR, measured in bench/speak.py) merged letters ("bx") and
    heard "four two" as "for to"."""
    chars = [c for c in m.group(0) if c.isalnum()]
    return spell("".join(chars)) if len(chars) <= 3 else GROUP_PAUSE.join(spell(c) for c in chars)


def _unpronounceable(word: str) -> bool:
    """An all-caps word with no vowel, so no way to say it but letter by letter ("SMS")."""
    return not _VOWELS.intersection(word) and word not in _INTERJECTIONS


def _shouted(text: str, start: int, end: int) -> bool:
    """A neighbouring word is an all-caps word too ("CALL US NOW"): the text is shouted, not initialisms."""
    before = re.search(r"([A-Za-z']+)[^A-Za-z']*$", text[max(0, start - _LOOK) : start])
    after = re.match(r"[^A-Za-z']*([A-Za-z']+)", text[end : end + _LOOK])
    return any(
        w is not None and len(w[1]) >= 2 and w[1].isupper() and not (_unpronounceable(w[1]) or w[1] in INITIALISMS)
        for w in (before, after)
    )


def _say_caps(m: re.Match[str]) -> str | None:
    word = m.group(0)
    if _unpronounceable(word) or (word in INITIALISMS and not _shouted(m.string, m.start(), m.end())):
        return spell(word)
    return None


# --- plain numbers ---------------------------------------------------------------------------

_DOTTED_NUMBER = re.compile(r"(?<![\w.,])\d+(?:\.\d+){2,}(?![\w]|\.\d)")
_RANGE = re.compile(_START + rf"({_NUMBER})\s?[-–]\s?({_NUMBER})" + _END)
_CARDINAL = re.compile(rf"(?<![\d.,])(?:(?<![\w-])-)?(?:{_NUMBER})(?!\d|[.,]\d)")


def _say_dotted_number(m: re.Match[str]) -> str:
    return " dot ".join(cardinal(int(group)) for group in m.group(0).split("."))


def _say_range(m: re.Match[str]) -> str:
    return f"{decimal(m.group(1))} to {decimal(m.group(2))}"


def _say_cardinal(m: re.Match[str]) -> str:
    return decimal(m.group(0))


_RULES: tuple[tuple[re.Pattern[str], Reading], ...] = (
    (_EMAIL, _say_address),
    (_URL, _say_address),
    (_PHONE, _say_phone),
    (_EXTENSION, _say_extension),
    (_ISO_DATE, _say_iso_date),
    (_SLASH_DATE, _say_slash_date),
    (_MONTH_DATE, _say_month_date),
    (_CLOCK, _say_clock),
    (_HOUR, _say_hour),
    (_MONEY, _say_money),
    (_PERCENT, _say_percent),
    (_UNIT, _say_unit),
    (_TITLE, _say_title),
    (_DR_ST, _say_dr_st),
    (_ENDING_ABBREVIATION, _say_ending),
    (_INLINE_ABBREVIATION, _say_inline),
    (_NUMBER_SIGN, _say_number_sign),
    (_DOTTED_INITIALS, _say_dotted_initials),
    (_AMPERSAND, _say_ampersand),
    (_ORDINAL, _say_ordinal),
    (_DECADE, _say_decade),
    (_YEAR, _say_year),
    (_IDENTIFIER, _say_identifier),
    (_LONE_IDENTIFIER, _say_lone_identifier),
    (_CODE, _say_code),
    (_CAPS, _say_caps),
    (_DOTTED_NUMBER, _say_dotted_number),
    (_RANGE, _say_range),
    (_CARDINAL, _say_cardinal),
)


def _rewrite(text: str, pattern: re.Pattern[str], reading: Reading) -> str:
    """Replace each match by its reading (``None``: leave it), with a space where the words would
    otherwise run into a neighbouring letter or digit ("mp3" → "mp three")."""

    def replace(m: re.Match[str]) -> str:
        words = reading(m)
        if words is None:
            return m.group(0)
        left = " " if m.start() > 0 and text[m.start() - 1].isalnum() else ""
        right = " " if m.end() < len(text) and text[m.end()].isalnum() else ""
        return left + words + right

    return pattern.sub(replace, text)


def to_spoken(text: str) -> str:
    """``text`` with numbers, addresses, codes and abbreviations written out as they are said."""
    for pattern, reading in _RULES:
        text = _rewrite(text, pattern, reading)
    return re.sub(r" {2,}", " ", text)


# --- one reading forced on a whole text (SSML say-as) ----------------------------------------

DATE_FORMATS = ("mdy", "dmy", "ymd", "md", "dm", "ym", "my", "y")


def say_number(text: str) -> str:
    """A written cardinal or decimal ("1,234.5", "-3"); ``ValueError`` if ``text`` is not one."""
    if not re.fullmatch(rf"-?(?:{_NUMBER})", text := text.strip()):
        raise ValueError(f"{text!r} is not a number")
    return decimal(text)


def say_ordinal(text: str) -> str:
    """An ordinal from "3", "3rd" or "1,000"; ``ValueError`` if ``text`` is not a whole number."""
    m = re.fullmatch(r"(\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)?", text.strip(), re.IGNORECASE)
    if m is None:
        raise ValueError(f"{text.strip()!r} is not a whole number")
    return ordinal(int(m.group(1).replace(",", "")))


def say_date_as(text: str, fmt: str | None = None) -> str:
    """A date read whole. With ``fmt`` (one of ``DATE_FORMATS``: m month, d day, y year) the
    numbers or month name in ``text`` are taken in that order ("14.03.2026" as dmy); without, any
    date ``to_spoken`` reads ("3/14/2026", "2026-03-14", "March 14"). ``ValueError`` otherwise."""
    text = text.strip()
    if fmt is None:
        for pattern, reading in (
            (_ISO_DATE, _say_iso_date),
            (_SLASH_DATE, _say_slash_date),
            (_MONTH_DATE, _say_month_date),
        ):
            if (m := pattern.fullmatch(text)) and (said := reading(m)):
                return said
        raise ValueError(f"{text!r} is not a date (give format, e.g. mdy)")
    fields = re.findall(r"\d+|[A-Za-z]+", text)
    if (
        fmt not in DATE_FORMATS
        or len(fields) != len(fmt)
        or not all(f.isdigit() or (k == "m" and month_number(f)) for k, f in zip(fmt, fields, strict=True))
    ):
        raise ValueError(f"{text!r} is not a date in the format {fmt!r}")
    value = dict(zip(fmt, fields, strict=True))
    if "m" not in value:
        return year(full_year(value["y"]))
    month = int(value["m"]) if value["m"].isdigit() else month_number(value["m"])
    said = say_date(month, int(value["d"]) if "d" in value else None, full_year(value["y"]) if "y" in value else None)
    if said is None:
        raise ValueError(f"{text!r} is not a date in the format {fmt!r}")
    return said
