"""Omni call records over real calls: every session leaves a record (live, then completed), the
stereo recording as heard, the consent line before the greeting, the summary, the signed
post-call extraction webhook, cross-org isolation, pagination, and the end of a record a crashed
server left in progress. Two calls in all: one spoken with an agent profile that records, one
typed without a profile."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
import wave
from collections.abc import Iterator
from contextlib import closing

import httpx
import numpy as np
import pytest

from pyai.store.ids import now_ms
from tests.contract import validate
from tests.media import flite_wav, pcm16, silence_pcm16
from tests.omni_client import RATE, Session, call, run
from tests.receiver import recording_handler, serving
from tests.server import Server
from tests.signing import verify

CONSENT = "This call is recorded for quality."
GREETING = "Welcome to Acme Hardware."
QUESTION = "What time does the store open on Saturday?"
TYPED = "My name is Ann Lee and my number is 555 123 4567."
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "phone": {"type": "string"}},
    "required": ["name", "phone"],
}


_Hooks = recording_handler()


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    with serving(_Hooks) as url:
        yield f"{url}/extracted"


@pytest.fixture(scope="module")
def owner(sqlite_server: Server) -> dict:
    return sqlite_server.create_key(scopes="omni:session,omni:read,transcribe:jobs")


@pytest.fixture(scope="module")
def api(sqlite_server: Server, owner: dict) -> httpx.Client:
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(owner["api_key"]), timeout=60)


def ended_record(api: httpx.Client, call_id: str, timeout: float = 60) -> dict:
    """The record once the call is over (it is completed as the socket closes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = api.get(f"/v1/omni/calls/{call_id}")
        if resp.status_code == 200 and resp.json()["status"] != "in_progress":
            return resp.json()
        time.sleep(0.2)
    raise AssertionError(f"call {call_id} never ended: {resp.status_code} {resp.text}")


@pytest.fixture(scope="module")
def spoken(sqlite_server: Server, owner: dict, api: httpx.Client, hooks: str) -> dict:
    """A spoken call with a recording agent: consent + greeting, a spoken question and its answer,
    a typed turn with a name and a number, then the caller hangs up."""
    agent = api.post(
        "/v1/agents",
        json={
            "name": "Recorded desk",
            "greeting": GREETING,
            "recordings_enabled": True,
            "consent_line": CONSENT,
            "goals": ["Tell the caller the Saturday opening hours", "Sell an extended warranty"],
            "extraction_schema": SCHEMA,
            "extraction_webhook_url": hooks,
        },
    )
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    sent = silence_pcm16(0.3, RATE) + pcm16(flite_wav(QUESTION), RATE) + silence_pcm16(2.0, RATE)

    async def body(s: Session) -> None:
        await s.until("agent.audio_end")  # consent and greeting, played
        mark = len(s.events)
        await s.say(sent)
        await s.until("caller.final", after=mark)
        await s.until("agent.audio_end", after=mark)
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": TYPED}))
        await s.until("caller.final", after=mark)
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    session, code = run(call(sqlite_server, owner["api_key"], body, query=f"session_label={agent_id}"))
    assert code == 1000, session.events
    call_id = next(e for e in session.events if e["type"] == "session.ready")["call_id"]
    return {"session": session, "agent_id": agent_id, "call_id": call_id, "sent": sent}


@pytest.fixture(scope="module")
def typed(sqlite_server: Server, owner: dict, api: httpx.Client) -> dict:
    """A typed call without a profile (no recording); its record is live while the call is."""
    live: dict = {}

    async def body(s: Session) -> None:
        ready = await s.until("session.ready")
        async with httpx.AsyncClient(base_url=api.base_url, headers=api.headers, timeout=30) as a:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the record is opened in the background
                resp = await a.get(f"/v1/omni/calls/{ready['call_id']}")
                if resp.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            live["record"] = resp.json()
            live["default_list"] = (await a.get("/v1/omni/calls", params={"session_label": "typed-desk"})).json()
            live["live_list"] = (await a.get("/v1/omni/calls", params={"status": "in_progress"})).json()
        await s.ws.send(json.dumps({"type": "text", "text": "Do you sell hammers?"}))
        await s.until("caller.final")
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    session, code = run(call(sqlite_server, owner["api_key"], body, query="session_label=typed-desk"))
    assert code == 1000, session.events
    call_id = next(e for e in session.events if e["type"] == "session.ready")["call_id"]
    return {"session": session, "call_id": call_id, **live}


def test_a_call_is_recorded_with_its_turns_and_end(spoken: dict, api: httpx.Client) -> None:
    session: Session = spoken["session"]
    ready = next(e for e in session.events if e["type"] == "session.ready")
    ended = next(e for e in session.events if e["type"] == "call.ended")
    assert ready["call_id"].startswith("call_") and ended["call_id"] == ready["call_id"]
    assert ended["reason"] == "caller_hangup" and ended["duration_ms"] > 3000
    record = ended_record(api, spoken["call_id"])
    validate(record, "OmniCall")
    assert record["status"] == "completed" and record["end_reason"] == "caller_hangup"
    assert record["agent_id"] == spoken["agent_id"] and record["session_label"] == spoken["agent_id"]
    assert record["duration_s"] == ended["duration_ms"] / 1000 and record["has_recording"] and record["has_summary"]
    assert record["ended_at"] - record["started_at"] == ended["duration_ms"]
    turns = record["transcript"]["turns"]
    assert turns[0] == {**turns[0], "speaker": "agent", "text": f"{CONSENT} {GREETING}", "interrupted": False}
    callers = [t for t in turns if t["speaker"] == "caller"]
    assert "saturday" in callers[0]["text"].lower() and callers[1]["text"] == TYPED
    assert [t["start_ms"] for t in turns] == sorted(t["start_ms"] for t in turns)
    assert all(t["start_ms"] <= t["end_ms"] <= ended["duration_ms"] for t in turns)
    answer = turns[turns.index(callers[0]) + 1]
    assert answer["speaker"] == "agent" and answer["text"] and not answer["interrupted"]
    if "interruption" in session.kinds():  # the hang-up cut the reply to the typed turn
        assert turns[-1]["speaker"] == "agent" and turns[-1]["interrupted"]


def test_the_consent_line_is_spoken_before_the_greeting(spoken: dict) -> None:
    texts = [e["text"] for e in spoken["session"].events if e["type"] == "agent.text"]
    assert texts[:2] == [CONSENT, GREETING]


def test_the_stereo_recording_carries_the_caller_left_and_the_agent_right(
    spoken: dict, api: httpx.Client, sqlite_server: Server
) -> None:
    record = ended_record(api, spoken["call_id"])
    resp = api.get(f"/v1/omni/calls/{spoken['call_id']}/recording")
    assert resp.status_code == 302 and resp.headers["location"].startswith(sqlite_server.url + "/v1/files/")
    audio = httpx.get(resp.headers["location"], timeout=60)  # a signed link: no key needed
    assert audio.status_code == 200 and "wav" in audio.headers["content-type"]
    as_url = api.get(f"/v1/omni/calls/{spoken['call_id']}/recording", params={"response": "url"}).json()
    validate(as_url, "OmniCallRecording")
    assert (
        0 < as_url["expires_in"] <= 3600 and abs(as_url["expires_at"] - now_ms() - as_url["expires_in"] * 1000) < 5000
    )
    assert httpx.get(as_url["url"], timeout=60).content == audio.content
    with wave.open(io.BytesIO(audio.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    caller, agent = stereo[:, 0].copy(), stereo[:, 1].copy()
    assert abs(len(stereo) / RATE - record["duration_s"]) < 3

    def rms(channel: np.ndarray, start_ms: int, end_ms: int) -> float:
        part = channel[start_ms * RATE // 1000 : end_ms * RATE // 1000].astype(np.float64)
        return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0

    turns = record["transcript"]["turns"]
    greeting, question = turns[0], next(t for t in turns if t["speaker"] == "caller")
    assert rms(agent, greeting["start_ms"], greeting["end_ms"]) > 300  # the greeting, on the agent's side
    assert rms(caller, greeting["start_ms"], greeting["end_ms"]) == 0  # the caller sent nothing meanwhile
    assert rms(caller, question["start_ms"] - 300, question["start_ms"] + 1500) > 300  # the question, heard
    # what went over the socket is in the recording bit for bit: the loudest 20 ms frame the caller
    # sent on the left, and a loud stretch of the agent audio the client received on the right
    frames = [spoken["sent"][i : i + 640] for i in range(0, len(spoken["sent"]), 640)]
    loudest = max(frames, key=lambda f: int(np.abs(np.frombuffer(f, dtype="<i2")).max()))
    assert loudest in caller.tobytes()
    received = np.frombuffer(bytes(spoken["session"].audio), dtype="<i2")
    loud = int(np.argmax(np.abs(received)))
    assert received[loud - 40 : loud + 40].tobytes() in agent.tobytes()


def test_the_summary_has_requests_answers_topics_goals_and_tools(spoken: dict, api: httpx.Client) -> None:
    ended_record(api, spoken["call_id"])
    resp = api.get(f"/v1/omni/calls/{spoken['call_id']}/summary")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    validate(body, "OmniCallSummary")
    summary = body["summary"]
    assert body["call_id"] == spoken["call_id"] and body["object"] == "omni.call.summary"
    assert any("saturday" in r.lower() for r in summary["caller_requests"]), summary
    assert summary["agent_answers"] and summary["topics"] and summary["text"]
    goals = {g["goal"]: g for g in summary["goals"]}
    assert goals["Sell an extended warranty"]["met"] is False
    assert isinstance(goals["Tell the caller the Saturday opening hours"]["met"], bool)
    assert summary["tool_outcomes"] == [] and summary["end_reason"] == "caller_hangup"


def test_extraction_is_posted_signed_and_stored(spoken: dict, api: httpx.Client) -> None:
    secret = api.get("/v1/webhooks/secret").json()["secret"]
    deadline = time.monotonic() + 60
    found = None
    while time.monotonic() < deadline and found is None:
        found = next((r for r in _Hooks.received if json.loads(r[1])["data"]["call_id"] == spoken["call_id"]), None)
        time.sleep(0.2)
    assert found is not None, "no omni.call.extracted delivery"
    headers, raw = found
    assert verify(secret, headers["X-PyAI-Signature"], raw) and headers["X-PyAI-Event"] == "omni.call.extracted"
    event = json.loads(raw)
    data = event["data"]
    assert event["type"] == "omni.call.extracted" and data["agent_id"] == spoken["agent_id"]
    assert "ann lee" in str(data["extracted"].get("name", "")).lower(), data
    assert "".join(c for c in str(data["extracted"].get("phone", "")) if c.isdigit()) == "5551234567", data
    assert data["missing"] == []
    record = ended_record(api, spoken["call_id"])
    deadline = time.monotonic() + 30
    while record["extraction"]["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
        record = api.get(f"/v1/omni/calls/{spoken['call_id']}").json()
    assert record["extraction"] == {"status": "completed", "data": data["extracted"], "missing": []}


def test_a_live_call_has_a_record_in_progress(typed: dict) -> None:
    assert typed["record"]["status"] == "in_progress" and typed["record"]["duration_s"] is None
    assert typed["call_id"] not in [c["call_id"] for c in typed["default_list"]["data"]]
    assert typed["call_id"] in [c["call_id"] for c in typed["live_list"]["data"]]


def test_a_typed_call_without_recording(typed: dict, api: httpx.Client) -> None:
    record = ended_record(api, typed["call_id"])
    assert record["status"] == "completed" and record["agent_id"] is None and not record["has_recording"]
    assert record["session_label"] == "typed-desk" and "recording_url" not in record
    assert [t["text"] for t in record["transcript"]["turns"] if t["speaker"] == "caller"] == ["Do you sell hammers?"]
    assert record["extraction"] is None
    resp = api.get(f"/v1/omni/calls/{typed['call_id']}/recording")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert api.get(f"/v1/omni/calls/{typed['call_id']}/summary").status_code == 200


def test_list_filters_and_pages_newest_first(spoken: dict, typed: dict, api: httpx.Client) -> None:
    ended_record(api, spoken["call_id"])
    ended_record(api, typed["call_id"])
    first = api.get("/v1/omni/calls", params={"limit": 1})
    assert first.status_code == 200
    validate(first.json(), "OmniCallList")
    page1 = first.json()
    assert page1["has_more"] and page1["next_cursor"] and page1["data"][0]["call_id"] == typed["call_id"]
    page2 = api.get("/v1/omni/calls", params={"limit": 1, "cursor": page1["next_cursor"]}).json()
    assert page2["data"][0]["call_id"] == spoken["call_id"] and not page2["has_more"]
    assert page2["next_cursor"] is None
    item = page2["data"][0]
    assert item["object"] == "omni.call" and item["has_recording"] and "transcript" not in item
    by_label = api.get("/v1/omni/calls", params={"session_label": "typed-desk"}).json()["data"]
    assert [c["call_id"] for c in by_label] == [typed["call_id"]]
    by_agent = api.get("/v1/omni/calls", params={"agent_id": spoken["agent_id"]}).json()["data"]
    assert [c["call_id"] for c in by_agent] == [spoken["call_id"]]
    after = api.get("/v1/omni/calls", params={"started_after": page1["data"][0]["started_at"]}).json()["data"]
    assert [c["call_id"] for c in after] == [typed["call_id"]]
    assert api.get("/v1/omni/calls", params={"cursor": "nonsense!"}).status_code == 400


def test_another_org_sees_nothing(spoken: dict, api: httpx.Client, sqlite_server: Server) -> None:
    other = sqlite_server.create_key(scopes="omni:read")["api_key"]
    c = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(other), timeout=30)
    for path in ("", "/recording", "/summary"):
        resp = c.get(f"/v1/omni/calls/{spoken['call_id']}{path}")
        assert resp.status_code == 404, (path, resp.text)
    assert c.get("/v1/omni/calls").json()["data"] == []
    no_scope = sqlite_server.create_key(scopes="omni:session")["api_key"]
    resp = httpx.get(sqlite_server.url + "/v1/omni/calls", headers=sqlite_server.headers(no_scope))
    assert resp.status_code == 403


def test_a_record_left_in_progress_by_a_dead_server_ends_as_failed(sqlite_server: Server) -> None:
    """A crashed replica's record: its heartbeat stopped 10 minutes ago, so the next read ends it."""
    owner = sqlite_server.create_key(scopes="omni:read")
    api = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(owner["api_key"]), timeout=30)
    started, beat = now_ms() - 3_600_000, now_ms() - 600_000
    turns = [
        {"speaker": "caller", "text": "Hello, is anyone there?", "start_ms": 0, "end_ms": 900, "interrupted": False}
    ]
    with closing(sqlite3.connect(sqlite_server.data_dir / "pyai.db", timeout=30)) as db:
        db.execute(
            "INSERT INTO omni_calls (id, org_id, status, rate, started_at, turns, tools, created_at, updated_at)"
            " VALUES (?, ?, 'in_progress', 16000, ?, ?, '[]', ?, ?)",
            ("call_crashed", owner["org_id"], started, json.dumps(turns), started, beat),
        )
        db.commit()
    record = api.get("/v1/omni/calls/call_crashed").json()
    validate(record, "OmniCall")
    assert record["status"] == "failed" and record["end_reason"] == "server_error" and record["error"]
    assert record["ended_at"] == beat and record["duration_s"] == (beat - started) / 1000
    assert record["has_summary"] and record["transcript"]["turns"] == turns
