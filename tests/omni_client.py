"""An Omni client for tests: one call over a real WebSocket, every JSON event and the agent's
audio in arrival order, and caller audio sent at real-time pace."""

from __future__ import annotations

import asyncio
import json
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server import Server

RATE = 16000
FRAME_BYTES = RATE * 2 // 50  # 20 ms


class Session:
    """A client of one call: every JSON event and the agent's audio, in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict] = []
        self.audio = bytearray()
        self.before_audio: list[str] | None = None  # the event kinds received before the first audio byte
        self.closed = asyncio.Event()

    async def reader(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    if self.before_audio is None:
                        self.before_audio = self.kinds()
                    self.audio += message
                else:
                    self.events.append(json.loads(message))
        except ConnectionClosed:
            pass
        self.closed.set()

    def kinds(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def until(self, kind: str, timeout: float = 90, after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events[after:] if e["type"] == kind]
            if found:
                return found[0]
            if self.closed.is_set():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} in {self.kinds()}")

    async def say(self, pcm: bytes) -> None:
        """Caller audio at real-time pace, 20 ms a frame."""
        for i in range(0, len(pcm), FRAME_BYTES):
            await self.ws.send(pcm[i : i + FRAME_BYTES])
            await asyncio.sleep(0.02)


async def call(srv: Server, key: str, body, path: str = "/v1/omni", first: dict | None = None, query: str = ""):  # noqa: ANN001
    url = f"{srv.ws_url}{path}?rate={RATE}{'&' + query if query else ''}"
    async with connect(url, subprotocols=[f"pyai-key.{key}"], max_size=None) as ws:
        session = Session(ws)
        if first is not None:
            await ws.send(json.dumps(first))
        reader = asyncio.create_task(session.reader())
        try:
            await body(session)
            await asyncio.wait_for(session.closed.wait(), 60)  # every frame up to the close
        finally:
            reader.cancel()
    return session, ws.close_code


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)
