"""Keys, identity and error envelopes, over real HTTP against SQLite and PostgreSQL servers."""

from __future__ import annotations

import time

import httpx
import pytest

from pyai.contract import seed_operations
from tests.contract import assert_error, assert_problem, validate
from tests.server import Server


def test_me_by_bearer_and_x_api_key_matches_identity_schema(server: Server, key: dict) -> None:
    for headers in ({"Authorization": f"Bearer {key['api_key']}"}, {"x-api-key": key["api_key"]}):
        resp = httpx.get(server.url + "/v1/me", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        validate(body, "Identity")
        assert body["key_id"] == key["key_id"] and body["org_id"] == key["org_id"]
        assert body["project_id"] == key["project_id"] and body["env"] == "live"
        assert body["scopes"] == ["*"] and body["status"] == "active" and body["org_status"] == "active"
        assert set(body["limits"]) >= {"rps", "burst", "concurrency", "monthly_units", "daily_unit_cap"}
        assert resp.headers["x-request-id"]


def test_me_reports_budget_expiry_scopes_and_credit(server: Server) -> None:
    key = server.create_key(
        scopes="hear:*,voice:synthesize", plan="payg", credit_cents=500, budget_cents=120, expires_in=3600
    )
    body = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    validate(body, "Identity")
    assert body["scopes"] == ["hear:*", "voice:synthesize"]
    assert body["key_budget_cents"] == 120
    assert body["credit"] == {"gated": True, "available_cents": 500}
    assert body["expires_at"] == key["expires_at"] and body["expires_at"] > time.time() * 1000


def test_test_key_identity_has_daily_cap_and_no_gate(server: Server) -> None:
    key = server.create_key(env="test", plan="payg", daily_cap=77)
    body = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
    assert body["env"] == "test" and body["limits"]["daily_unit_cap"] == 77
    assert body["credit"]["gated"] is False
    assert key["api_key"].startswith("pyai_test_")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing API key"),
        ({"Authorization": "Bearer nonsense"}, "Invalid API key"),
        ({"Authorization": "Basic abc"}, "Missing API key"),
        ({"x-api-key": "pyai_live_" + "A" * 600}, "Invalid API key"),
    ],
)
def test_missing_or_malformed_key_is_401(server: Server, headers: dict, message: str) -> None:
    body = assert_error(httpx.get(server.url + "/v1/me", headers=headers), 401, "unauthorized")
    assert message in body["error"]["message"]


def test_tampered_signature_and_foreign_secret_are_401(server: Server, key: dict) -> None:
    token = key["api_key"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_error(httpx.get(server.url + "/v1/me", headers=server.headers(tampered)), 401, "unauthorized")
    # Same claims, payload swapped to a different org: the signature no longer matches.
    other = server.create_key()
    forged = other["api_key"].rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1]
    assert_error(httpx.get(server.url + "/v1/me", headers=server.headers(forged)), 401, "unauthorized")


def test_expired_key_is_401(server: Server) -> None:
    key = server.create_key(expires_in=1)
    time.sleep(1.2)
    body = assert_error(httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])), 401, "unauthorized")
    assert "expired" in body["error"]["message"]


def _eventually(fn, timeout: float = 5.0):  # noqa: ANN001, ANN202 - poll until the cache TTL lapses
    deadline = time.time() + timeout
    while True:
        resp = fn()
        if resp.status_code != 200 or time.time() > deadline:
            return resp
        time.sleep(0.2)


def test_revoked_key_is_401_within_cache_ttl(server: Server, key: dict) -> None:
    me = lambda: httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"]))  # noqa: E731
    assert me().status_code == 200
    server.cli("keys", "revoke", key["key_id"])
    body = assert_error(_eventually(me), 401, "unauthorized")
    assert "revoked" in body["error"]["message"]
    assert server.cli("keys", "revoke", key["key_id"], check=False).returncode == 1


