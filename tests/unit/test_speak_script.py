"""A speech request's ``input`` → its script: plain-text hygiene, the SSML subset, and the errors
a caller gets for input that cannot be spoken."""

from __future__ import annotations

import pytest

from pyai.speak.parts import MAX_TOKEN_CHARS, Pause, ScriptError, Speech
from pyai.speak.script import parse_input
from pyai.speak.ssml import MAX_PAUSE_S
from pyai.speak.synthesis import lone_sentence


def test_plain_text_is_one_normalised_part() -> None:
    assert parse_input("Call Dr. Smith at 555-0123.") == [
        Speech("Call Doctor Smith at five five five; zero one two three.")
    ]


def test_control_characters_never_cut_the_text() -> None:
    assert parse_input("Hello\x00there\x07\x1b friend\r\nbye\u200bnow") == [Speech("Hello there friend \nbye now")]


def test_an_unbroken_token_is_capped() -> None:
    (part,) = parse_input("x" * 3000 + " and then some")
    assert part.text == "x" * MAX_TOKEN_CHARS + " and then some"


@pytest.mark.parametrize("text", ["😀🎉", "你好", "...!?", "<speak><break time='1s'/></speak>", "\x00\x01"])
def test_nothing_speakable_is_refused(text: str) -> None:
    with pytest.raises(ScriptError, match="nothing in it can be spoken"):
        parse_input(text)


def test_ssml_parts() -> None:
    ssml = """<?xml version="1.0"?>
<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">
  <p><s>Your code is <say-as interpret-as="characters">ab7</say-as>.</s>
  <s>Call <say-as interpret-as="telephone">415 555 0123</say-as></s></p>
  <break time="750ms"/>
  <prosody rate="slow">Thank you, <prosody rate="80%">Dr. Lee</prosody></prosody>
  <break strength="strong"/><sub alias="World Wide Web">WWW</sub> on
  <say-as interpret-as="date" format="dmy">14.03.2026</say-as>, <emphasis level="strong">really</emphasis>
  &amp; <say-as interpret-as="ordinal">2</say-as> <say-as interpret-as="cardinal">1,200</say-as>
  <say-as interpret-as="digits">120</say-as>.<break time="99s"/>
</speak>"""
    assert parse_input(ssml) == [
        Speech("Your code is A B seven."),
        Speech("Call four one five; five five five; zero one two three"),
        Pause(0.75),
        Speech("Thank you,", 0.75),
        Speech("Doctor Lee", 0.6),
        Pause(0.75),
        Speech(
            "World Wide Web on March fourteenth, twenty twenty-six, really and second one thousand two hundred"
            " one two zero."
        ),
        Pause(MAX_PAUSE_S),
    ]


@pytest.mark.parametrize(
    ("ssml", "message"),
    [
        ("<speak>Hi <b>there</b></speak>", "SSML line 1: <b> is not supported"),
        ("<speak>\nHi\n<prosody pitch='high'>x</prosody></speak>", "SSML line 3: <prosody> has no attribute 'pitch'"),
        ("<speak>Hi <break time='soon'/></speak>", "<break> time='soon' is not a duration"),
        ("<speak>Hi <break strength='huge'/></speak>", "<break> strength='huge' is not one of"),
        ("<speak><prosody rate='1000%'>x</prosody></speak>", "<prosody> rate='1000%' is not"),
        ("<speak><say-as interpret-as='cardinal'>many</say-as></speak>", "'many' is not a number"),
        ("<speak><say-as interpret-as='shout'>x</say-as></speak>", "interpret-as='shout' is not one of"),
        ("<speak><say-as interpret-as='date' format='qq'>1</say-as></speak>", "format='qq'"),
        ("<speak><say-as interpret-as='characters'>a<s/></say-as></speak>", "<say-as> can hold only text"),
        ("<speak><sub>WWW</sub></speak>", "<sub> needs an alias"),
        ("<speak xml:lang='fr-FR'>Bonjour</speak>", "only English"),
        ("<speak>Hi <b>there</speak>", "<b> is not supported"),
        ("<speak>Hi there", "not well-formed: no element found (line 1"),
        ("<speak>Tom &amp Jerry</speak>", "not well-formed"),
        ("<speak>&lol;</speak>", "undefined entity"),
        ('<!DOCTYPE speak [<!ENTITY lol "lol">]><speak>&lol;</speak>', "<!DOCTYPE> is not allowed"),
        ("<?xml version='1.0'?><p>Hi</p>", "the root element must be <speak>"),
    ],
)
def test_bad_ssml_names_the_problem(ssml: str, message: str) -> None:
    with pytest.raises(ScriptError) as err:
        parse_input(ssml)
    assert message in str(err.value)


def test_only_a_lone_sentence_is_billed_up_front() -> None:
    assert lone_sentence(parse_input("Thank you for calling.")) == Speech("Thank you for calling.")
    assert lone_sentence(parse_input("<speak><prosody rate='fast'>Hi there.</prosody></speak>")) == Speech(
        "Hi there.", 1.25
    )
    assert lone_sentence(parse_input("Thank you. Goodbye.")) is None
    assert lone_sentence(parse_input("<speak>Hi <break time='1s'/></speak>")) is None
