"""Telephony end to end against a local Twilio double: numbers (404 without a carrier, search,
provision once per Idempotency-Key, assign, release twice), then a phone call as Twilio places
it — the signed voice webhook answers TwiML with a Media Stream and a per-call token, and a client
speaking the exact Media Streams protocol (µ-law 8 kHz) hears the agent's greeting, barges in and
gets ``clear``, and hangs up; the call leaves a record and is metered on ``telephony.minutes``."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from pyai.text.wer import normalise_words
from tests.media_stream_client import SILENCE, MediaStream, spoken_ulaw, stream_of, voice_webhook
from tests.server import Server
from tests.twilio_double import TwilioDouble

NUMBER = "+14155550123"
CALLER = "+12125550100"
GREETING = " ".join(["Thanks for calling Acme Power, this line is answered by our assistant."] * 3)


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture(scope="module")
def owner(sqlite_server: Server, twilio: TwilioDouble) -> dict:
    key = sqlite_server.create_key(scopes="telephony:manage,omni:session,omni:read")
    args = ["--account-sid", twilio.account_sid, "--auth-token", twilio.auth_token, "--api-base", twilio.url]
    done = sqlite_server.cli("telephony", "carrier", "set", key["org_id"], "twilio", *args)
    assert "carrier twilio set" in done.stdout, done.stderr
    return key


@pytest.fixture(scope="module")
def api(sqlite_server: Server, owner: dict) -> httpx.Client:
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(owner["api_key"]), timeout=60)


def test_numbers_are_searched_bought_once_assigned_and_released(
    sqlite_server: Server, api: httpx.Client, twilio: TwilioDouble
) -> None:
    other = sqlite_server.create_key(scopes="telephony:manage")["api_key"]
    no_carrier = httpx.get(f"{sqlite_server.url}/v1/telephony/numbers", headers=sqlite_server.headers(other))
    assert no_carrier.status_code == 404
    found = api.get("/v1/telephony/available", params={"area_code": "415"}).json()["data"]
    assert NUMBER in [n["phone_number"] for n in found] and found[0]["object"] == "telephony.available_number"
    agent = api.post("/v1/agents", json={"name": "Phone desk", "greeting": GREETING}).json()["agent_id"]

    headers = {"Idempotency-Key": "buy-1"}
    first = api.post("/v1/telephony/numbers", json={"phone_number": NUMBER, "agent_id": agent}, headers=headers)
    assert first.status_code == 201, first.text
    again = api.post("/v1/telephony/numbers", json={"phone_number": NUMBER, "agent_id": agent}, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(twilio.seen("POST", "/IncomingPhoneNumbers.json")) == 1  # bought once
    conflict = api.post("/v1/telephony/numbers", json={"phone_number": "+14155550177"}, headers=headers)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict"
    number = first.json()
    assert number["recording"] is False and number["agent_id"] == agent and number["status"] == "active"
    assert twilio.seen("POST", "/IncomingPhoneNumbers.json")[0].form["VoiceUrl"] == [
        f"{sqlite_server.url}/v1/telephony/twilio/voice"
    ]

    assert (
        api.post(f"/v1/telephony/numbers/{number['id']}/assign", json={"agent_id": "agent_nobody"}).status_code == 404
    )
    assert api.post(f"/v1/telephony/numbers/{number['id']}/assign", json={"agent_id": None}).json()["agent_id"] is None
    assert (
        api.post(f"/v1/telephony/numbers/{number['id']}/assign", json={"agent_id": agent}).json()["agent_id"] == agent
    )
    spare = api.post("/v1/telephony/numbers", json={"phone_number": "+15105550142"}).json()
    gone = [api.delete(f"/v1/telephony/numbers/{spare['id']}") for _ in range(2)]
    assert [g.json()["status"] for g in gone] == ["released", "released"]
    assert len([r for r in twilio.seen("DELETE") if "/IncomingPhoneNumbers/" in r.path]) == 1  # released once
    listed = api.get("/v1/telephony/numbers").json()["data"]
    assert [n["phone_number"] for n in listed] == [NUMBER]
    assert len(api.get("/v1/telephony/numbers", params={"include_released": "true"}).json()["data"]) == 2


def test_a_phone_call_reaches_the_agent_over_a_media_stream(
    sqlite_server: Server, api: httpx.Client, owner: dict, twilio: TwilioDouble
) -> None:
    call_sid = twilio.add_call()
    form = {"CallSid": call_sid, "AccountSid": twilio.account_sid, "From": CALLER, "To": NUMBER}
    assert voice_webhook(sqlite_server, twilio, form, signature="bm90IGl0").status_code == 403
    answer = voice_webhook(sqlite_server, twilio, form)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    url, token = stream_of(answer)
    assert "?" not in url

    def answered_after_clear(call: MediaStream) -> bool:
        kinds = [e["event"] for e in call.received]
        return "clear" in kinds and "media" in kinds[kinds.index("clear") + 1 :]

    async def main() -> MediaStream:
        call = await MediaStream(url, token, call_sid).open()
        await call.listen_until(lambda c: c.media_count >= 100)  # 2 s of greeting
        await call.play(spoken_ulaw("I need to report a power cut at my house."))  # over the greeting
        await call.listen_until(answered_after_clear)  # the agent answers the caller after the barge-in
        await call.stop()
        return call

    call = asyncio.run(main())
    assert all(e.get("streamSid") == "MZ1" for e in call.received)
    greeting = call.agent_pcm16()[: 100 * 320]
    heard = sqlite_server.transcribe(greeting, 8000)
    assert {"thanks", "calling"} <= set(normalise_words(heard)), heard  # µ-law 8 kHz, as a phone hears it

    deadline = time.monotonic() + 60
    while not (calls := api.get("/v1/omni/calls").json()["data"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    record = api.get(f"/v1/omni/calls/{calls[0]['call_id']}").json()
    caller_said = " ".join(t["text"] for t in record["transcript"]["turns"] if t["speaker"] == "caller")
    assert re.search(r"power", caller_said.lower()), record["transcript"]
    assert record["phone"] == {"from": CALLER, "to": NUMBER, "carrier": "twilio", "carrier_call_id": call_sid}
    meters = dict(sqlite_server.query(f"SELECT meter, seconds FROM usage_events WHERE org_id = '{owner['org_id']}'"))
    assert meters.get("telephony.minutes", 0) > 0 and meters.get("omni.minutes", 0) > 0, meters


def test_asking_for_a_person_transfers_the_real_call(
    sqlite_server: Server, api: httpx.Client, twilio: TwilioDouble
) -> None:
    """``transfer_to_human`` on a phone call: the announcement plays, the stream ends, and Twilio is
    told to dial the human (the call's TwiML replaced by a ``<Dial>``)."""
    human = "+14155550199"
    tools = [{"tool_id": "tool_transfer_to_human", "config": {"human_number": human}}]
    agent = api.post("/v1/agents", json={"name": "Transfers", "greeting": "Hi.", "tools": tools}).json()["agent_id"]
    number = api.get("/v1/telephony/numbers").json()["data"][0]
    api.post(f"/v1/telephony/numbers/{number['id']}/assign", json={"agent_id": agent})
    call_sid = twilio.add_call()
    form = {"CallSid": call_sid, "AccountSid": twilio.account_sid, "From": CALLER, "To": NUMBER}
    url, token = stream_of(voice_webhook(sqlite_server, twilio, form))
    # the greeting, the question, then the caller listens
    frames = SILENCE * 75 + spoken_ulaw("Can I talk to a real person please?") + SILENCE * 150

    async def main() -> None:
        call = await MediaStream(url, token, call_sid, stream_sid="MZ3").open()
        try:
            await call.play(frames)
        except Exception:
            return  # the bridge ended the stream: the call moves on to the transfer
        assert call.ws is not None
        await call.ws.wait_closed()

    asyncio.run(main())
    deadline = time.monotonic() + 30
    while twilio.calls[call_sid]["twiml"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f'<Dial callerId="{NUMBER}">{human}</Dial>' in (twilio.calls[call_sid]["twiml"] or ""), twilio.calls


def test_a_stream_without_a_valid_call_token_is_refused(sqlite_server: Server) -> None:
    async def main() -> int | None:
        async with connect(f"{sqlite_server.ws_url}/v1/telephony/twilio/stream") as ws:
            start = {"streamSid": "MZ2", "callSid": "CA0", "customParameters": {"token": "forged.token"}}
            await ws.send(json.dumps({"event": "start", "streamSid": "MZ2", "start": start}))
            await ws.wait_closed()
            return ws.close_code

    assert asyncio.run(main()) == 1008
