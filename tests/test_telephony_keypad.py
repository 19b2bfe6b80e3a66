"""A phone call through the Twilio bridge to an agent whose brain is an OpenAI-compatible model (a
scripted server speaking the real SSE format), recorded, traced and recapped: the consent line and
greeting play, the caller asks, the model calls ``collect`` and the caller's keypad digits (Twilio
``dtmf`` frames) come back to it as the tool's answer, the model's ``send_dtmf`` reaches the caller
as real keypad tones; afterwards the call's record carries the numbers, the bridge's stereo 8 kHz
recording holds both sides, Trace scores it, Recap writes it up and both meters are charged."""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests.conftest import start_server
from tests.llm_server import ScriptedLLM, call_args, call_start, say
from tests.media_stream_client import SILENCE, MediaStream, spoken_ulaw, stream_of, voice_webhook
from tests.server import Server
from tests.twilio_double import TwilioDouble

NUMBER = "+14155550123"
CALLER = "+12125550100"
CONSENT = "This call is recorded."
PROMPT = "Please type your account number, then press pound."


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Server]:
    server, _ = start_server(tmp_path_factory.mktemp("srv-phone-llm"), "sqlite", llm.server_env)
    yield server
    server.stop()


def dtmf_keys_heard(pcm16: bytes, rate: int = 8000) -> str:
    """The keypad keys in a stretch of audio: 40 ms windows whose two strongest DTMF frequencies
    are one low and one high tone, well above the rest (a small Goertzel-style detector)."""
    low, high = (697, 770, 852, 941), (1209, 1336, 1477, 1633)
    keys = ("123A", "456B", "789C", "*0#D")
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    window = rate * 40 // 1000
    t = np.arange(window) / rate
    heard, last = "", None
    for i in range(0, len(samples) - window, window):
        part = samples[i : i + window]
        power = {f: abs(np.dot(part, np.exp(-2j * np.pi * f * t))) for f in low + high}
        lo, hi = max(low, key=power.get), max(high, key=power.get)
        rest = sorted(power.values())[-3]
        key = keys[low.index(lo)][high.index(hi)] if min(power[lo], power[hi]) > 4 * rest + 1e3 else None
        if key is not None and key != last:
            heard += key
        last = key
    return heard


