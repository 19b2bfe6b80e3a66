"""Slot filling from speech (pyai.omni.slots): tool inputs and extraction fields from what was said."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from pyai.omni.slots import fill, missing, question

#: A Tuesday.
TODAY = datetime.date(2026, 3, 10)

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DATE = {"type": "string", "format": "date"}
TIME = {"type": "string", "format": "time"}
EMAIL = {"type": "string", "format": "email"}
SIZE = {"type": "string", "enum": ["small", "medium", "large", "extra_large"]}

RESERVATION = {
    "type": "object",
    "properties": {
        "party_size": {"type": "integer", "minimum": 1, "maximum": 20, "description": "How many people"},
        "date": DATE,
        "time": TIME,
        "name": STRING,
        "phone": STRING,
        "notes": {"type": "string", "maxLength": 200},
    },
    "required": ["party_size", "date", "time", "name"],
}


def one(name: str, prop: dict[str, Any], text: str, *, asked: bool) -> Any:
    """The value ``fill`` finds for the single property ``name`` (None when it leaves it out);
    ``asked``: the brain has just asked for it, so the answer may be bare."""
    schema = {"type": "object", "properties": {name: prop}}
    return fill(schema, text, only=[name] if asked else None, today=TODAY).get(name)


def test_a_booking_sentence_fills_every_slot_it_mentions() -> None:
    said = "I'd like a table for four people at seven thirty tomorrow"
    assert fill(RESERVATION, said, today=TODAY) == {"party_size": 4, "date": "2026-03-11", "time": "07:30"}


def test_a_name_and_a_phone_number_in_one_breath() -> None:
    said = "My name is John Smith and my number is five five five, one two three four."
    assert fill(RESERVATION, said, today=TODAY) == {"name": "John Smith", "phone": "5551234"}


def test_only_restricts_to_the_asked_properties() -> None:
    said = "For four people at seven thirty tomorrow"
    assert fill(RESERVATION, said, only=["time"], today=TODAY) == {"time": "07:30"}
    assert fill(RESERVATION, said, only=["unknown"], today=TODAY) == {}


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("The large one please.", False, "large"),
        ("Large.", True, "large"),
        ("LARGE", False, "large"),
        ("two larges", False, "large"),
        ("extra large", False, "extra_large"),  # the longer choice, not "large" inside it
        ("make it an extra-large", False, "extra_large"),
        ("not the small one, the large one", False, "large"),
        ("I don't want small, give me medium", False, "medium"),
        ("small or large", False, None),  # two choices: ambiguous
        ("small, actually make it large", True, "large"),  # the caller corrects themselves
        ("pepperoni", True, None),
        ("", True, None),
    ],
)
def test_enum(text: str, asked: bool, expected: str | None) -> None:
    assert one("size", SIZE, text, asked=asked) == expected


@pytest.mark.parametrize(
    ("choices", "text", "expected"),
    [
        (["Small", "Medium", "Large"], "medium please", "Medium"),  # the schema's own spelling comes back
        (["credit_card", "cash"], "by credit card", "credit_card"),
        (["one-bedroom", "two-bedroom"], "the two bedroom", "two-bedroom"),  # number words read as digits
        (["drinks", "fries"], "just a drink", "drinks"),  # singular of a plural choice
        (["yes", "no"], "yes", "yes"),
    ],
)
def test_enum_spellings(choices: list[str], text: str, expected: str) -> None:
    assert one("choice", {"type": "string", "enum": choices}, text, asked=False) == expected


def test_enum_choices_offered_in_a_question_are_not_picked() -> None:
    transcript = "Agent: Indoor or outdoor?\nCaller: Outdoor, please."
    prop = {"type": "string", "enum": ["indoor", "outdoor"]}
    assert one("seating", prop, transcript, asked=False) == "outdoor"


def test_enum_near_its_property_name_wins() -> None:
    prop = {"type": "string", "enum": ["small", "large"]}
    assert one("pizza_size", prop, "a large pizza with small fries", asked=False) == "large"


@pytest.mark.parametrize(
    ("prop", "text", "asked", "expected"),
    [
        (INTEGER, "four", True, 4),
        (INTEGER, "Twenty five.", True, 25),
        (INTEGER, "twenty-five", True, 25),
        (INTEGER, "two hundred and fifty", True, 250),
        (INTEGER, "we need 12", True, 12),
        (INTEGER, "1,234", True, 1234),
        (INTEGER, "just one", True, 1),
        (INTEGER, "zero", True, 0),
        (INTEGER, "a couple", True, None),  # not a number
        (INTEGER, "four or five", True, None),  # ambiguous
        (INTEGER, "four, no, five", True, 5),  # corrected
        (INTEGER, "four, actually make that six", True, 6),
        (INTEGER, "three point five", True, None),  # not an integer
        (INTEGER, "the large one please", False, None),  # "one" is a pronoun here
        ({"type": "number"}, "three point five", True, 3.5),
        ({"type": "number"}, "It costs $25.50", False, 25.5),
        ({"type": "number"}, "minus 4", True, 4),  # "minus" is not read; "-4" is
        ({"type": "number"}, "-4", True, -4),
        ({"type": "integer", "maximum": 20}, "two hundred and fifty", True, None),
        ({"type": "integer", "minimum": 1}, "zero", True, None),
        ({"type": "integer", "multipleOf": 5}, "12 or 15", True, 15),  # the only valid one
        ({"type": "integer", "enum": [1, 2, 3]}, "two", True, 2),
        (INTEGER, "one million five hundred thousand", False, 1500000),  # a count, not a phone number
        (INTEGER, "my number is 5551234", False, None),  # a phone number, not a count
        (INTEGER, "at seven", False, None),  # a time, not a count
        (INTEGER, "on December 3rd", False, None),  # a date
    ],
)
def test_number(prop: dict[str, Any], text: str, asked: bool, expected: float | None) -> None:
    value = one("amount", prop, text, asked=asked)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "prop", "text", "expected"),
    [
        ("party_size", INTEGER, "a table for four people at seven thirty tomorrow", 4),
        ("party_size", INTEGER, "we are a party of six, I need it on the 12th at 8", 6),
        ("party_size", INTEGER, "3 adults and 2 kids", None),  # which is the party? ask
        ("adults", INTEGER, "3 adults and 2 kids", 3),
        ("children", INTEGER, "3 adults and 2 kids", 2),
        ("guests", {"type": "integer", "description": "Number of people"}, "there'll be 5 of us, room 12", 5),
        ("nights", INTEGER, "2 nights from the 5th, room for 3", 2),
        ("party_size", INTEGER, "one person", 1),  # a lone "one" next to the property's words
        ("party_size", INTEGER, "one of us is vegetarian", None),
        ("quantity", INTEGER, "5 and 7", None),
    ],
)
def test_number_nearest_the_property_words(name: str, prop: dict[str, Any], text: str, expected: int | None) -> None:
    assert one(name, prop, text, asked=False) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yeah, sure.", True),
        ("that's correct", True),
        ("of course", True),
        ("no problem", True),
        ("I do", True),
        ("no", False),
        ("Nope.", False),
        ("No, thank you.", False),
        ("not really", False),
        ("of course not", False),
        ("that's not correct", False),
        ("I do not", False),
        ("I don't want it", False),
        ("I'm not sure", None),
        ("maybe", None),
        ("yeah, no", None),  # both
        ("no, sorry, yes", True),  # corrected
        ("purple", None),
    ],
)
def test_boolean_answer(text: str, expected: bool | None) -> None:
    assert one("confirmed", {"type": "boolean"}, text, asked=True) is expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("wants_newsletter", "No newsletter, thanks.", False),
        ("wants_newsletter", "Yes, sign me up for the newsletter.", True),
        ("wants_newsletter", "I don't need the newsletter", False),
        ("wants_callback", "Agent: Would you like a callback? Caller: Yes please.", True),
        ("wants_callback", "Yes, I'd like a table.", None),  # the sentence is not about it
        ("wants_newsletter", "I'd like the newsletter.", None),  # no yes or no said
    ],
)
def test_boolean_in_a_transcript(name: str, text: str, expected: bool | None) -> None:
    assert one(name, {"type": "boolean"}, text, asked=False) is expected


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("tomorrow", False, "2026-03-11"),
        ("today", False, "2026-03-10"),
        ("tonight", False, "2026-03-10"),
        ("yesterday", False, "2026-03-09"),
        ("the day after tomorrow", False, "2026-03-12"),
        ("in 3 days", False, "2026-03-13"),
        ("in a week", False, "2026-03-17"),
        ("Friday", False, "2026-03-13"),
        ("next Friday", False, "2026-03-13"),
        ("Tuesday", True, "2026-03-17"),  # the next one: today is a Tuesday
        ("this Tuesday", False, "2026-03-10"),
        ("Monday", False, "2026-03-16"),
        ("December 3rd", False, "2026-12-03"),
        ("December third", False, "2026-12-03"),
        ("Dec. 3", False, "2026-12-03"),
        ("the third of December", False, "2026-12-03"),
        ("the fifteenth of March", False, "2026-03-15"),
        ("March the twenty first", False, "2026-03-21"),
        ("on 3 April", False, "2026-04-03"),
        ("March 1st", False, "2027-03-01"),  # passed this year: next year's
        ("March 5th 2027", False, "2027-03-05"),
        ("December third twenty twenty six", False, "2026-12-03"),
        ("12/03", False, "2026-12-03"),  # American month/day
        ("12/3/26", False, "2026-12-03"),
        ("2026-04-01", False, "2026-04-01"),
        ("Tuesday, December 1st", False, "2026-12-01"),  # the date says which Tuesday
        ("Friday the 20th", False, "2026-03-20"),
        ("the 5th", True, "2026-04-05"),  # a day alone answers "which date?"
        ("the 5th", False, None),  # …but is too vague in passing ("the 5th floor")
        ("February 30th", False, None),
        ("Tuesday or Wednesday", False, None),
        ("Tuesday, no sorry, Wednesday", True, "2026-03-11"),
        ("how can I help you today?", False, None),  # a greeting, not a date
        ("sometime soon", True, None),
    ],
)
def test_date(text: str, asked: bool, expected: str | None) -> None:
    assert one("date", DATE, text, asked=asked) == expected


def test_date_defaults_to_the_local_today() -> None:
    before = datetime.date.today()
    value = fill({"type": "object", "properties": {"d": DATE}}, "tomorrow")["d"]
    after = datetime.date.today()
    assert value in {(d + datetime.timedelta(days=1)).isoformat() for d in (before, after)}


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("7:30 pm", False, "19:30"),
        ("7:30 p.m.", False, "19:30"),
        ("7:30", False, "07:30"),
        ("19:45", False, "19:45"),
        ("7 pm", False, "19:00"),
        ("7pm", False, "19:00"),
        ("seven thirty", True, "07:30"),  # as said
        ("seven thirty pm", False, "19:30"),
        ("at seven thirty", False, "07:30"),
        ("at four thirty", False, "16:30"),  # 1-6 without am/pm: afternoon
        ("at one thirty", False, "13:30"),
        ("one", True, "13:00"),
        ("at 5", False, "17:00"),
        ("at 7", False, "07:00"),
        ("at 7.30", False, "07:30"),
        ("ten forty five pm", False, "22:45"),
        ("half past six", False, "18:30"),
        ("quarter past nine", False, "09:15"),
        ("quarter to eight", False, "07:45"),
        ("a quarter to one", False, "12:45"),
        ("twenty past seven", False, "07:20"),
        ("ten minutes to five", False, "16:50"),
        ("seven o'clock in the evening", False, "19:00"),
        ("eight in the morning", False, "08:00"),
        ("noon", False, "12:00"),
        ("12 noon", False, "12:00"),
        ("midnight", False, "00:00"),
        ("12 am", False, "00:00"),
        ("12 pm", False, "12:00"),
        ("at 0630", False, "06:30"),  # a 24-hour clock reading stays morning
        ("nineteen thirty", True, "19:30"),
        ("7", False, None),  # a number in passing is no time
        ("It costs $3.50", False, None),
        ("13 pm", False, None),
        ("at 7 or at 8", False, None),
        ("whenever", True, None),
    ],
)
def test_time(text: str, asked: bool, expected: str | None) -> None:
    assert one("time", TIME, text, asked=asked) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is john dot smith at example dot com", "john.smith@example.com"),
        ("It's John.Smith@Example.com.", "john.smith@example.com"),
        ("john.smith at example.com", "john.smith@example.com"),
        ("jane underscore doe at company dot co dot uk", "jane_doe@company.co.uk"),
        ("mary dash ann at mail dot org", "mary-ann@mail.org"),
        ("J O H N at gmail dot com", "john@gmail.com"),
        ("john dot smith at g mail dot com, thanks", "john.smith@gmail.com"),
        ("john twenty three at yahoo dot com", "23@yahoo.com"),  # see the module's limits
        ("john at gmail", None),  # no domain ending
        ("I'll be at home", None),
    ],
)
def test_email(text: str, expected: str | None) -> None:
    assert one("email", EMAIL, text, asked=False) == expected


@pytest.mark.parametrize(
    ("name", "prop", "text", "asked", "expected"),
    [
        ("phone", STRING, "five five five, one two three four", True, "5551234"),
        ("phone", STRING, "My number is 555-123-4567.", False, "5551234567"),
        ("phone", STRING, "call me at (415) 555-0123", False, "4155550123"),
        ("phone", STRING, "four one five, five five five, oh one two three", True, "4155550123"),
        ("phone", STRING, "double five five, one two three four", True, "5551234"),
        ("phone", STRING, "triple five one two three four", True, "5551234"),
        ("phone", STRING, "plus one four one five five five five oh one two three", True, "+14155550123"),
        ("phone", STRING, "+44 20 7946 0958", False, "+442079460958"),
        ("phone", STRING, "five five five one two", True, None),  # fewer than 7 digits
        ("phone", STRING, "for four people", False, None),
        ("mobile", STRING, "it's 0 7 9 4 6 0 9 5 8 8", True, "0794609588"),
        ("callback_number", STRING, "5551234", True, "5551234"),
        ("contact", {"type": "string", "format": "phone"}, "5551234", True, "5551234"),
        ("contact", {"type": "string", "pattern": "^\\+?[0-9]{7,15}$"}, "5551234", True, "5551234"),
        ("phone", {"type": "string", "pattern": "^[0-9]{10}$"}, "5551234", True, None),  # the pattern rules
        ("zip", {"type": "string", "pattern": "^\\d{5}$"}, "nine oh two one oh", True, "90210"),
        ("zip", {"type": "string", "pattern": "^\\d{5}$"}, "my zip is 90210 and I have 2 kids", False, "90210"),
    ],
)
def test_phone_and_digits(name: str, prop: dict[str, Any], text: str, asked: bool, expected: str | None) -> None:
    assert one(name, prop, text, asked=asked) == expected


@pytest.mark.parametrize(
    ("name", "text", "asked", "expected"),
    [
        ("name", "My name is John Smith.", False, "John Smith"),
        ("name", "my name is john smith and I need help", False, "john smith"),
        ("name", "Hi, this is Sarah from Acme.", False, "Sarah"),
        ("name", "I'm Ludwig van Beethoven.", False, "Ludwig van Beethoven"),
        ("name", "Name's Bond, James Bond.", False, "Bond"),
        ("name", "You can call me Al.", False, "Al"),
        ("name", "I'm calling about my order", False, None),
        ("name", "This is great", False, None),
        ("name", "It's John Smith.", False, None),  # "it's" is no cue in passing
        ("name", "John Smith", False, None),  # never guessed without a cue
        ("name", "Um, it's John.", True, "John"),
        ("name", "Yeah, it's Mary Jane Watson, thanks.", True, "Mary Jane Watson"),
        ("name", "John, sorry, Jon", True, "Jon"),
        ("name", "I'm not sure.", True, None),
        ("name", "I don't want to tell you", True, None),
        ("first_name", "My name is John Smith.", False, "John"),
        ("last_name", "My name is John Smith.", False, "Smith"),
        ("last_name", "My name is John.", False, None),
        ("last_name", "Smith.", True, "Smith"),
        ("caller_name", "this is Maria Lopez calling", False, "Maria Lopez"),
        ("company_name", "My name is John.", False, None),  # not a person's name
    ],
)
def test_name(name: str, text: str, asked: bool, expected: str | None) -> None:
    assert one(name, STRING, text, asked=asked) == expected


@pytest.mark.parametrize(
    ("prop", "text", "expected"),
    [
        (STRING, "Um, the door code is one two three four, thanks", "the door code is one two three four"),
        (STRING, "Yeah, well, it's the blue house.", "the blue house"),
        (STRING, "Please leave it at the back door", "Please leave it at the back door"),
        ({"type": "string", "maxLength": 20}, "the door code is one two three four", "the door code is one"),
        ({"type": "string", "maxLength": 5}, "Bartholomew", "Barth"),
        ({"type": "string", "minLength": 10}, "short", None),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]{4}$"}, "AB1234", "AB1234"),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]{4}$"}, "it's a secret", None),
        (STRING, "What do you mean?", None),  # a question is no answer
        (STRING, "um", None),
        ({"type": "string", "format": "uri"}, "example dot com", None),  # formats not read from speech
    ],
)
def test_plain_string_answer(prop: dict[str, Any], text: str, expected: str | None) -> None:
    assert one("notes", prop, text, asked=True) == expected


def test_plain_string_needs_to_be_the_only_one_asked() -> None:
    schema = {"type": "object", "properties": {"notes": STRING, "address": STRING, "name": STRING}}
    assert fill(schema, "the door code is 1234") == {}
    assert fill(schema, "Anna", only=["notes", "address"]) == {}
    assert fill(schema, "Anna", only=["notes", "name"]) == {"name": "Anna"}


@pytest.mark.parametrize(
    "prop",
    [
        {"type": "object", "properties": {"street": STRING}},
        {"type": "array", "items": STRING},
        {"$ref": "#/$defs/thing"},
        {"type": "integer", "anyOf": [{"$ref": "#/$defs/thing"}]},
        {"type": "null"},
        {},
    ],
)
def test_unreadable_properties_are_left_out(prop: dict[str, Any]) -> None:
    assert one("thing", prop, "four", asked=True) is None


def test_nothing_from_nothing() -> None:
    assert fill(RESERVATION, "", today=TODAY) == {}
    assert fill(RESERVATION, "   ", only=["notes"], today=TODAY) == {}
    assert fill({"type": "object"}, "four", today=TODAY) == {}


def test_transcript_extraction() -> None:
    schema = {
        "type": "object",
        "properties": {
            "caller_name": STRING,
            "party_size": {"type": "integer", "minimum": 1, "maximum": 20},
            "date": DATE,
            "time": TIME,
            "phone": STRING,
            "seating": {"type": "string", "enum": ["indoor", "outdoor"]},
            "reminder_text": {"type": "boolean"},
            "email": EMAIL,
            "notes": STRING,
        },
    }
    transcript = (
        "Agent: Thanks for calling Bella's, how can I help you today?\n"
        "Caller: Hi, this is Maria Lopez. I'd like to book a table for six on Friday at eight p.m.\n"
        "Agent: Sure. Indoor or outdoor?\n"
        "Caller: Outdoor please.\n"
        "Agent: Can I get a phone number?\n"
        "Caller: It's four one five, five five five, zero one nine nine.\n"
        "Agent: Would you like a reminder text?\n"
        "Caller: Yes please."
    )
    assert fill(schema, transcript, today=TODAY) == {
        "caller_name": "Maria Lopez",
        "party_size": 6,
        "date": "2026-03-13",
        "time": "20:00",
        "phone": "4155550199",
        "seating": "outdoor",
        "reminder_text": True,
    }


@pytest.mark.parametrize("text", ["a.b-" * 300, "x dot " * 2000 + "a", "1 " * 3000 + "a", "a " * 3000 + "at"])
def test_long_or_hostile_text_takes_linear_time(text: str) -> None:
    started = time.monotonic()
    fill(RESERVATION | {"properties": {**RESERVATION["properties"], "email": EMAIL}}, text, today=TODAY)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, ["party_size", "date", "time", "name"]),
        ({"party_size": 4, "time": "19:30"}, ["date", "name"]),
        ({"party_size": 4, "date": "2026-03-11", "time": "19:30", "name": "Ann"}, []),
        ({"party_size": None, "date": "", "time": "19:30", "name": "Ann"}, ["party_size", "date"]),
        ({"party_size": 0, "date": "x", "time": "x", "name": "x"}, []),  # zero and False are values
    ],
)
def test_missing(values: dict[str, Any], expected: list[str]) -> None:
    assert missing(RESERVATION, values) == expected


def test_missing_follows_property_order_not_required_order() -> None:
    schema = {"properties": {"a": STRING, "b": STRING, "c": STRING}, "required": ["c", "a", "z"]}
    assert missing(schema, {}) == ["a", "c", "z"]
    assert missing({"type": "object"}, {}) == []


@pytest.mark.parametrize(
    ("name", "prop", "expected"),
    [
        ("size", SIZE, "Which size would you like: small, medium, large or extra large?"),
        ("crust", {"enum": ["thin", "deep_dish"], "title": "Crust"}, "Which crust would you like: thin or deep dish?"),
        ("s", {"enum": ["a", "b"], "description": "What size do you want?"}, "What size do you want: a or b?"),
        ("party_size", INTEGER, "What is your party size?"),
        ("num_guests", INTEGER, "How many guests?"),
        ("number_of_nights", INTEGER, "How many nights?"),
        ("g", {"type": "integer", "description": "Number of guests, 1-20"}, "How many guests?"),
        ("email", EMAIL, "What is your email address?"),
        ("phone", STRING, "What is your phone number?"),
        ("e", {"type": "string", "description": "The caller's email address"}, "What is your email address?"),
        (
            "e",
            {"type": "string", "description": "The date of the booking (YYYY-MM-DD)"},
            "What is the date of the booking?",
        ),
        ("zip", {"type": "string", "title": "ZIP code"}, "What is your ZIP code?"),
        ("n", {"description": "What's the best number to reach you?"}, "What's the best number to reach you?"),
        ("date", DATE, "What date would you like?"),
        ("arrivalTime", TIME, "What arrival time would you like?"),
        ("wants_callback", {"type": "boolean"}, "Wants callback: yes or no?"),
        ("dob", STRING, "What is your date of birth?"),
        (
            "notes",
            {"type": "string", "description": "Anything else the kitchen should know about the order and allergies"},
            "What are your notes?",
        ),
        ("not_in_schema", {}, "What is your not in schema?"),
    ],
)
def test_question(name: str, prop: dict[str, Any], expected: str) -> None:
    schema = {"type": "object", "properties": {name: prop} if prop else {}}
    assert question(schema, name) == expected
