"""Text normalisation for speech: one realistic call sentence per reading, exactly as it is said,
and text that must come through untouched."""

from __future__ import annotations

import time

import pytest

from pyai.engines.tts.sentences import split_sentences
from pyai.text.spoken import say_date_as, say_number, say_ordinal, say_telephone, spell, to_spoken

SAID = {
    "phone, international": (
        "You can reach me at +1 (415) 555-0123.",
        "You can reach me at plus one; four one five; five five five; zero one two three.",
    ),
    "phone, dotted": (
        "My cell is 415.555.0123, any time.",
        "My cell is four one five; five five five; zero one two three, any time.",
    ),
    "phone, local with extension": (
        "The front desk is 555-0123 ext. 12.",
        "The front desk is five five five; zero one two three, extension one two.",
    ),
    "phone, x extension": (
        "Dial 415-555-0123 x12 for billing.",
        "Dial four one five; five five five; zero one two three, extension one two for billing.",
    ),
    "phone, toll free": (
        "Call 1-800-555-0199 now.",
        "Call one; eight zero zero; five five five; zero one nine nine now.",
    ),
    "e-mail": (
        "Send it to jane.doe@example.com and I'll reply.",
        "Send it to jane dot doe, at example dot com and I'll reply.",
    ),
    "url": (
        "The guide is at www.pyai.dev/help.",
        "The guide is at w w w dot pyai dot dev slash help.",
    ),
    "url, scheme dropped": (
        "See https://pyai.dev/docs/ for more.",
        "See pyai dot dev slash docs for more.",
    ),
    "money": (
        "Your balance is $1,234.50 today.",
        "Your balance is one thousand two hundred thirty-four dollars and fifty cents today.",
    ),
    "money, whole and cents": (
        "The fee is $5 and the call costs $0.99.",
        "The fee is five dollars and the call costs ninety-nine cents.",
    ),
    "money, euro and pound": (
        "That is €20 or £3.75.",
        "That is twenty euros or three pounds and seventy-five pence.",
    ),
    "money, scale": (
        "They raised $2.5 million.",
        "They raised two point five million dollars.",
    ),
    "percent": (
        "Your rate dropped to 12.5% this month.",
        "Your rate dropped to twelve point five percent this month.",
    ),
    "date, month/day, time": (
        "Your appointment is on 3/14 at 4:15 PM.",
        "Your appointment is on March fourteenth at four fifteen p m.",
    ),
    "date with year, o'clock": (
        "We booked it for 3/14/2026 at 10:00.",
        "We booked it for March fourteenth, twenty twenty-six at ten o'clock.",
    ),
    "date, ISO, a.m. ending a sentence": (
        "It starts 2026-03-14 at 9:05 a.m. See you there.",
        "It starts March fourteenth, twenty twenty-six at nine oh five a m. See you there.",
    ),
    "date, month name, noon": (
        "We close at 12:00 PM on March 14, 2026.",
        "We close at noon on March fourteenth, twenty twenty-six.",
    ),
    "hour": (
        "Call back after 4pm.",
        "Call back after four p m.",
    ),
    "ordinals": (
        "You are the 1st caller, in 22nd place, on the 103rd floor.",
        "You are the first caller, in twenty-second place, on the one hundred third floor.",
    ),
    "cardinals and decimals": (
        "We shipped 1,234,567 units at 3.75 each.",
        "We shipped one million two hundred thirty-four thousand five hundred sixty-seven units at three point seven "
        "five each.",
    ),
    "range": (
        "It takes 5-10 business days.",
        "It takes five to ten business days.",
    ),
    "year in context, decade": (
        "We opened in 1999, back in the '90s.",
        "We opened in nineteen ninety-nine, back in the nineties.",
    ),
    "year-like quantity": (
        "The team grew by 2000 people.",
        "The team grew by two thousand people.",
    ),
    "units": (
        "It weighs 10 kg, is 3 ft wide and 5 km away.",
        "It weighs ten kilograms, is three feet wide and five kilometers away.",
    ),
    "units, speed, temperature, storage": (
        "At 72°F and 100 mph you still get 5 GB and 1 ft.",
        "At seventy-two degrees Fahrenheit and one hundred miles per hour you still get five gigabytes and one foot.",
    ),
    "doctor, street, apartment": (
        "Dr. Smith will see you at 123 Main St. in Apt. 4B.",
        "Doctor Smith will see you at one hundred twenty-three Main Street in apartment four B.",
    ),
    "saint, drive, street ending a sentence": (
        "She moved to St. Louis, then to Elm Dr. Her office is on Main St. Near the park.",
        "She moved to Saint Louis, then to Elm Drive. Her office is on Main Street. Near the park.",
    ),
    "titles and inline abbreviations": (
        "Mr. Jones vs. Mrs. Jones, Ms. Lee Jr. and approx. 20 others, etc.",
        "Mister Jones versus Missus Jones, Miz Lee Junior and approximately twenty others, et cetera.",
    ),
    "confirmation code": (
        "Your confirmation code is ABX-42Q9.",
        "Your confirmation code is A; B; X; four; two; Q; nine.",
    ),
    "initialisms": (
        "Please call the FBI about the US office, or send an SMS.",
        "Please call the F B I about the U S office, or send an S M S.",
    ),
    "identifiers": (
        "Your order number is 45721 and your PIN is 0042.",
        "Your order number is four five seven two one and your PIN is zero zero four two.",
    ),
    "number sign, ampersand": (
        "Ticket #12345 is open & assigned.",
        "Ticket number one two three four five is open and assigned.",
    ),
}
UNTOUCHED = [
    "Thanks for calling, how can I help you today?",
    "I'm at the office.",
    "I think I can help.",
    "PLEASE HOLD. CALL US NOW.",
    "Your package left the warehouse this morning and should arrive soon.",
    "Is that a yes or a no?",
]


