"""The LLM brain over real HTTP with the real ``openai`` SDK, against the scripted
OpenAI-compatible server of ``tests/llm_server.py``: sentences streamed as the tokens come, tool
calls assembled from their deltas, knowledge injected before the caller's message, failures
answered with an apology, and the factory choosing the brain and the model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest

from pyai.doctor import _brain as doctor_brain_check
from pyai.omni.brain import DONT_KNOW, EmbeddedBrain
from pyai.omni.brains import build_brain, describe_brain, display_url
from pyai.omni.llm_brain import APOLOGY, KNOWLEDGE_HEADER, MAX_KNOWLEDGE_CHARS, LlmBrain
from pyai.omni.steps import CallTool, Say
from pyai.services import Services
from pyai.settings import Settings
from tests.llm_server import Drop, ErrorEvent, Hold, ScriptedLLM, call_args, call_start, say

PERSONA = {"role": "system", "content": "You are Ava, the front desk of Elm Street Dental. Be brief."}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "book_appointment",
            "description": "Book a dental appointment.",
            "parameters": {
                "type": "object",
                "properties": {"day": {"type": "string"}, "time": {"type": "string"}},
                "required": ["day"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup_patient",
            "description": "Find a patient record.",
            "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
    {"type": "function", "function": {"name": "end_call", "description": "Hang up.", "parameters": {"type": "object"}}},
]


def conversation(*turns: str) -> list[dict]:
    """The persona, then caller and agent turns alternating, the caller's last."""
    roles = ["user", "assistant"] * len(turns)
    return [PERSONA, *({"role": r, "content": t} for r, t in zip(roles, turns, strict=False))]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(models=("house-model", "agent-model")) as server:
        yield server


@pytest.fixture
async def client(llm: ScriptedLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=llm.url, api_key="sk-test", max_retries=0, timeout=10)
    yield c
    await c.close()
    assert llm.pending == 0, "a scripted reply was never asked for"


async def steps_of(brain, messages: list[dict], tools: list[dict] | None = None) -> list:  # noqa: ANN001
    return [step async for step in brain.reply(messages, tools or [])]


async def test_sentences_are_said_while_the_model_is_still_writing(
    llm: ScriptedLLM, client: openai.AsyncOpenAI
) -> None:
    hold = Hold()
    llm.stream(
        *say("Sure! Dr", ". Pat", "el can see you at 3", ".5 hours from now, e.g. at no", "on. Shall I"),
        hold,  # the server sends nothing more until the test has heard the first sentences
        *say(" book it", "?"),
    )
    messages = conversation("Can I see a dentist today?")
    replies = LlmBrain(client, "house-model").reply(messages, TOOLS)
    first = await asyncio.wait_for(anext(replies), 10)  # a guard against a hang, not a timing check
    second = await asyncio.wait_for(anext(replies), 10)
    assert (first, second) == (Say("Sure!"), Say("Dr. Patel can see you at 3.5 hours from now, e.g. at noon."))
    assert hold.reached.is_set() and not hold.released.is_set()  # both came before the stream went on
    hold.release()
    assert [step async for step in replies] == [Say("Shall I book it?")]

    sent = llm.requests[-1].body
    assert sent["model"] == "house-model" and sent["stream"] is True
    assert sent["messages"] == messages  # the persona first, nothing injected without retrieval
    assert sent["tools"] == TOOLS
    assert "temperature" not in sent and "seed" not in sent and sent["max_tokens"] > 0
    assert llm.requests[-1].headers["authorization"] == "Bearer sk-test"


async def test_parallel_tool_calls_are_assembled_from_their_deltas(
    llm: ScriptedLLM, client: openai.AsyncOpenAI
) -> None:
    llm.stream(
        *say("One moment while I ", "check."),
        call_start(0, "call_book", "book_appointment"),
        call_args(0, '{"da'),
        call_start(1, "call_find", "lookup_"),  # the second call starts before the first is done
        call_args(1, '{"name": "Jo'),
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": 'y": "Tuesday", '}},
                {"index": 1, "function": {"name": "patient", "arguments": 'rdan Lee"}'}},
            ]
        },
        call_args(0, '"time": "9:30 a.m."}'),
        finish_reason="tool_calls",
    )
    steps = await steps_of(LlmBrain(client, "house-model"), conversation("Book me Tuesday, I'm Jordan Lee."), TOOLS)
    assert steps == [
        Say("One moment while I check."),
        CallTool("call_book", "book_appointment", {"day": "Tuesday", "time": "9:30 a.m."}),
        CallTool("call_find", "lookup_patient", {"name": "Jordan Lee"}),
    ]


