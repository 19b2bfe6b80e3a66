"""A call from an Asterisk PBX over AudioSocket: a client speaking the exact protocol (as Asterisk
does) dials a local SIP number assigned to an agent, hears the greeting (transcribed back from the
8 kHz audio the bridge sent), says goodbye, and is hung up after the agent's farewell; a UUID that
names no number is hung up at once. The call leaves a record like any Omni call."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from pyai.audio.encode import wav_header
from pyai.text.wer import normalise_words
from tests.audiosocket_client import AudioSocketClient
from tests.media import silence_pcm16, speech_pcm16
from tests.server import Server, free_port

NUMBER = "+14155550101"


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int, dict]]:
    port = free_port()
    srv = Server(tmp_path_factory.mktemp("srv-pbx"), {"PYAI_AUDIOSOCKET_PORT": str(port)})
    key = srv.create_key(scopes="telephony:manage,omni:session,omni:read")
    srv.cli("telephony", "carrier", "set", key["org_id"], "local_sip", "--numbers", "+14155550100-+14155550109")
    srv.start()
    yield srv, port, key
    srv.stop()


def test_a_pbx_call_reaches_the_agent_and_is_hung_up_after_goodbye(pbx: tuple[Server, int, dict]) -> None:
    srv, port, key = pbx
    api = httpx.Client(base_url=srv.url, headers=srv.headers(key["api_key"]), timeout=60)
    agent = api.post("/v1/agents", json={"name": "Front desk", "greeting": "Hello, you have reached the front desk."})
    bought = api.post("/v1/telephony/numbers", json={"phone_number": NUMBER, "agent_id": agent.json()["agent_id"]})
    assert bought.status_code == 201, bought.text

    async def main() -> tuple[bytes, bool]:
        client = AudioSocketClient("127.0.0.1", port, uuid.UUID("00000000-0000-4000-8000-014155550101"))
        await client.connect()
        listening = asyncio.create_task(client.stream(silence_pcm16(4.0, 8000)))  # the caller listens
        greeting = await client.wait_audio(8000 * 2 * 2, timeout=60)  # 2 s of the agent
        await listening
        await client.stream(speech_pcm16("Okay, that's all. Goodbye.", rate=8000) + silence_pcm16(1.5, 8000))
        deadline = time.monotonic() + 60
        while not client.eof.is_set() and time.monotonic() < deadline:
            try:
                await client.stream(silence_pcm16(0.2, 8000))  # keep the line open until the agent hangs up
            except ConnectionError:
                break  # it did, while we were writing
        hung_up = client.hangup_received.is_set() or client.eof.is_set()
        await client.close()
        return greeting, hung_up

    greeting, hung_up = asyncio.run(main())
    assert hung_up
    heard = httpx.post(
        f"{srv.url}/v1/audio/transcriptions",
        headers=srv.headers(srv.create_key(scopes="hear:*")["api_key"]),
        files={"file": ("g.wav", wav_header(8000, len(greeting)) + greeting)},
        timeout=60,
    ).json()["text"]
    assert {"hello", "front"} <= set(normalise_words(heard)), heard  # 8 kHz, as the phone line carries it
    deadline = time.monotonic() + 30
    while not (calls := api.get("/v1/omni/calls").json()["data"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert calls and calls[0]["end_reason"] == "agent_end_call", calls
    record = api.get(f"/v1/omni/calls/{calls[0]['call_id']}").json()
    assert record["phone"]["to"] == NUMBER and record["phone"]["carrier"] == "local_sip"


def test_a_uuid_naming_no_number_is_hung_up(pbx: tuple[Server, int, dict]) -> None:
    _, port, _ = pbx

    async def main() -> bool:
        client = AudioSocketClient("127.0.0.1", port, uuid.UUID("00000000-0000-4000-8000-019995550100"))
        await client.connect()
        await client.wait_eof(timeout=30)
        await client.close()
        return client.eof.is_set()

    assert asyncio.run(main())