@pytest.mark.parametrize(("written", "said"), SAID.values(), ids=SAID.keys())
def test_said_as_on_a_call(written: str, said: str) -> None:
    assert to_spoken(written) == said


@pytest.mark.parametrize("text", UNTOUCHED)
def test_prose_is_untouched(text: str) -> None:
    assert to_spoken(text) == text


def test_sentences_survive_normalisation() -> None:
    """An expanded "Dr." is no sentence end; an address at the end of a sentence still ends it."""
    text = "Dr. Smith will call you. Email jane@example.com. Thanks, Mr. Jones."
    assert split_sentences(to_spoken(text)) == [
        "Doctor Smith will call you.",
        "Email jane, at example dot com.",
        "Thanks, Mister Jones.",
    ]


def test_impossible_dates_and_times_are_not_read_as_such() -> None:
    assert to_spoken("Room 2/30 at 25:00.") == "Room two/thirty at twenty-five:zero zero."


@pytest.mark.parametrize(
    "text",
    ["1" * 4096, "1." * 2048, "a." * 2048, "AB-" * 1365, "FBI " * 1024, "Dr. " * 1024, "+1 " * 1365, "a@" * 2048],
)
def test_long_pathological_input_is_fast(text: str) -> None:
    start = time.perf_counter()
    to_spoken(text)
    assert time.perf_counter() - start < 0.5


def test_forced_readings() -> None:
    """The readings SSML's say-as asks for, on a whole text."""
    assert spell("ab-12") == "A B one two"
    assert say_telephone("+44 20 7946 0958") == "plus four four; two zero; seven nine four six; zero nine five eight"
    assert say_number("1,234.5") == "one thousand two hundred thirty-four point five"
    assert say_ordinal("21st") == "twenty-first"
    assert say_date_as("14.03.2026", "dmy") == "March fourteenth, twenty twenty-six"
    assert say_date_as("3/14") == "March fourteenth"
    assert say_date_as("2026", "y") == "twenty twenty-six"
    for bad in (lambda: say_number("twelve"), lambda: say_ordinal("x"), lambda: say_date_as("31.02.2026", "dmy")):
        with pytest.raises(ValueError):
            bad()