async def test_end_call_is_a_tool_call_like_any_other(llm: ScriptedLLM, client: openai.AsyncOpenAI) -> None:
    llm.stream(*say("Goodbye!"), call_start(0, None, "end_call"), finish_reason="tool_calls")  # no id, no arguments
    steps = await steps_of(LlmBrain(client, "house-model"), conversation("That's all, bye."), TOOLS)
    assert steps[0] == Say("Goodbye!") and len(steps) == 2
    assert isinstance(steps[1], CallTool) and steps[1].name == "end_call" and steps[1].arguments == {}
    assert steps[1].call_id.startswith("call_")  # the server gave none: one is made up


async def test_a_call_with_broken_arguments_is_skipped(llm: ScriptedLLM, client: openai.AsyncOpenAI) -> None:
    llm.stream(
        call_start(0, "call_bad", "book_appointment", '{"day": "Tues'),  # cut off: not JSON
        call_start(1, "call_list", "lookup_patient", '["Jordan"]'),  # JSON, but not an object
        call_start(2, "call_ok", "lookup_patient", '{"name": "Jordan"}'),
        finish_reason="tool_calls",
    )
    steps = await steps_of(LlmBrain(client, "house-model"), conversation("Find Jordan."), TOOLS)
    assert steps == [CallTool("call_ok", "lookup_patient", {"name": "Jordan"})]
    llm.stream(call_start(0, "call_bad", "book_appointment", "{day: Tuesday}"), finish_reason="tool_calls")
    steps = await steps_of(LlmBrain(client, "house-model"), conversation("Tuesday."), TOOLS)
    assert steps == [Say(APOLOGY)]  # nothing usable came back: the caller is not left in silence


async def test_knowledge_goes_right_before_the_callers_latest_message(
    llm: ScriptedLLM, client: openai.AsyncOpenAI
) -> None:
    asked: list[str] = []

    async def retrieve(query: str) -> list[dict]:
        asked.append(query)
        return [
            {"content": "Opening hours.\n We are open   Monday to Friday, 8 to 6.", "score": 0.9},
            {"content": "We are closed on public holidays.", "score": 0.5},
        ]

    brain = LlmBrain(client, "house-model", retrieve=retrieve)
    messages = conversation("Hi.", "Hello, how can I help?", "Are you open on Saturday?")
    llm.stream(*say("No, we're open Monday to Friday."))
    assert await steps_of(brain, messages) == [Say("No, we're open Monday to Friday.")]
    assert asked == ["Are you open on Saturday?"]
    sent = llm.requests[-1].body["messages"]
    assert sent[:3] == messages[:3] and sent[4:] == messages[3:]  # persona and history untouched
    assert sent[3] == {
        "role": "system",
        "content": f"{KNOWLEDGE_HEADER}\n\n[1] Opening hours. We are open Monday to Friday, 8 to 6."
        "\n\n[2] We are closed on public holidays.",
    }
    assert len(messages) == 4  # the conversation's own list is not touched

    # after a tool call the same caller message is answered again: the passages stay before it
    followup = [
        *messages,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup_patient", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"found": false}'},
    ]
    llm.stream(*say("Anything else?"))
    await steps_of(brain, followup)
    sent = llm.requests[-1].body["messages"]
    assert sent[3]["role"] == "system" and sent[4] == messages[3] and sent[5:] == followup[4:]
    assert asked == ["Are you open on Saturday?"]  # retrieved once for that message


async def test_knowledge_is_capped_and_grounding_fails_open(llm: ScriptedLLM, client: openai.AsyncOpenAI) -> None:
    async def plenty(query: str) -> list[dict]:
        return [{"content": f"Passage {i}. " + "lorem ipsum dolor " * 100, "score": 1.0} for i in range(10)]

    llm.stream(*say("Okay."))
    await steps_of(LlmBrain(client, "house-model", retrieve=plenty), conversation("Tell me everything."))
    injected = llm.requests[-1].body["messages"][1]["content"]
    assert injected.startswith(KNOWLEDGE_HEADER) and len(injected) <= len(KNOWLEDGE_HEADER) + MAX_KNOWLEDGE_CHARS

    async def broken(query: str) -> list[dict]:
        raise RuntimeError("knowledge endpoint down")

    llm.stream(*say("Hello!"))
    messages = conversation("Hello?")
    assert await steps_of(LlmBrain(client, "house-model", retrieve=broken), messages) == [Say("Hello!")]
    assert llm.requests[-1].body["messages"] == messages


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("http 500", []),
        ("http 401", []),
        ("dropped mid-stream", [Say("Let me see.")]),
        ("error event mid-stream", [Say("Let me see.")]),
    ],
)
async def test_an_api_failure_is_an_apology(
    llm: ScriptedLLM, client: openai.AsyncOpenAI, script: str, said: list
) -> None:
    if script == "http 500":
        llm.fail(500, "upstream overloaded")
    elif script == "http 401":
        llm.fail(401, "Incorrect API key provided", code="invalid_api_key")
    else:
        end = Drop() if script.startswith("dropped") else ErrorEvent()
        llm.stream(*say("Let me see. The ans"), end)
    steps = await steps_of(LlmBrain(client, "house-model"), conversation("What's my balance?"), TOOLS)
    assert steps == [*said, Say(APOLOGY)]


