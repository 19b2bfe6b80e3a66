"""The deterministic PII detectors: what they find, what they leave alone, how evidence is masked."""

from __future__ import annotations

import pytest

from pyai.trace.pii import luhn_valid, mask
from pyai.trace.text import Doc


def found(text: str) -> list[tuple[str, str]]:
    return [(h.kind, text[h.start : h.end]) for h in Doc(text).pii]


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True), ("79927398713", True)],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        ("card 4111111111111111 ok", [("credit_card", "4111111111111111")]),
        ("card 4111-1111-1111-1111 ok", [("credit_card", "4111-1111-1111-1111")]),
        ("amex 3782 822463 10005.", [("credit_card", "3782 822463 10005")]),
        ("4242 4242 4242 4242 123", [("credit_card", "4242 4242 4242 4242")]),  # the CVV after it is not part of it
        ("order 4111 1111 1111 1112", []),
        ("ref 12345678901234567890123", []),
        ("SSN 123-45-6789.", [("ssn", "123-45-6789")]),
        ("it is 123 45 6789", [("ssn", "123 45 6789")]),
        ("000-12-3456 and 666-12-3456 and 912-12-3456 and 123-00-4567", []),
        ("my social is 123456789", [("ssn", "123456789")]),
        ("zip plus four 941101234", []),
        ("call (415) 555-0199 or +1 212.555.0100", [("us_phone", "(415) 555-0199"), ("us_phone", "+1 212.555.0100")]),
        ("call 4155550199.", [("us_phone", "4155550199")]),
        ("call 155-555-0199", []),  # no area code starts with 1
        ("mail jane.doe+x@mail.example.co.uk now", [("email", "jane.doe+x@mail.example.co.uk")]),
        ("it's jane dot doe at example dot com", [("email", "jane dot doe at example dot com")]),
        (
            "four one one one one one one one one one one one one one one one",
            [("credit_card", "four one one one one one one one one one one one one one one one")],
        ),
        (
            "four one five, five five five, oh one nine nine",
            [("us_phone", "four one five, five five five, oh one nine nine")],
        ),
        (
            "my social is one two three four five six seven eight nine",
            [("ssn", "one two three four five six seven eight nine")],
        ),
        ("one two three. four five six seven eight nine", []),  # a sentence break ends a spoken number
        ("I have one or two questions", []),
    ],
)
def test_detect(text: str, hits: list[tuple[str, str]]) -> None:
    assert found(text) == hits


def test_masks_keep_at_most_the_last_four_digits() -> None:
    doc = Doc("4111 1111 1111 1111, 123-45-6789, (415) 555-0199, jane@example.com, jo at example dot com")
    assert [mask(h) for h in doc.pii] == [
        "************1111",
        "***-**-6789",
        "***-***-0199",
        "j***@example.com",
        "j*** at example dot com",
    ]
