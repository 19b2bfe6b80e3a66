"""Numbers as American English words, for speech ("1,234" → "one thousand two hundred thirty-four").

``num2words`` does the counting; its British "and" and list commas ("one thousand, two hundred and
thirty-four") are dropped, because a TTS voice reads a comma as a pause and US callers say neither.
"""

from __future__ import annotations

from num2words import num2words

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _american(words: str) -> str:
    return words.replace(",", "").replace(" and ", " ")


def cardinal(n: int) -> str:
    """``-5`` → "minus five", ``1234`` → "one thousand two hundred thirty-four"."""
    return _american(num2words(n))


def ordinal(n: int) -> str:
    """``103`` → "one hundred third"."""
    return _american(num2words(n, to="ordinal"))


def year(n: int) -> str:
    """``1999`` → "nineteen ninety-nine", ``2005`` → "two thousand five", ``2026`` → "twenty twenty-six"."""
    return _american(num2words(n, to="year"))


def digits(text: str) -> str:
    """Every digit of ``text`` on its own ("0123" → "zero one two three"); anything else is skipped."""
    return " ".join(DIGIT_WORDS[int(c)] for c in text if c.isdecimal())


def decimal(text: str) -> str:
    """A written number: ``"1,234.50"`` → "one thousand two hundred thirty-four point five zero".

    The fraction is read digit by digit, as people read decimals aloud; a leading ``-`` is "minus".
    """
    sign, text = ("minus ", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.replace(",", "").partition(".")
    head = cardinal(int(whole)) if whole else ""
    if fraction:
        head = f"{head} point {digits(fraction)}".strip()
    return sign + head
