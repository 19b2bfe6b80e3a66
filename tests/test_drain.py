"""Graceful drain (docs/operations.md): on SIGTERM a server turns /readyz to 503 ``draining``, refuses
new realtime sessions with 1013 ``server_draining``, lets the open ones finish, then exits; a
session still open at ``PYAI_DRAIN_TIMEOUT_SECONDS`` is closed (1012) and the process exits anyway."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.media import flite_wav, pcm16, silence_pcm16
from tests.server import Server
from tests.waiting import collect, eventually

PATH = "/v1/audio/transcriptions/stream"


def readyz(srv: Server) -> httpx.Response:
    return httpx.get(srv.url + "/readyz", timeout=30)


def start(tmp: Path, drain_timeout: float) -> tuple[Server, str]:
    srv = Server(tmp, {"PYAI_DRAIN_TIMEOUT_SECONDS": str(drain_timeout)}).start()
    assert srv.admin_key  # printed at first start; all scopes
    return srv, srv.admin_key


def test_sigterm_drains_open_sessions_then_exits(tmp_path: Path) -> None:
    srv, key = start(tmp_path, drain_timeout=120)
    url = f"{srv.ws_url}{PATH}?api_key={key}"
    try:
        assert httpx.get(srv.url + "/metrics", timeout=30).status_code == 404  # metrics are off by default

        async def go() -> tuple[list[dict], int | None, list[dict], int | None]:
            async with connect(url, max_size=None) as first:  # admitted: counted before it was accepted
                await first.send(silence_pcm16(0.3))
                srv.proc.send_signal(signal.SIGTERM)
                ready = await asyncio.to_thread(
                    eventually, lambda: (r := readyz(srv)).json()["status"] == "draining" and r, "readyz draining"
                )
                assert ready.status_code == 503
                assert ready.json()["checks"]["draining"]["status"] == "failing"
                async with connect(url, max_size=None) as second:
                    refused = await collect(second, timeout=90)
                assert httpx.get(srv.url + "/healthz", timeout=30).status_code == 200  # HTTP is still served
                assert srv.proc.poll() is None  # waiting for the open session
                speech = pcm16(flite_wav("Please call me back tomorrow morning.")) + silence_pcm16(1.0)
                for i in range(0, len(speech), 3200):
                    await first.send(speech[i : i + 3200])
                await first.send("EOF")
                frames = await collect(first, timeout=90)
            return refused, second.close_code, frames, first.close_code

        refused, refused_code, frames, code = asyncio.run(go())
        assert refused_code == 1013 and refused[0]["type"] == "error" and refused[0]["code"] == "server_draining"
        assert code == 1000
        finals = [f for f in frames if f["type"] == "final"]
        assert finals and "tomorrow" in " ".join(f["text"] for f in finals).lower()
        assert frames[-1]["type"] == "usage"
        srv.proc.wait(60)  # and then the process ends by itself
        assert srv.proc.returncode in (0, -signal.SIGTERM)
    finally:
        srv.stop(kill=True)


def test_a_session_outliving_the_drain_timeout_is_closed_and_the_process_exits(tmp_path: Path) -> None:
    srv, key = start(tmp_path, drain_timeout=2)
    try:

        async def go() -> int | None:
            async with connect(f"{srv.ws_url}{PATH}?api_key={key}", max_size=None) as ws:
                await ws.send(silence_pcm16(0.3))
                srv.proc.send_signal(signal.SIGTERM)
                await collect(ws, timeout=90)  # never ends the session itself: the server does
            return ws.close_code

        signalled = time.monotonic()
        code = asyncio.run(go())
        assert code == 1012  # service restart: reconnect (to another replica)
        srv.proc.wait(60)
        assert time.monotonic() - signalled >= 1.5
    finally:
        srv.stop(kill=True)
