"""Calls from the operator's own PBX to local SIP numbers, both ways a PBX can place them:

- over Asterisk AudioSocket: a client speaking the exact protocol (as Asterisk does) dials a number
  assigned to an agent, hears the greeting (transcribed back from the 8 kHz audio the bridge sent),
  says goodbye, and is hung up after the agent's farewell; a UUID that names no number is hung up;
- over SIP: SIPp, an independent SIP user agent, places the call (INVITE with an SDP offer, ACK)
  while the test plays the phone's RTP media; the caller hears the greeting, says goodbye, and the
  agent hangs up with a BYE that SIPp answers; a number with no agent gets 404.

Each call leaves a record like any Omni call."""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from pyai.audio.g711 import g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16
from pyai.text.wer import normalise_words
from tests.audiosocket_client import AudioSocketClient
from tests.media import silence_pcm16, speech_pcm16
from tests.server import Server, free_port

NUMBER = "+14155550101"
SIP_NUMBER = "+14155550102"
SIPP = Path(__file__).parent / "sipp"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int, dict]]:
    port = free_port()
    env = {"PYAI_AUDIOSOCKET_PORT": str(port), "PYAI_SIP_PORT": str(free_udp_port())}
    srv = Server(tmp_path_factory.mktemp("srv-pbx"), env)
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
    heard = srv.transcribe(greeting, 8000)
    assert {"reached", "front"} <= set(normalise_words(heard)), heard  # 8 kHz, as the phone line carries it
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


class Phone(asyncio.DatagramProtocol):
    """The media side of the SIP phone SIPp signals for: an RTP socket that keeps the agent's
    µ-law audio and sends the caller's back to where it came from (symmetric RTP)."""

    def __init__(self) -> None:
        self.heard = bytearray()
        self.agent: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.seq = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        version, payload_type = data[0] >> 6, data[1] & 0x7F
        if version == 2 and payload_type == 0:  # PCMU, as offered
            self.heard += data[12 + 4 * (data[0] & 0x0F) :]
            self.agent = addr

    async def say(self, pcm16: bytes) -> None:
        """Caller audio as 20 ms PCMU packets, in real time."""
        ulaw = ulaw_encode(np.frombuffer(pcm16, dtype=np.int16))
        for i in range(0, len(ulaw) - 159, 160):
            header = struct.pack("!BBHII", 0x80, 0, self.seq & 0xFFFF, self.seq * 160, 0x5EED)
            assert self.transport is not None and self.agent is not None
            self.transport.sendto(header + ulaw[i : i + 160], self.agent)
            self.seq += 1
            await asyncio.sleep(0.02)


async def sipp(scenario: str, number: str, sip_port: int, rtp_port: int) -> asyncio.subprocess.Process:
    """SIPp placing one call with ``scenario`` to ``number`` on the server's SIP port."""
    args = ["-sf", str(SIPP / scenario), "-s", number, "-set", "rtp_port", str(rtp_port), "-m", "1", "-nostdin"]
    args += ["-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-timeout", "90s"]
    return await asyncio.create_subprocess_exec(
        "sipp", *args, f"127.0.0.1:{sip_port}", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_a_sip_call_hears_the_greeting_and_the_agent_hangs_up(pbx: tuple[Server, int, dict]) -> None:
    srv, _, key = pbx
    sip_port = int(srv.env["PYAI_SIP_PORT"])
    api = httpx.Client(base_url=srv.url, headers=srv.headers(key["api_key"]), timeout=60)
    agent = api.post("/v1/agents", json={"name": "SIP desk", "greeting": "Hello, you have reached the front desk."})
    bought = api.post("/v1/telephony/numbers", json={"phone_number": SIP_NUMBER, "agent_id": agent.json()["agent_id"]})
    assert bought.status_code == 201, bought.text

    async def main() -> tuple[bytes, int, bytes]:
        loop = asyncio.get_running_loop()
        transport, phone = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
        caller = await sipp("call_until_bye.xml", SIP_NUMBER, sip_port, transport.get_extra_info("sockname")[1])
        deadline = time.monotonic() + 60
        while len(phone.heard) < 8000 * 2 and time.monotonic() < deadline:  # 2 s of the greeting
            await asyncio.sleep(0.05)
        greeting = bytes(phone.heard)
        await phone.say(silence_pcm16(2.0, 8000) + speech_pcm16("Okay, that's all. Goodbye.", rate=8000))
        while caller.returncode is None and time.monotonic() < deadline + 60:  # listen until the BYE
            await phone.say(silence_pcm16(0.2, 8000))
        _, errors = await asyncio.wait_for(caller.communicate(), 30)
        transport.close()
        return greeting, caller.returncode, errors

    greeting, code, errors = asyncio.run(main())
    assert code == 0, errors.decode()  # SIPp's scenario ran to its end: 200 OK, ACK, our BYE answered
    pcm = float_to_pcm16(g711_decode(greeting, "g711_ulaw")).tobytes()
    heard = srv.transcribe(pcm, 8000)
    assert {"reached", "front"} <= set(normalise_words(heard)), heard
    deadline = time.monotonic() + 30
    while not (calls := [c for c in api.get("/v1/omni/calls").json()["data"] if c["status"] == "completed"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    record = api.get(f"/v1/omni/calls/{calls[0]['call_id']}").json()
    assert record["end_reason"] == "agent_end_call" and record["phone"]["carrier"] == "local_sip", record
    assert record["phone"]["to"] == SIP_NUMBER and record["phone"]["from"] == "+12125550100"


def test_a_sip_call_to_a_number_without_an_agent_is_not_found(pbx: tuple[Server, int, dict]) -> None:
    srv, _, _ = pbx

    async def main() -> tuple[int, bytes]:
        caller = await sipp("refused.xml", "+14155550109", int(srv.env["PYAI_SIP_PORT"]), free_udp_port())
        _, errors = await asyncio.wait_for(caller.communicate(), 60)
        return caller.returncode, errors

    code, errors = asyncio.run(main())
    assert code == 0, errors.decode()  # the scenario expects 404 Not Found