def test_suspended_org_still_sees_me(server: Server, key: dict) -> None:
    server.cli("orgs", "suspend", key["org_id"])
    deadline = time.time() + 5
    while True:
        body = httpx.get(server.url + "/v1/me", headers=server.headers(key["api_key"])).json()
        if body["org_status"] == "suspended" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert body["org_status"] == "suspended"
    resp = httpx.get(server.url + "/v1/models", headers=server.headers(key["api_key"]))
    assert "org_suspended" in assert_error(resp, 403, "forbidden")["error"]["message"]
    server.cli("orgs", "activate", key["org_id"])


def test_origin_allow_list(server: Server) -> None:
    key = server.create_key(origins="https://app.example.com")["api_key"]
    ok = httpx.get(server.url + "/v1/models", headers={**server.headers(key), "Origin": "https://app.example.com"})
    assert ok.status_code == 200
    resp = httpx.get(server.url + "/v1/models", headers={**server.headers(key), "Origin": "https://evil.example"})
    assert_error(resp, 403, "origin_not_allowed")
    assert httpx.get(server.url + "/v1/models", headers=server.headers(key)).status_code == 200  # server-side call


def test_scope_wildcards(server: Server) -> None:
    """The scope check runs before the body is read: granted keys reach validation (400)."""
    for scopes, granted in (
        ("hear:*", True),
        ("*", True),
        ("hear:transcribe", True),
        ("hear:stream", False),
        ("voice:*", False),
        ("transcribe:jobs", False),
    ):
        key = server.create_key(scopes=scopes)["api_key"]
        resp = httpx.post(server.url + "/v1/audio/transcriptions", headers=server.headers(key), json={})
        if granted:
            assert resp.status_code == 400, (scopes, resp.text)
        else:
            body = assert_error(resp, 403, "forbidden")
            assert "insufficient_scope" in body["error"]["message"] and body["error"]["param"] == "hear:transcribe"
    bad = server.cli("keys", "create", "--scopes", "hear:*,bogus:thing", check=False)
    assert bad.returncode == 2 and "bogus:thing" in bad.stderr


def test_unknown_route_and_method_are_problems(server: Server) -> None:
    assert_problem(httpx.get(server.url + "/v1/does-not-exist"), 404, "not_found")
    assert_problem(httpx.delete(server.url + "/v1/me"), 405, "method_not_allowed")


def test_bad_json_names_body(server: Server) -> None:
    resp = httpx.post(
        server.url + "/v1/sandbox/keys", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert assert_problem(resp, 400, "invalid_json")["param"] == "body"
    resp = httpx.post(server.url + "/v1/sandbox/keys", json={"label": "x" * 65})
    body = assert_problem(resp, 400, "invalid_request")
    assert body["param"] == "label" and "label" in body["detail"]


def test_incoming_request_id_is_echoed(server: Server) -> None:
    resp = httpx.get(server.url + "/v1/me", headers={"x-request-id": "trace-abc.123"})
    assert resp.headers["x-request-id"] == "trace-abc.123"
    resp = httpx.get(server.url + "/v1/me", headers={"x-request-id": "bad id with spaces"})
    assert resp.headers["x-request-id"].startswith("req_")


def test_models_catalog_names_engines(server: Server, key: dict) -> None:
    body = httpx.get(server.url + "/v1/models", headers=server.headers(key["api_key"])).json()
    ids = {m["id"]: m for m in body["data"]}
    assert {"pyai-hear", "pyai-voice"} <= set(ids)
    assert ids["pyai-hear"]["engine"]["name"] == "faster-whisper"  # the engine actually configured
    assert_error(httpx.get(server.url + "/v1/models"), 401, "unauthorized")


def test_served_openapi_covers_every_contract_operation(server: Server) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    served = {
        (m.upper(), p)
        for p, item in doc["paths"].items()
        for m in item
        if m in ("get", "post", "put", "patch", "delete")
    }
    missing = seed_operations() - served
    assert not missing, f"operations missing from /openapi.json: {sorted(missing)}"


def test_telephony_answers_404_until_a_carrier_is_configured(server: Server, key: dict) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    assert "/v1/telephony/numbers" in doc["paths"]
    resp = httpx.get(server.url + "/v1/telephony/numbers", headers=server.headers(key["api_key"]))
    assert_problem(resp, 404, "not_found")  # the contract: 404 until a carrier is configured
