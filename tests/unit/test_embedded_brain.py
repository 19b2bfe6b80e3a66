"""The embedded brain: call intents, answers read from retrieved knowledge, and an honest
"I don't know" when nothing retrieved answers the question."""

from __future__ import annotations

import asyncio

import pytest

from pyai.omni.brain import DONT_KNOW, GOODBYE, HELLO, HOLD, PERSON, THANKS, EmbeddedBrain, EndCall, Say

HOURS = {
    "content": "Opening hours. We are open Monday to Friday from nine until six. "
    "On Saturday the store opens at ten and closes at four. We are closed on Sunday.",
    "score": 0.0,  # BM25 over a one-document knowledge base scores 0: relevance is the shared words
}
RETURNS = {"content": "Returns. You can return any item within thirty days with the receipt.", "score": 0.4}


def reply(said: str, passages: list[dict]) -> list:
    async def retrieve(query: str) -> list[dict]:
        return passages

    async def go() -> list:
        messages = [{"role": "system", "content": "persona"}, {"role": "user", "content": said}]
        return [step async for step in EmbeddedBrain(retrieve).reply(messages)]

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("said", "steps"),
    [
        ("Okay, that's all. Goodbye!", [Say(GOODBYE), EndCall()]),
        ("Can I talk to a real person please", [Say(PERSON)]),
        ("Thank you.", [Say(THANKS)]),
        ("Hello!", [Say(HELLO)]),
        ("Hi there.", [Say(HELLO)]),
        ("Hold on, let me find my card.", [Say(HOLD)]),
        ("Can you give me a second?", [Say(HOLD)]),
    ],
)
def test_intents(said: str, steps: list) -> None:
    assert reply(said, [HOURS]) == steps


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("What time does the store open on Saturday?", "On Saturday the store opens at ten and closes at four."),
        ("are you open on sunday", "We are closed on Sunday."),
        (
            "How many days do I have to return something?",
            "You can return any item within thirty days with the receipt.",
        ),
    ],
)
def test_answers_with_the_sentence_that_matches_the_question(said: str, answer: str) -> None:
    assert reply(said, [HOURS, RETURNS]) == [Say(answer)]


def test_says_it_does_not_know_when_nothing_matches() -> None:
    assert reply("Do you sell gift cards?", [HOURS]) == [Say(DONT_KNOW)]
    assert reply("What time do you open?", []) == [Say(DONT_KNOW)]