async def test_a_timeout_is_an_apology(llm: ScriptedLLM) -> None:
    hold = Hold()  # released only when the server stops
    llm.stream(hold, *say("Too late."))
    impatient = openai.AsyncOpenAI(base_url=llm.url, api_key="sk-test", max_retries=0, timeout=0.5)
    try:
        steps = await steps_of(LlmBrain(impatient, "house-model"), conversation("Hello?"))
    finally:
        hold.release()
        await impatient.close()
    assert steps == [Say(APOLOGY)]


async def test_cancellation_leaves_reply(llm: ScriptedLLM, client: openai.AsyncOpenAI) -> None:
    """Barge-in cancels the brain's task: that is the one exception that gets out of ``reply``."""
    hold = Hold()
    llm.stream(*say("Let me think. Hmm"), hold, *say(", done."))  # the space ends the first sentence
    said: list = []
    first = asyncio.Event()

    async def think() -> None:
        async for step in LlmBrain(client, "house-model").reply(conversation("Hmm?"), []):
            said.append(step)
            first.set()

    task = asyncio.create_task(think())
    await asyncio.wait_for(first.wait(), 10)  # a guard against a hang, not a timing check
    assert hold.reached.is_set()  # the brain is now waiting for the held rest of the stream
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    hold.release()
    assert said == [Say("Let me think.")]


@pytest.fixture
async def services(tmp_path: Path, llm: ScriptedLLM) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path,
        llm_base_url=llm.url,
        llm_api_key="sk-deployment-secret",
        llm_model="house-model",
        llm_timeout_seconds=10,
    )
    built = Services.build(settings)
    yield built
    await built.close()


async def test_the_factory_uses_the_agents_brain_model_over_the_default(llm: ScriptedLLM, services: Services) -> None:
    agent = build_brain(services, model="agent-model", temperature=0.3, seed=7)
    default = build_brain(services, model="default")
    unset = build_brain(services, model=None)
    assert isinstance(agent, LlmBrain) and isinstance(default, LlmBrain) and isinstance(unset, LlmBrain)
    assert agent.client is default.client is unset.client  # one client (one connection pool) per process

    for brain, model in ((agent, "agent-model"), (default, "house-model"), (unset, "house-model")):
        llm.stream(*say("Hi."))
        assert await steps_of(brain, conversation("Hello.")) == [Say("Hi.")]
        assert llm.requests[-1].body["model"] == model
        assert llm.requests[-1].headers["authorization"] == "Bearer sk-deployment-secret"
    assert llm.requests[-3].body["temperature"] == 0.3 and llm.requests[-3].body["seed"] == 7
    assert "temperature" not in llm.requests[-1].body

    await services.close()
    assert agent.client.is_closed()  # the services close it with the rest


async def test_without_a_base_url_the_factory_gives_the_embedded_brain(tmp_path: Path) -> None:
    built = Services.build(Settings(data_dir=tmp_path, llm_base_url=None))
    try:
        brain = build_brain(built, model="agent-model", temperature=0.3, seed=7)
        assert isinstance(brain, EmbeddedBrain)
        assert await steps_of(brain, conversation("What is the meaning of life?")) == [Say(DONT_KNOW)]
        assert "llm_client" not in built.extras
    finally:
        await built.close()


def test_models_and_doctor_say_which_brain_answers(llm: ScriptedLLM) -> None:
    embedded = Settings(llm_base_url=None)
    described = describe_brain(embedded)
    assert described["name"] == "embedded" and "no language model" in described["description"]
    check = doctor_brain_check(embedded)
    assert check.ok and check.name == "brain: embedded"

    remote = Settings(llm_base_url=llm.url, llm_api_key="sk-deployment-secret", llm_model="house-model")
    described = describe_brain(remote)
    assert described["name"] == "openai-compatible" and described["model"] == "house-model"
    assert "sk-deployment-secret" not in str(described) and llm.url not in str(described)
    check = doctor_brain_check(remote)
    assert check.ok and check.name == "brain: openai endpoint", check
    assert llm.url in check.detail and "house-model listed" in check.detail
    assert "sk-deployment-secret" not in check.detail
    assert llm.requests[-1].path == "/v1/models"
    assert llm.requests[-1].headers["authorization"] == "Bearer sk-deployment-secret"

    unknown = Settings(llm_base_url=llm.url, llm_model="missing-model")
    assert "not listed" in doctor_brain_check(unknown).detail
    down = doctor_brain_check(Settings(llm_base_url="http://127.0.0.1:9/v1"))
    assert not down.ok and "PYAI_LLM_BASE_URL" in down.fix
    assert display_url("https://user:pw@llm.internal:8443/v1") == "https://llm.internal:8443/v1"
