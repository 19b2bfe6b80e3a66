"""An OpenAI Realtime client for tests: every server event in arrival order (parsed by the
official SDK as well), the agent's audio decoded from its deltas, and caller audio sent as
``input_audio_buffer.append`` events at real-time pace."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

RATE = 24000
AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")


class Events:
    """Server events of one session, read by ``reader`` from ``recv`` (a coroutine returning one
    raw event, raising when the socket closes)."""

    def __init__(self, recv: Callable[[], Awaitable[str | bytes]], send: Callable[[dict], Awaitable[None]]) -> None:
        self.recv, self.send = recv, send
        self.events: list[dict] = []
        self.audio = bytearray()  # every audio delta, decoded (PCM16 24 kHz or G.711 bytes)
        self.closed = asyncio.Event()

    async def reader(self, parse: Callable[[str | bytes], Any] | None = None) -> None:
        try:
            while True:
                raw = await self.recv()
                event = json.loads(raw)
                if parse is not None:  # the official SDK must understand every event we send
                    assert parse(raw).type == event["type"]
                if event["type"] in AUDIO_DELTAS:
                    self.audio += base64.b64decode(event["delta"])
                self.events.append(event)
        except Exception:  # the socket closed
            pass
        finally:
            self.closed.set()

    def kinds(self, after: int = 0) -> list[str]:
        return [e["type"] for e in self.events[after:]]

    async def until(self, kind: str, after: int = 0, timeout: float = 90, **match: object) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events[after:]:
                if e["type"] == kind and all(e.get(k) == v for k, v in match.items()):
                    return e
            if self.closed.is_set():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} {match or ''} in {self.kinds(after)}")

    async def say(self, audio: bytes, chunk_ms: int = 100, bytes_per_ms: int = RATE * 2 // 1000) -> None:
        """Caller audio at real-time pace, ``chunk_ms`` per append."""
        step = chunk_ms * bytes_per_ms
        for i in range(0, len(audio), step):
            await self.send(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio[i : i + step]).decode()}
            )
            await asyncio.sleep(chunk_ms / 1000)
