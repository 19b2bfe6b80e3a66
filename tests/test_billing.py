"""The billing gate and metering, seen by a client of real billable endpoints."""

from __future__ import annotations

import time

import httpx

from tests.contract import assert_error
from tests.media import flite_wav
from tests.server import Server

SENTENCE = "The quick brown fox jumps over the lazy dog."


def hear(srv: Server, key: str, data: bytes | None = None) -> httpx.Response:
    return httpx.post(
        srv.url + "/v1/audio/transcriptions",
        headers=srv.headers(key),
        files={"file": ("a.wav", data if data is not None else flite_wav(SENTENCE))},
        timeout=120,
    )


def until(fn, ok, timeout: float = 6.0):  # noqa: ANN001, ANN202 - poll past the 2 s credit cache
    deadline = time.time() + timeout
    while True:
        resp = fn()
        if ok(resp) or time.time() > deadline:
            return resp
        time.sleep(0.3)


def test_live_key_without_credit_is_402_until_funded(server: Server) -> None:
    key = server.create_key(plan="payg", scopes="hear:*")
    body = assert_error(hear(server, key["api_key"]), 402, "credit_exhausted")
    assert "credit" in body["error"]["message"]
    me = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    assert me["credit"] == {"gated": True, "available_cents": 0}
    server.cli("credit", "grant", key["org_id"], "100")
    resp = until(lambda: hear(server, key["api_key"]), lambda r: r.status_code == 200)
    assert resp.status_code == 200, resp.text
    assert float(resp.headers["x-pyai-units"]) > 0


def test_seconds_are_summed_then_rounded_once(server: Server) -> None:
    """One cent buys 200 s of Hear; per-call minute rounding (0.3 c each) would exhaust it in 4 calls."""
    key = server.create_key(plan="payg", scopes="hear:*", credit_cents=1)
    units = [float(hear(server, key["api_key"]).headers["x-pyai-units"]) for _ in range(5)]
    assert all(2 < u < 5 for u in units)
    me = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    assert me["credit"]["available_cents"] == 0  # 1 - 5*~3 s * 0.005 c/s = 0.92 c left, shown as whole cents
    assert hear(server, key["api_key"]).status_code == 200  # but the balance is still positive


def test_key_budget_is_402(server: Server) -> None:
    key = server.create_key(plan="payg", scopes="hear:*", credit_cents=1000, budget_cents=0)
    assert_error(hear(server, key["api_key"]), 402, "key_budget_exceeded")
    me = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    assert me["key_budget_cents"] == 0


def test_test_key_skips_credit_but_stops_at_daily_cap_and_failures_are_free(server: Server) -> None:
    key = server.create_key(env="test", plan="payg", scopes="hear:*", daily_cap=5)
    for _ in range(3):  # failed calls bill nothing, so they never eat the cap
        assert hear(server, key["api_key"], b"not audio at all" * 10).status_code == 400
    first = hear(server, key["api_key"])
    assert first.status_code == 200, first.text  # no credit, but test keys skip the gate
    assert 2 < float(first.headers["x-pyai-units"]) < 5
    # ~2.9 s used, ~2.1 s left: the next ~2.9 s call no longer fits and is refused whole, unbilled
    body = assert_error(hear(server, key["api_key"]), 429, "daily_cap_exceeded")
    assert "daily cap of 5" in body["error"]["message"] and "only 2." in body["error"]["message"]


def test_plan_monthly_cap_is_insufficient_quota(server: Server) -> None:
    key = server.create_key(plan="enterprise", scopes="hear:*", monthly_units=5)
    assert hear(server, key["api_key"]).status_code == 200  # ~2.9 s: the next call no longer fits
    body = assert_error(hear(server, key["api_key"]), 402, "insufficient_quota")
    assert "monthly cap of 5" in body["error"]["message"]
    me = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    assert me["limits"]["monthly_units"] == 5 and me["credit"]["gated"] is False
