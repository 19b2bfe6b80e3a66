"""The LLM-written recap over real HTTP with the real ``openai`` SDK, against the scripted
OpenAI-compatible server (tests/llm_server.py): the JSON asked for, its validation, and the
embedded recap standing (``embedded_fallback``) whenever the model fails or answers badly."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import openai
import pytest

from pyai.recap.builder import build_embedded_recap, build_recap
from pyai.recap.llm import llm_for
from tests.llm_server import ScriptedLLM, say

CALL_DATE = datetime.date(2026, 11, 20)
CALL = [
    {"speaker": "agent", "text": "Hi, this is Ava from Northwind. Is now a good time?"},
    {"speaker": "caller", "text": "Sure. We might look at forecasting tools in Q2, budget maybe 20k. This is great."},
    {"speaker": "agent", "text": "I'll email you a short overview today."},
]
ANSWER = {
    "tldr": "Prospect open to forecasting tools in Q2 with a budget near 20k.",
    "summary": "Ava called Northwind's prospect, who may evaluate tools in Q2. The agent will send an overview.",
    "outcome": "interested",
    "next_steps": ["Send the overview", "  "],
    "action_items": [{"owner": "agent", "text": "Email a short overview today"}],
    "extracted": {"budget": 20000, "timeline": "Q2", "decision_maker": None, "objection": "cheap", "extra": 1},
}


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(models=("recap-model",)) as server:
        yield server


@pytest.fixture
async def client(llm: ScriptedLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=llm.url, api_key="sk-test", max_retries=0, timeout=10)
    yield c
    await c.close()
    assert llm.pending == 0, "a scripted reply was never asked for"


def pieces(answer: dict) -> list[dict]:
    text = json.dumps(answer)
    return say(text[:17], text[17:60], text[60:])  # the JSON arrives in fragments


async def test_the_model_writes_the_record(llm: ScriptedLLM, client: openai.AsyncOpenAI) -> None:
    llm.stream(*pieces(ANSWER))
    r = await build_recap(CALL, "sales_outbound", llm=client, model="recap-model", today=CALL_DATE)
    embedded = build_embedded_recap(CALL, "sales_outbound", today=CALL_DATE)

    assert (r["method"], r["model"], r["fallback_reason"]) == ("llm", "recap-model", None)
    assert r["tldr"] == ANSWER["tldr"] and r["summary"] == ANSWER["summary"]
    assert r["outcome"] == "interested"
    assert r["next_steps"] == ["Send the overview"]
    assert r["action_items"] == [{"owner": "agent", "text": "Email a short overview today"}]
    assert r["extracted"] == {  # every pack field; a value off its schema dropped, unknown keys ignored
        "budget": 20000,
        "timeline": "Q2",
        "decision_maker": None,
        "next_meeting": None,
        "callback_when": None,
        "objection": None,
    }
    assert r["sentiment"] == embedded["sentiment"] and r["topics"] == embedded["topics"]  # counted, not asked

    sent = llm.requests[-1].body
    assert sent["model"] == "recap-model" and sent["stream"] is True and sent["temperature"] == 0
    assert sent["response_format"] == {"type": "json_object"}
    system, user = sent["messages"]
    assert '"meeting_booked"' in system["content"] and '"budget"' in system["content"]
    assert user["content"].startswith("Call date: 2026-11-20\n\nTranscript:\nAgent: Hi, this is Ava")
    assert "Caller: Sure. We might look at forecasting tools in Q2" in user["content"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({**ANSWER, "outcome": "maybe"}, "the model's outcome 'maybe' is not one of"),
        ({**ANSWER, "tldr": ""}, "the model's answer has no tldr"),
        ({**ANSWER, "action_items": [{"owner": "boss", "text": "x"}]}, "an action item of the model's"),
        ({**ANSWER, "next_steps": "call back"}, "the model's next_steps is not a list of strings"),
        ({**ANSWER, "extracted": ["budget"]}, "the model's extracted is not an object"),
    ],
)
async def test_an_invalid_answer_leaves_the_embedded_recap(
    llm: ScriptedLLM, client: openai.AsyncOpenAI, answer: dict, reason: str
) -> None:
    llm.stream(*pieces(answer))
    r = await build_recap(CALL, "sales_outbound", llm=client, model="recap-model", today=CALL_DATE)
    embedded = build_embedded_recap(CALL, "sales_outbound", today=CALL_DATE)
    assert r["method"] == "embedded_fallback" and r["fallback_reason"].startswith(reason)
    assert {k: v for k, v in r.items() if k not in ("method", "fallback_reason")} == {
        k: v for k, v in embedded.items() if k not in ("method", "fallback_reason")
    }


async def test_prose_or_a_failing_endpoint_leaves_the_embedded_recap(
    llm: ScriptedLLM, client: openai.AsyncOpenAI
) -> None:
    llm.stream(*say("Here is the recap: the caller was interested."))
    r = await build_recap(CALL, "sales_outbound", llm=client, model="recap-model", today=CALL_DATE)
    assert (r["method"], r["fallback_reason"]) == ("embedded_fallback", "the model's answer is not JSON")

    llm.fail(500, "overloaded")
    r = await build_recap(CALL, "sales_outbound", llm=client, model="recap-model", today=CALL_DATE)
    assert (r["method"], r["fallback_reason"]) == ("embedded_fallback", "the LLM call failed (InternalServerError)")
    assert r["outcome"] == "no_decision"  # the embedded reading: "might look at" is no cue of interest


async def test_a_model_name_is_required_and_a_silent_call_is_not_sent(
    llm: ScriptedLLM, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(ValueError, match="model"):
        await build_recap(CALL, llm=client)
    asked = len(llm.requests)
    r = await build_recap([], llm=client, model="recap-model")
    assert (r["method"], r["fallback_reason"]) == ("embedded_fallback", "the call has no words to recap")
    assert len(llm.requests) == asked


def test_llm_for_is_none_without_an_endpoint() -> None:
    assert llm_for(SimpleNamespace(settings=SimpleNamespace(llm_base_url=None))) is None
