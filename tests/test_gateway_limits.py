"""Rate limits (memory and Redis across two processes) and sandbox-key minting, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.contract import assert_error, assert_problem, validate
from tests.server import REDIS_URL, Server

LOW_LIMITS = {"PYAI_RATE_LIMIT_RPS": "2", "PYAI_RATE_LIMIT_BURST": "4"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("limited"), {**LOW_LIMITS, "PYAI_SANDBOX_MINTS_PER_HOUR": "2"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def redis_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two replicas sharing one database, one secret and one Redis."""
    data: Path = tmp_path_factory.mktemp("replicas")
    env = {**LOW_LIMITS, "PYAI_REDIS_URL": REDIS_URL}
    first = Server(data, env).start()
    second = Server(data, env).start()
    yield first, second
    second.stop()
    first.stop()


def test_burst_then_429_with_retry_after(limited: Server) -> None:
    key = limited.create_key()
    with httpx.Client(base_url=limited.url, headers=limited.headers(key["api_key"])) as c:
        statuses = [c.get("/v1/me") for _ in range(8)]
    ok = [r for r in statuses if r.status_code == 200]
    limited_resps = [r for r in statuses if r.status_code == 429]
    assert len(ok) == 4, [r.status_code for r in statuses]
    body = assert_error(limited_resps[0], 429, "rate_limit_exceeded")
    assert "rate limit" in body["error"]["message"].lower()
    retry = int(limited_resps[0].headers["Retry-After"])
    assert 1 <= retry <= 2
    # Limits are per key: another key is unaffected.
    other = limited.create_key()
    assert httpx.get(limited.url + "/v1/me", headers=limited.headers(other["api_key"])).status_code == 200
    # And the bucket refills at the advertised rate.
    time.sleep(retry + 0.1)
    assert httpx.get(limited.url + "/v1/me", headers=limited.headers(key["api_key"])).status_code == 200


def test_limit_holds_across_two_processes_sharing_redis(redis_pair: tuple[Server, Server]) -> None:
    first, second = redis_pair
    key = first.create_key()
    headers = first.headers(key["api_key"])
    results = []
    for i in range(10):
        srv = first if i % 2 == 0 else second
        results.append(httpx.get(srv.url + "/v1/me", headers=headers).status_code)
    assert results.count(200) == 4, results  # one shared bucket: each process alone would allow 4
    assert 429 in results[0::2] and 429 in results[1::2]


def test_sandbox_key_mint_and_use(limited: Server) -> None:
    resp = httpx.post(limited.url + "/v1/sandbox/keys", json={"label": "my app <script>"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["object"] == "sandbox.key" and body["environment"] == "test"
    assert body["api_key"].startswith("pyai_test_")
    assert body["scopes"] == ["hear:transcribe", "hear:stream", "voice:synthesize", "omni:session"]
    assert body["expires_at"] > time.time() * 1000
    assert body["base_url"] == limited.url
    me = httpx.get(limited.url + "/v1/me", headers=limited.headers(body["api_key"])).json()
    validate(me, "Identity")
    assert me["env"] == "test" and me["credit"]["gated"] is False
    assert me["limits"]["daily_unit_cap"] > 0 and me["expires_at"] == body["expires_at"]


def test_sandbox_minting_is_rate_limited_per_network(limited: Server) -> None:
    statuses = [httpx.post(limited.url + "/v1/sandbox/keys").status_code for _ in range(3)]
    # The module's previous test may already have used one of the two hourly mints.
    assert 429 in statuses
    resp = httpx.post(limited.url + "/v1/sandbox/keys")
    assert_error(resp, 429, "rate_limit_exceeded")
    assert int(resp.headers["Retry-After"]) > 0


def test_sandbox_disabled_is_404(tmp_path: Path) -> None:
    srv = Server(tmp_path, {"PYAI_SANDBOX_ENABLED": "0"}).start()
    try:
        assert_problem(httpx.post(srv.url + "/v1/sandbox/keys"), 404, "not_found")
    finally:
        srv.stop()


def test_realtime_leases_are_shared_and_a_crashed_replica_frees_them(tmp_path: Path) -> None:
    env = {"PYAI_REDIS_URL": REDIS_URL, "PYAI_REALTIME_CONCURRENCY": "1", "PYAI_LEASE_TTL_SECONDS": "2"}
    first = Server(tmp_path, env).start()
    second = Server(tmp_path, env).start()
    key = first.create_key(scopes="hear:stream")["api_key"]
    path = f"/v1/audio/transcriptions/stream?api_key={key}"

    async def attempt(srv: Server) -> int | None:
        async with connect(srv.ws_url + path) as ws:
            with contextlib.suppress(ConnectionClosed):
                await ws.send("EOF")
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass
        return ws.close_code

    async def scenario() -> tuple[int | None, int | None]:
        holder = await connect(first.ws_url + path)
        await holder.send(b"\x00\x00" * 1600)
        first.stop(kill=True)  # the replica dies holding the lease; nobody releases it
        while_held = await attempt(second)
        await asyncio.sleep(2.5)  # one lease TTL
        after_expiry = await attempt(second)
        with contextlib.suppress(Exception):
            await holder.close()
        return while_held, after_expiry

    try:
        while_held, after_expiry = asyncio.run(scenario())
    finally:
        second.stop()
    assert while_held == 4429 and after_expiry == 1000