def test_a_recorded_phone_call_collects_keys_sends_tones_and_is_scored_and_recapped(
    srv: Server, llm: ScriptedLLM, twilio: TwilioDouble
) -> None:
    owner = srv.create_key(scopes="telephony:manage,omni:*,trace:*,recap:*")
    args = ["--account-sid", twilio.account_sid, "--auth-token", twilio.auth_token, "--api-base", twilio.url]
    assert "carrier twilio set" in srv.cli("telephony", "carrier", "set", owner["org_id"], "twilio", *args).stdout
    api = httpx.Client(base_url=srv.url, headers=srv.headers(owner["api_key"]), timeout=60)
    profile = {
        "name": "Billing line",
        "greeting": "Thanks for calling Acme Power.",
        "persona_system_prompt": "You are the billing line of Acme Power.",
        "recordings_enabled": True,
        "consent_line": CONSENT,
        "tools": [{"tool_id": "tool_collect"}, {"tool_id": "tool_send_dtmf"}],
    }
    agent = api.post("/v1/agents", json=profile)
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    assert api.post("/v1/telephony/numbers", json={"phone_number": NUMBER, "agent_id": agent_id}).status_code == 201
    assert api.put("/v1/trace/config", json={"agent_id": agent_id, "config": {"enabled": True}}).status_code == 200
    assert api.put("/v1/recap/config", json={"enabled": True}).status_code == 200

    llm.stream(*say("Sure. "), call_start(0, "call_acct", "collect"), call_args(0, json.dumps({"prompt": PROMPT})))
    llm.stream(*say("Thanks. Connecting you to payments. "), call_start(0, "call_keys", "send_dtmf", '{"digits":"5"}'))
    llm.stream(*say("You are through. Goodbye."))
    call_sid = twilio.add_call()
    form = {"CallSid": call_sid, "AccountSid": twilio.account_sid, "From": CALLER, "To": NUMBER}
    url, token = stream_of(voice_webhook(srv, twilio, form))
    question = spoken_ulaw("I would like to pay my bill.")

    async def main() -> tuple[MediaStream, int]:
        call = await MediaStream(url, token, call_sid).open()
        await call.listen_to_the_agent()  # the consent line and the greeting
        await call.play(question)
        await call.listen_until(lambda c: len(llm.requests) >= 1 and c.media_count > 0)
        await call.listen_to_the_agent()  # "Sure." and the collect prompt
        for key in "1234#":
            await call.press(key)
            await call.play(SILENCE * 5)
        after_keys = len(call.received)
        await call.listen_until(lambda c: len(llm.requests) >= 3)  # the collect answer, then send_dtmf's
        await call.listen_to_the_agent()
        await call.stop()
        return call, after_keys

    call, after_keys = asyncio.run(main())
    assert not any(e["event"] == "clear" for e in call.received)  # nobody barged in
    first, second = llm.requests[:2]
    assert first.body["messages"][0]["content"].startswith("You are the billing line")
    assert {t["function"]["name"] for t in first.body["tools"]} == {"collect", "send_dtmf"}
    assert first.body["messages"][-1]["role"] == "user" and "bill" in first.body["messages"][-1]["content"].lower()
    collected = second.body["messages"][-1]
    assert collected["tool_call_id"] == "call_acct" and json.loads(collected["content"])["result"]["digits"] == "1234"
    assert dtmf_keys_heard(call.agent_pcm16(after_keys)) == "5"  # the model's key press, as the caller hears it
    assert dtmf_keys_heard(call.agent_pcm16(0)[: 8000 * 2 * 3]) == ""  # speech alone is not heard as keys

    deadline = time.monotonic() + 60
    while not (calls := api.get("/v1/omni/calls").json()["data"]) or calls[0]["status"] != "completed":
        assert time.monotonic() < deadline, calls
        time.sleep(0.2)
    record = api.get(f"/v1/omni/calls/{calls[0]['call_id']}").json()
    assert record["phone"] == {"from": CALLER, "to": NUMBER, "carrier": "twilio", "carrier_call_id": call_sid}
    turns = record["transcript"]["turns"]
    assert turns[0]["text"] == f"{CONSENT} Thanks for calling Acme Power."  # one agent turn: consent, greeting
    asked = next(t for t in turns if t["speaker"] == "caller")
    assert "bill" in asked["text"].lower(), turns

    recording = api.get(f"/v1/omni/calls/{record['call_id']}/recording", follow_redirects=True)
    assert recording.status_code == 200 and "wav" in recording.headers["content-type"]
    with wave.open(io.BytesIO(recording.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)  # the bridge's rate
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(len(stereo) / 8000 - record["duration_s"]) < 3

    def rms(channel: int, start_ms: int, end_ms: int) -> float:
        part = stereo[start_ms * 8 : end_ms * 8, channel].astype(np.float64)
        return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0

    opening = turns[0]
    assert rms(1, opening["start_ms"], opening["end_ms"]) > 300 and rms(0, opening["start_ms"], opening["end_ms"]) < 50
    assert rms(0, asked["start_ms"] - 300, asked["start_ms"] + 1200) > 300  # the caller, on the left
    assert dtmf_keys_heard(stereo[:, 1].tobytes()) == "5"  # the tones the caller heard, on the right

    deadline = time.monotonic() + 90
    while (scored := api.get(f"/v1/trace/interactions/{record['call_id']}")).status_code != 200:
        assert time.monotonic() < deadline, scored.text
        time.sleep(0.3)
    assert scored.json()["agent_id"] == agent_id
    while (recap := api.get(f"/v1/recap/calls/{record['call_id']}").json()).get("status") not in ("complete", "failed"):
        assert time.monotonic() < deadline, recap
        time.sleep(0.3)
    assert recap["status"] == "complete", recap
    meters = dict(srv.query(f"SELECT meter, seconds FROM usage_events WHERE org_id = '{owner['org_id']}'"))
    assert abs(meters["telephony.minutes"] - record["duration_s"]) < 2, (meters, record["duration_s"])
    assert abs(meters["omni.minutes"] - meters["telephony.minutes"]) < 1, meters
