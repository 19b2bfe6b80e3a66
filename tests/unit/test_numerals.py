"""The spoken-number normaliser behind the ``numerals`` flag."""

from __future__ import annotations

import pytest

from pyai.text.numerals import to_numerals


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("one two three", "123"),
        ("my number is five five five one two three four", "my number is 5551234"),
        ("code oh seven", "code 07"),
        ("twenty five", "25"),
        ("twenty five dollars", "$25"),
        ("it costs five dollars and fifty cents", "it costs $5.50"),
        ("fifty cents", "$0.50"),
        ("one hundred and twenty three", "123"),
        ("two thousand twenty four", "2024"),
        ("three thousand four hundred and six", "3406"),
        ("one million two hundred thousand", "1200000"),
        ("nineteen eighty four", "1984"),
        ("three point five", "3.5"),
        ("pi is three point one four", "pi is 3.14"),
        ("one point two five", "1.25"),  # a lone "one" is a pronoun, but not before "point"
        ("two point five million", "2500000"),
        ("one point two five thousand people", "1250 people"),
        ("it costs two point five million dollars", "it costs $2500000"),
        ("ten percent off", "10% off"),
        ("the twenty third of may", "the 23rd of may"),
        ("on the second floor", "on the 2nd floor"),
        ("wait a second", "wait a second"),
        ("one of them", "one of them"),
        ("one dollar", "$1"),
        ("I have five apples.", "I have 5 apples."),
        ("Call me at nine, please.", "Call me at 9, please."),
        ("nine, ten", "9, 10"),
        ("My number is five, five, five, one, two, three, four.", "My number is 5551234."),
        ("One, two, three, four, five.", "12345."),
        ("one, two or three", "one, 2 or 3"),
        ("hello world", "hello world"),
        ("", ""),
        ("Twenty Five Dollars", "$25"),
        ("and then nothing", "and then nothing"),
    ],
)
def test_to_numerals(spoken: str, written: str) -> None:
    assert to_numerals(spoken) == written
