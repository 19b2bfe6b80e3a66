"""An Omni call whose brain is an OpenAI-compatible model (a scripted server speaking the real
SSE wire format): the persona and the agent's tools reach the model, its streamed sentences are
spoken as they arrive, and its ``collect`` call gathers the caller's keypad digits, which go back
to the model as the tool's answer in the chat-completions shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import start_server
from tests.llm_server import ScriptedLLM, call_args, call_start, say
from tests.omni_client import Session, call, run
from tests.server import Server

PERSONA = "You are the billing line of Acme Power. Be brief."


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Server]:
    srv, _ = start_server(tmp_path_factory.mktemp("srv-llm"), "sqlite", llm.server_env)
    yield srv
    srv.stop()


def test_the_model_speaks_calls_collect_and_hears_the_keys(llm_server: Server, llm: ScriptedLLM) -> None:
    key = llm_server.create_key(scopes="omni:*")["api_key"]
    c = httpx.Client(base_url=llm_server.url, headers=llm_server.headers(key), timeout=30)
    agent = c.post(
        "/v1/agents",
        json={
            "name": "Billing",
            "greeting": "",
            "persona_system_prompt": PERSONA,
            "goals": ["Take the account number", "Offer paperless billing"],
            "tools": [{"tool_id": "tool_collect"}, {"tool_id": "tool_end_call"}],
        },
    )
    assert agent.status_code == 201, agent.text
    prompt = "Please type your account number, then press pound."
    arguments = json.dumps({"prompt": prompt, "digits": 8})
    llm.stream(*say("Sure, I can help with th", "at. "), call_start(0, "call_acct", "collect"), call_args(0, arguments))
    llm.stream(*say("Thanks. Account 1234 is paid in full. Anything else?"))
    written = {
        "summary": "The caller paid the bill on account 1234.",
        "goals": [{"goal": "Take the account number", "met": True, "evidence": "account 1234"}],
    }
    llm.stream(*say("Here it is: ", json.dumps(written)[:30], json.dumps(written)[30:]))  # the post-call summary

    async def body(s: Session) -> None:
        await s.until("session.ready")
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "I'd like to pay my bill."}))
        collect = await s.until("tool_call", after=mark)
        assert collect["name"] == "collect" and collect["kind"] == "engine"
        said = [e["text"] for e in s.events[mark:] if e["type"] == "agent.text"]
        assert said[:1] == ["Sure, I can help with that."]
        assert (await s.until("agent.text", after=s.events.index(collect)))["text"] == prompt
        await s.ws.send(json.dumps({"type": "dtmf", "digits": "12"}))
        await s.ws.send(json.dumps({"type": "dtmf", "digits": "34#"}))
        result = await s.until("tool_result", after=mark)
        assert result["status"] == "ok" and result["result"]["digits"] == "1234"
        answer = await s.until("agent.text", after=s.events.index(result))
        assert answer["text"] == "Thanks."
        await s.ws.send(json.dumps({"type": "end"}))

    session, code = run(call(llm_server, key, body, query=f"session_label={agent.json()['agent_id']}"))
    assert code == 1000
    call_id = session.events[0]["call_id"]
    deadline = time.monotonic() + 60
    while (summary := c.get(f"/v1/omni/calls/{call_id}/summary")).status_code != 200:
        assert time.monotonic() < deadline, summary.text  # the record completes just after the close
        time.sleep(0.2)
    summary = summary.json()["summary"]
    assert summary["generator"] == "llm:scripted-model" and summary["text"] == written["summary"]
    taken, paperless = summary["goals"]
    assert taken["met"] is True and taken["evidence"] == "account 1234"
    assert paperless["goal"] == "Offer paperless billing" and paperless["met"] is False  # the model left it out
    assert "Caller: I'd like to pay my bill." in llm.requests[-1].body["messages"][1]["content"]
    first, second = llm.requests[-3:-1]
    assert first.body["model"] == "scripted-model" and first.body["stream"] is True
    assert first.body["messages"][0] == {"role": "system", "content": PERSONA}
    assert {t["function"]["name"] for t in first.body["tools"]} == {"collect", "end_call"}
    assistant, tool = second.body["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_acct"
    assert tool["tool_call_id"] == "call_acct" and json.loads(tool["content"])["result"]["digits"] == "1234"


def test_trace_asks_the_model_for_tier2_findings_and_keeps_only_valid_ones(
    llm_server: Server, llm: ScriptedLLM
) -> None:
    key = llm_server.create_key(scopes="omni:*,trace:*")["api_key"]
    c = httpx.Client(base_url=llm_server.url, headers=llm_server.headers(key), timeout=30)
    agent = c.post("/v1/agents", json={"name": "Renewals", "greeting": ""})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    traced = c.put("/v1/trace/config", json={"agent_id": agent_id, "config": {"enabled": True}})
    assert traced.status_code == 200, traced.text
    llm.stream(*say("No problem, we will call you again tomorrow."))  # the brain
    llm.stream(*say(json.dumps({"summary": "The caller was unsure about more calls.", "goals": []})))
    judged = {
        "findings": [
            {
                "check_id": "ambiguous_optout",
                "turn": 0,
                "severity": "medium",
                "confidence": 0.8,
                "reason": "The caller hinted they want no more calls; the agent promised another.",
                "action": "preempt_next",
                "preempt_instruction": "Offer to add the number to the do-not-call list.",
            },
            {"check_id": "made_up_check", "turn": 0, "severity": "low", "reason": "x"},
            {"check_id": "brand_tone", "turn": 99, "severity": "low", "reason": "no such turn"},
        ]
    }
    llm.stream(*say(json.dumps(judged)))  # the Tier-2 review, after the scorecard

    async def body(s: Session) -> None:
        await s.until("session.ready")
        await s.ws.send(json.dumps({"type": "text", "text": "I don't know if I want these calls anymore."}))
        await s.until("agent.audio_end")
        await s.ws.send(json.dumps({"type": "end"}))

    session, code = run(call(llm_server, key, body, query=f"session_label={agent_id}"))
    assert code == 1000
    call_id = session.events[0]["call_id"]
    deadline = time.monotonic() + 60
    while not (found := c.get("/v1/trace/findings", params={"interaction_id": call_id}).json()["data"]):
        assert time.monotonic() < deadline, "no Tier-2 findings"
        time.sleep(0.2)
    by_model = [f for f in found if f["method"] == "llm"]
    assert [f["check_id"] for f in by_model] == ["ambiguous_optout"], found
    assert by_model[0]["action"] == "preempt_next" and by_model[0]["speaker"] == "caller"
    assert "Agent: No problem, we will call you again tomorrow." in llm.requests[-1].body["messages"][1]["content"]
    detail = c.get(f"/v1/trace/interactions/{call_id}").json()
    assert {f["id"] for f in detail["tier2_findings"]} == {f["id"] for f in found}
