"""A Redis outage: fail closed (503 + Retry-After) where limits are needed, keep serving reads,
and heal without errors when Redis comes back — including connections it left stale.

Uses a private redis-server so the machine's shared one is never stopped.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.contract import assert_problem
from tests.server import Server, free_port

SPEECH = {"input": "Hello there.", "response_format": "pcm"}


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.time() < deadline, "private redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def redis_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateRedis, Server]]:
    redis = PrivateRedis(free_port()).start()
    data: Path = tmp_path_factory.mktemp("redis-outage")
    srv = Server(data, {"PYAI_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"}).start()
    yield redis, srv
    srv.stop()
    redis.stop()


def speak(srv: Server, key: str) -> httpx.Response:
    return httpx.post(srv.url + "/v1/audio/speech", headers=srv.headers(key), json=SPEECH, timeout=60)


async def stream_rejection(srv: Server, key: str) -> tuple[int | None, dict]:
    async with connect(f"{srv.ws_url}/v1/audio/transcriptions/stream?api_key={key}") as ws:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed:
            pass
    return ws.close_code, frame


def test_outage_fails_closed_keeps_reads_and_heals(redis_and_server: tuple[PrivateRedis, Server]) -> None:
    redis, srv = redis_and_server
    key = srv.create_key()["api_key"]
    h = srv.headers(key)
    assert speak(srv, key).status_code == 200

    redis.stop()
    for _ in range(3):  # every attempt, not just the first, gets a clean answer
        refused = speak(srv, key)
        body = assert_problem(refused, 503, "limits_unavailable")
        assert 1 <= int(refused.headers["Retry-After"]) <= 5 and "nothing was billed" in body["detail"]
    job = httpx.post(srv.url + "/v1/transcription/jobs", headers=h, json={"audio_url": "http://127.0.0.1:9/a.wav"})
    assert_problem(job, 503, "limits_unavailable")  # a write fails closed too
    for path in ("/v1/models", "/v1/voices", "/v1/voices/stock_emma_en_us", "/v1/me", "/v1/transcription/jobs"):
        assert httpx.get(srv.url + path, headers=h).status_code == 200, path  # reads keep working
    code, frame = asyncio.run(stream_rejection(srv, key))
    assert code == 1013 and frame["code"] == "limits_unavailable"

    redis.start()  # same port, empty: the server's pooled connections are now stale
    deadline = time.time() + 30
    while (resp := speak(srv, key)).status_code == 503 and time.time() < deadline:
        time.sleep(0.25)  # the breaker retries the store a couple of seconds after the last failure
    assert resp.status_code == 200, resp.text
    assert [speak(srv, key).status_code for _ in range(3)] == [200] * 3


def test_restart_between_requests_costs_no_error(redis_and_server: tuple[PrivateRedis, Server]) -> None:
    """Redis restarts while no request is in flight: the stale pooled connection is replaced silently."""
    redis, srv = redis_and_server
    key = srv.create_key()["api_key"]
    assert all(httpx.get(srv.url + "/v1/me", headers=srv.headers(key)).status_code == 200 for _ in range(5))
    assert speak(srv, key).status_code == 200
    redis.stop()
    redis.start()
    statuses = [httpx.get(srv.url + "/v1/me", headers=srv.headers(key)).status_code for _ in range(5)]
    statuses += [speak(srv, key).status_code for _ in range(3)]
    assert statuses == [200] * 8
