"""A Twilio side of a phone call, for the tests: the signed voice webhook Twilio posts when the
call comes in, and a Media Streams client speaking the exact protocol over the stream the TwiML
names (``connected``, ``start`` with the custom parameters, ``media`` base64 µ-law 8 kHz paced at
20 ms, ``dtmf``, ``stop``). Everything the server sends is kept, in order, by a background reader.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from xml.etree import ElementTree

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from pyai.audio.g711 import g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16
from pyai.telephony.twilio_signature import sign
from tests.media import speech_pcm16
from tests.server import Server
from tests.twilio_double import TwilioDouble

FRAME = 160  # 20 ms of µ-law at 8 kHz, as Twilio sends it
SILENCE = b"\xff" * FRAME  # µ-law silence


def voice_webhook(srv: Server, twilio: TwilioDouble, form: dict, signature: str | None = None) -> httpx.Response:
    """Twilio's inbound-call request, signed with the account's auth token unless ``signature``."""
    url = f"{srv.url}/v1/telephony/twilio/voice"
    signed = signature if signature is not None else sign(twilio.auth_token, url, form)
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": signed}, timeout=30)


def stream_of(answer: httpx.Response) -> tuple[str, str]:
    """The ``<Connect><Stream>`` URL and its per-call token from the webhook's TwiML."""
    stream = ElementTree.fromstring(answer.text).find("./Connect/Stream")
    assert stream is not None, answer.text
    return stream.attrib["url"], stream.find("Parameter").attrib["value"]


def spoken_ulaw(text: str) -> bytes:
    """A sentence as a caller's phone sends it: µ-law at 8 kHz."""
    return ulaw_encode(np.frombuffer(speech_pcm16(text, rate=8000), dtype=np.int16))


class MediaStream:
    """One Media Stream, opened by :meth:`open` (``connected`` + ``start``), closed by :meth:`stop`."""

    def __init__(self, url: str, token: str, call_sid: str, stream_sid: str = "MZ1") -> None:
        self.url, self.token, self.call_sid, self.stream_sid = url, token, call_sid, stream_sid
        self.received: list[dict] = []
        self.ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None

    async def open(self) -> MediaStream:
        self.ws = await connect(self.url)
        self._reader = asyncio.create_task(self._read())
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        start = {"streamSid": self.stream_sid, "callSid": self.call_sid, "customParameters": {"token": self.token}}
        await self._send({"event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid, "start": start})
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            self.received.append(json.loads(message))

    async def _send(self, frame: dict) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def play(self, ulaw: bytes) -> None:
        """Send caller audio in real time, 20 ms a frame."""
        for i in range(0, len(ulaw), FRAME):
            payload = base64.b64encode(ulaw[i : i + FRAME]).decode()
            await self._send({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})
            await asyncio.sleep(0.02)

    async def press(self, digit: str) -> None:
        """A keypad press, as Twilio reports it (one ``dtmf`` frame per key)."""
        dtmf = {"track": "inbound_track", "digit": digit}
        await self._send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": dtmf})

    async def listen_until(self, done, timeout: float = 60) -> None:  # noqa: ANN001 - a predicate on self
        """Keep sending silence (a caller on an open line) until ``done(self)`` holds."""
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, [e["event"] for e in self.received][-10:]
            await self.play(SILENCE)

    async def listen_to_the_agent(self, quiet_s: float = 1.5, timeout: float = 60) -> None:
        """Listen until the agent has spoken and then sent no audio for ``quiet_s`` (the bridge
        paces agent audio in real time, so a gap that long means the agent finished)."""
        last = {"count": -1, "at": time.monotonic()}

        def finished(call: MediaStream) -> bool:
            count = call.media_count
            if count != last["count"]:
                last.update(count=count, at=time.monotonic())
            return count > 0 and time.monotonic() - last["at"] >= quiet_s

        await self.listen_until(finished, timeout)

    @property
    def media_count(self) -> int:
        return sum(e["event"] == "media" for e in self.received)

    def agent_ulaw(self, start: int = 0) -> bytes:
        """The agent's audio received from event ``start`` on, as µ-law bytes."""
        return b"".join(base64.b64decode(e["media"]["payload"]) for e in self.received[start:] if e["event"] == "media")

    def agent_pcm16(self, start: int = 0) -> bytes:
        return float_to_pcm16(g711_decode(self.agent_ulaw(start), "g711_ulaw")).tobytes()

    async def stop(self) -> None:
        """Hang up: Twilio's ``stop``, then wait for the server to close the stream."""
        await self._send({"event": "stop", "streamSid": self.stream_sid, "stop": {"callSid": self.call_sid}})
        assert self._reader is not None
        await asyncio.wait_for(self._reader, 30)
