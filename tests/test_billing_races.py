"""Billing gates under concurrent bursts, across two replicas: holds make the gates atomic.

Twenty speech requests fire at once, split over two server processes sharing one database
(one SQLite file, or PostgreSQL). Before holds, every request passed the gate before any was
metered and all twenty were served; now the units served never exceed the limit.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.contract import assert_error
from tests.server import Server, create_pg_database, drop_pg_database

LINE = "Hello there, thanks."  # ~1.3 s of speech: several fit under each limit, twenty do not
BURST = 20
#: flite announces a sentence's exact length before making it, which these tests compare against.
FLITE_VOICE = "stock_callum_en_scotland"
SPEAK_CENTS_PER_SECOND = 6.0 / 60


@pytest.fixture(scope="module", params=BACKENDS)
def replicas(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two replicas sharing one database and one secret (the data dir holds both for SQLite)."""
    data: Path = tmp_path_factory.mktemp(f"billing-{request.param}")
    pg_url = create_pg_database() if request.param == "postgres" else None
    env = {"PYAI_DATABASE_URL": pg_url} if pg_url else {}
    servers = [Server(data, env).start()]
    servers.append(Server(data, env).start())
    yield servers
    for srv in servers:
        srv.stop()
    if pg_url:
        drop_pg_database(pg_url)


def burst(servers: list[Server], key: str, n: int = BURST) -> list[httpx.Response]:
    async def one(client: httpx.AsyncClient, srv: Server) -> httpx.Response:
        return await client.post(
            srv.url + "/v1/audio/speech",
            headers=srv.headers(key),
            json={"input": LINE, "response_format": "pcm", "voice": FLITE_VOICE},
        )

    async def all_at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(timeout=300, limits=limits) as client:
            return await asyncio.gather(*(one(client, servers[i % len(servers)]) for i in range(n)))

    return asyncio.run(all_at_once())


def served_units(responses: list[httpx.Response], refused_status: int, refused_code: str) -> float:
    ok = [r for r in responses if r.status_code == 200]
    assert ok, [r.text for r in responses[:3]]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, refused_status, refused_code)
    for r in ok:  # every served response is the real audio its header billed
        assert len(r.content) / 2 / 24000 == pytest.approx(float(r.headers["x-pyai-units"]), abs=0.01)
    return sum(float(r.headers["x-pyai-units"]) for r in ok)


def test_test_key_daily_cap_holds_under_a_burst(replicas: list[Server]) -> None:
    key = replicas[0].create_key(env="test", plan="payg", scopes="voice:synthesize", daily_cap=5)
    units = served_units(burst(replicas, key["api_key"]), 429, "daily_cap_exceeded")
    assert 1 < units <= 5


def test_org_credit_holds_under_a_burst(replicas: list[Server]) -> None:
    key = replicas[0].create_key(plan="payg", scopes="voice:synthesize", credit_cents=1)
    units = served_units(burst(replicas, key["api_key"]), 402, "credit_exhausted")
    assert math.ceil(units) * SPEAK_CENTS_PER_SECOND <= 1 + 1e-9  # 1 cent buys 10 s of speech
    assert units > 5
    me = httpx.get(replicas[1].url + "/v1/me", headers=replicas[1].headers(key["api_key"])).json()
    assert me["credit"]["available_cents"] == 0


def test_key_budget_holds_under_a_burst(replicas: list[Server]) -> None:
    key = replicas[0].create_key(plan="payg", scopes="voice:synthesize", credit_cents=1000, budget_cents=1)
    units = served_units(burst(replicas, key["api_key"]), 402, "key_budget_exceeded")
    assert math.ceil(units) * SPEAK_CENTS_PER_SECOND <= 1 + 1e-9
    assert units > 5


def test_plan_monthly_units_hold_under_a_burst(replicas: list[Server]) -> None:
    key = replicas[0].create_key(plan="enterprise", scopes="voice:synthesize", monthly_units=5)
    units = served_units(burst(replicas, key["api_key"]), 402, "insufficient_quota")
    assert 1 < units <= 5
