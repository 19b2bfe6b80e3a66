"""A replica's cap on live sessions (``PYAI_REPLICA_SESSIONS``, docs/operations.md): past it a new
session of any key is refused with 1013 ``server_busy`` (try again later, or another replica) and
counted, and the slot frees as soon as a session ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.media import silence_pcm16
from tests.server import Server
from tests.waiting import collect, eventually

PATH = "/v1/audio/transcriptions/stream"


def test_a_replica_at_its_session_cap_refuses_the_next_session_until_one_ends(tmp_path: Path) -> None:
    srv = Server(tmp_path, {"PYAI_REPLICA_SESSIONS": "1", "PYAI_METRICS_OPEN": "1"}).start()
    try:
        first_key, other_key = (srv.create_key(scopes="hear:stream")["api_key"] for _ in range(2))

        def url(key: str) -> str:
            return f"{srv.ws_url}{PATH}?api_key={key}"

        async def refused_while_one_is_open() -> tuple[list[dict], int | None]:
            async with connect(url(first_key), max_size=None) as first:
                await first.send(silence_pcm16(0.3))
                async with connect(url(other_key), max_size=None) as second:  # another org's key: per replica
                    frames = await collect(second, timeout=90)
                await first.send("EOF")
                await collect(first, timeout=90)
            return frames, second.close_code

        frames, code = asyncio.run(refused_while_one_is_open())
        assert code == 1013
        assert frames[0]["type"] == "error" and frames[0]["code"] == "server_busy"
        assert "limit of 1 live sessions" in frames[0]["message"]
        metrics = httpx.get(srv.url + "/metrics", timeout=30).text
        assert "pyai_realtime_sessions_refused_busy_total 1.0" in metrics

        async def admitted_now() -> int | None:
            async with connect(url(other_key), max_size=None) as ws:
                await ws.send(silence_pcm16(0.3))
                await ws.send("EOF")
                frames = await collect(ws, timeout=90)
            return not any(f["type"] == "error" for f in frames) and ws.close_code

        assert eventually(lambda: asyncio.run(admitted_now()) == 1000, "a session admitted once the first ended")
    finally:
        srv.stop()
