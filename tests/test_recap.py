"""Recap end to end: config and CRM config over the API (secrets sealed, redacted, kept when
omitted), then a real Omni call whose recap is built after it ends, delivered signed to the
customer's webhook and written to Salesforce (a local double checking the exact requests),
re-run on demand, refused with 402 until Recap is enabled, and invisible to another org."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.contract import assert_error
from tests.omni_client import Session, call, run
from tests.receiver import recording_handler, serving
from tests.salesforce_double import SalesforceDouble
from tests.server import Server
from tests.signing import verify

OPPORTUNITY = "006Dn00000A1b2cIAB"
CALLER = [
    "Hi, this is Jordan from Northwind. We plan to roll out a forecasting tool next quarter.",
    "Our budget is about fifty thousand dollars and I am the decision maker.",
    "Sure, book a meeting for next Tuesday at 3 pm. Goodbye.",
]


_Hooks = recording_handler()


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    with serving(_Hooks) as url:
        yield f"{url}/recaps"


@pytest.fixture(scope="module")
def salesforce() -> Iterator[SalesforceDouble]:
    with SalesforceDouble() as double:
        double.add_record("Opportunity", OPPORTUNITY, Name="Northwind — forecasting")
        yield double


@pytest.fixture(scope="module")
def owner(sqlite_server: Server) -> dict:
    return sqlite_server.create_key(scopes="omni:session,omni:read,recap:configure,recap:read,transcribe:jobs")


@pytest.fixture(scope="module")
def api(sqlite_server: Server, owner: dict) -> httpx.Client:
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(owner["api_key"]), timeout=60)


def recap_of(api: httpx.Client, call_id: str, done: tuple[str, ...] = ("complete", "failed")) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        resp = api.get(f"/v1/recap/calls/{call_id}")
        if resp.status_code == 200 and resp.json()["status"] in done:
            return resp.json()
        time.sleep(0.2)
    raise AssertionError(f"no finished recap for {call_id}: {resp.status_code} {resp.text}")


def typed_call(srv: Server, key: str, agent_id: str) -> str:
    async def body(s: Session) -> None:
        await s.until("agent.audio_end")
        for line in CALLER:
            mark = len(s.events)
            await s.ws.send(json.dumps({"type": "text", "text": line}))
            await s.until("agent.text", after=mark)
        await s.until("call.ended")

    session, code = run(call(srv, key, body, query=f"session_label={agent_id}"))
    assert code == 1000, session.events
    return next(e for e in session.events if e["type"] == "session.ready")["call_id"]


def test_configs_validate_and_keep_secrets(api: httpx.Client, salesforce: SalesforceDouble) -> None:
    assert api.get("/v1/recap/config").json() == {
        "object": "recap.config",
        "enabled": False,
        "webhook_url": None,
        "default_pack_id": "sales_outbound",
    }  # never saved: no updated_at (the contract types it as an integer)
    assert api.get("/v1/recap/crm-config").json() == {"object": "recap.crm_config"}
    body = assert_error(api.get("/v1/recap/calls"), 402, "insufficient_quota")
    assert "PUT /v1/recap/config" in body["error"]["message"]
    bad = api.put("/v1/recap/config", json={"default_pack_id": "nope"})
    assert bad.status_code == 400 and bad.json()["param"] == "default_pack_id"
    unsafe = api.put("/v1/recap/config", json={"webhook_url": "http://169.254.169.254/latest"})
    assert unsafe.status_code == 400 and unsafe.json()["param"] == "webhook_url"
    sf = {
        "enabled": True,
        "instance_url": salesforce.url,
        "login_url": salesforce.url,
        "client_id": salesforce.client_id,
        "client_secret": salesforce.client_secret,
        "refresh_token": salesforce.refresh_token,
        "object": "Opportunity",
        "record_id_field": "salesforce_id",
        "field_map": {"summary": "Description", "budget": "Amount", "outcome": "Recap_Outcome__c"},
        "create_activity": True,
    }
    stored = api.put("/v1/recap/crm-config", json={"salesforce": sf}).json()["salesforce"]
    assert stored["client_secret"] == stored["refresh_token"] == "********"
    assert salesforce.client_id not in json.dumps(stored) and salesforce.refresh_token not in json.dumps(stored)
    kept = api.put("/v1/recap/crm-config", json={"salesforce": {"create_activity": True}}).json()["salesforce"]
    assert kept["refresh_token"] == "********"  # omitted secrets are kept
    bad_object = api.put("/v1/recap/crm-config", json={"salesforce": {"object": "Opp/../x"}})
    assert bad_object.status_code == 400 and bad_object.json()["param"].startswith("salesforce.object")


def test_a_call_is_recapped_delivered_signed_and_written_to_salesforce(
    sqlite_server: Server, owner: dict, api: httpx.Client, hooks: str, salesforce: SalesforceDouble
) -> None:
    enabled = api.put(
        "/v1/recap/config", json={"enabled": True, "webhook_url": hooks, "default_pack_id": "sales_outbound"}
    )
    assert enabled.status_code == 200 and enabled.json()["enabled"], enabled.text
    agent = api.post(
        "/v1/agents", json={"name": "Sales", "greeting": "Hi.", "metadata": {"salesforce_id": OPPORTUNITY}}
    )
    assert agent.status_code == 201, agent.text
    call_id = typed_call(sqlite_server, owner["api_key"], agent.json()["agent_id"])

    recap = recap_of(api, call_id)
    assert recap["status"] == "complete" and recap["crm_write_status"] == "ok", recap
    record = recap["record"]
    assert record["extracted"]["budget"] == 50000 and record["extracted"]["timeline"] == "next quarter", record
    assert record["extracted"]["next_meeting"].endswith("T15:00") and record["method"] == "embedded", record
    listed = api.get("/v1/recap/calls").json()["data"]
    assert [r["call_id"] for r in listed][:1] == [call_id] and "record" not in listed[0]

    secret = api.get("/v1/webhooks/secret").json()["secret"]
    deadline = time.monotonic() + 60
    while not _Hooks.received and time.monotonic() < deadline:
        time.sleep(0.1)
    headers, raw = _Hooks.received[-1]
    assert verify(secret, headers["X-PyAI-Signature"], raw) and headers["X-PyAI-Event"] == "recap.completed"
    assert json.loads(raw)["data"]["record"] == record
    patch = salesforce.seen("PATCH", OPPORTUNITY)[-1]
    assert patch.json["Amount"] == 50000 and patch.json["Recap_Outcome__c"] == record["outcome"]
    assert salesforce.seen("POST", "/sobjects/Task")[-1].json["WhatId"] == OPPORTUNITY

    # Salesforce refuses the next write: the re-run recap says so, and the recap itself stands
    salesforce.reject_next_patch()
    rerun = api.post(f"/v1/recap/calls/{call_id}")
    assert rerun.status_code == 202 and rerun.json()["status"] == "pending"
    again = recap_of(api, call_id)
    assert again["status"] == "complete" and again["crm_write_status"].startswith("failed: 400"), again

    other = sqlite_server.create_key(scopes="recap:configure,recap:read")["api_key"]
    stranger = httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(other), timeout=30)
    stranger.put("/v1/recap/config", json={"enabled": True})
    assert stranger.get(f"/v1/recap/calls/{call_id}").status_code == 404
    assert stranger.post(f"/v1/recap/calls/{call_id}").status_code == 404
