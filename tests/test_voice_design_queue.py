"""The voice-design queue over HTTP: per-org and machine-wide limits (also under a concurrent burst
across two replicas), and sample texts with nothing to say refused up front.

The servers run no worker (``PYAI_WORKER_IN_PROCESS=false``), so accepted designs stay queued and
the counts are exact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.contract import assert_error, assert_problem
from tests.server import Server, create_pg_database, drop_pg_database

PER_ORG = 2
GLOBAL = 5


@pytest.fixture(scope="module", params=BACKENDS)
def replicas(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two servers on one database (and one data dir, so one secret), neither running jobs."""
    tmp: Path = tmp_path_factory.mktemp(f"design-queue-{request.param}")
    env = {
        "PYAI_WORKER_IN_PROCESS": "false",
        "PYAI_DESIGN_QUEUE_LIMIT": str(PER_ORG),
        "PYAI_DESIGN_QUEUE_GLOBAL_LIMIT": str(GLOBAL),
    }
    pg_url = create_pg_database() if request.param == "postgres" else None
    if pg_url:
        env["PYAI_DATABASE_URL"] = pg_url
    servers = [Server(tmp, env).start()]  # the first one migrates and bootstraps alone
    servers.append(Server(tmp, env).start())
    yield servers
    for srv in servers:
        srv.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def any_key(replicas: list[Server]) -> str:
    return new_org_key(replicas[0])


def new_org_key(srv: Server) -> str:
    return srv.create_key(scopes="voice:design")["api_key"]


def post_design(srv: Server, key: str, **body: object) -> httpx.Response:
    return httpx.post(
        srv.url + "/v1/voice/design", headers=srv.headers(key), json={"prompt": "a calm woman", **body}, timeout=60
    )


def burst(requests: list[tuple[Server, str]]) -> list[httpx.Response]:
    """Send all requests at once (released together by a barrier), alternating replicas."""
    gate = threading.Barrier(len(requests))

    def send(item: tuple[Server, str]) -> httpx.Response:
        gate.wait()
        return post_design(*item)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def assert_queue_full(resp: httpx.Response, which: str) -> None:
    body = assert_error(resp, 429, "rate_limit_exceeded")
    assert which in body["error"]["message"].lower(), body
    assert int(resp.headers["Retry-After"]) > 0


def test_per_org_limit_and_machine_guard_hold_under_bursts(replicas: list[Server]) -> None:
    a, b = replicas
    org_a = new_org_key(a)
    answers = burst([(replicas[i % 2], org_a) for i in range(8)])
    accepted = [r for r in answers if r.status_code == 202]
    assert len(accepted) == PER_ORG, [r.text for r in answers]
    for refused in (r for r in answers if r.status_code != 202):
        assert_queue_full(refused, "your organisation")
    assert_queue_full(post_design(b, org_a), "your organisation")

    # org A's full queue does not refuse org B
    assert post_design(b, new_org_key(b)).status_code == 202

    # several orgs at once (each within its own limit) fill the machine-wide queue exactly
    room = GLOBAL - PER_ORG - 1
    orgs = [new_org_key(a) for _ in range(3)]
    answers = burst([(replicas[i % 2], org) for i, org in enumerate(orgs * PER_ORG)])
    assert sum(r.status_code == 202 for r in answers) == room, [r.text for r in answers]
    for refused in (r for r in answers if r.status_code != 202):
        assert_queue_full(refused, "server")
    assert_queue_full(post_design(a, new_org_key(a)), "server")


@pytest.mark.parametrize("text", ["|", "...", "   ", "\n\t", "😀😀", "—?!", "你好"])
def test_unspeakable_sample_text_is_refused_up_front(replicas: list[Server], any_key: str, text: str) -> None:
    body = assert_problem(post_design(replicas[0], any_key, sample_text=text), 400, "invalid_request")
    assert body["param"] == "sample_text" and "sample_text" in body["detail"]
