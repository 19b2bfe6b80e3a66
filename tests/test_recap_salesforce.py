"""The Salesforce recap writer over real HTTP against the local double (tests/salesforce_double.py):
the exact refresh, PATCH and Task requests, an expired session refreshed and retried exactly once,
Salesforce's 4xx surfaced and not retried, no activity, no record id, and secrets kept out of
statuses, reprs and logs."""

from __future__ import annotations

import datetime
import logging
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from pyai.recap.salesforce import SalesforceConfig, WriteResult, record_id_for, write_recap
from tests.salesforce_double import SalesforceDouble

OPPORTUNITY = "006Dn00000A1b2cIAB"
CONTACT = "003Dn00000Q9xYzIAB"
CALL_DATE = datetime.date(2026, 11, 24)
RECORD = {
    "pack_id": "sales_outbound",
    "method": "embedded",
    "model": None,
    "fallback_reason": None,
    "tldr": "Meeting booked for 2026-11-24 at 15:00 (budget 50,000).",
    "summary": "The caller said: “We plan to roll out a forecasting tool next quarter.” Outcome: meeting booked.",
    "outcome": "meeting_booked",
    "next_steps": ["Meeting on 2026-11-24 at 15:00", "Agent to send the caller the pricing sheet"],
    "action_items": [{"owner": "agent", "text": "Send the caller the pricing sheet"}],
    "extracted": {"budget": 50000, "timeline": "next quarter", "decision_maker": "CFO", "objection": None},
    "sentiment": {"label": "positive", "score": 0.67, "positive": 2, "negative": 0, "basis": "lexical"},
    "topics": ["forecasting tool"],
}
FIELD_MAP = {
    "summary": "Description",
    "next_steps": "NextStep",
    "budget": "Amount",
    "outcome": "Recap_Outcome__c",
    "objection": "StageName",  # null on this call: must not be sent (it would clear the field)
}
#: The writer's look-up of a Task an earlier attempt created for the call, as sent (URL-encoded).
TASK_OF_CALL = quote(f"SELECT Id FROM Task WHERE CallObject = 'call_01JD8Z' AND WhatId = '{OPPORTUNITY}' LIMIT 1")
SECRETS = ("sf-client-secret-0001", "5Aep861recapRefresh0001")
EXPECTED_TASK = {
    "Subject": "Call — Meeting booked for 2026-11-24 at 15:00 (budget 50,000).",
    "Description": (
        "Meeting booked for 2026-11-24 at 15:00 (budget 50,000).\n\n"
        "The caller said: “We plan to roll out a forecasting tool next quarter.” Outcome: meeting booked.\n\n"
        "Action items:\n- Agent: Send the caller the pricing sheet"
    ),
    "Status": "Completed",
    "TaskSubtype": "Call",
    "ActivityDate": "2026-11-24",
    "CallType": "Outbound",
    "CallDurationInSeconds": 187,
    "CallDisposition": "meeting_booked",
    "CallObject": "call_01JD8Z",
    "WhatId": OPPORTUNITY,
}


@pytest.fixture(scope="module")
def salesforce() -> Iterator[SalesforceDouble]:
    with SalesforceDouble() as double:
        yield double


@pytest.fixture
def sf(salesforce: SalesforceDouble) -> SalesforceDouble:
    """The module's double, reset to an org with one Opportunity and one Contact."""
    salesforce.reset()
    salesforce.add_record("Opportunity", OPPORTUNITY, Name="Northwind — forecasting")
    salesforce.add_record("Contact", CONTACT, Email="jordan@example.com")
    return salesforce


def config(sf: SalesforceDouble, **changes: object) -> SalesforceConfig:
    values: dict = {
        "instance_url": sf.url,
        "login_url": sf.url,
        "client_id": sf.client_id,
        "client_secret": sf.client_secret,
        "refresh_token": sf.refresh_token,
        "object": "Opportunity",
        "field_map": FIELD_MAP,
        "create_activity": True,
        "api_version": "v60.0",
    }
    return SalesforceConfig(**{**values, **changes})


async def write(sf: SalesforceDouble, record_id: str | None = OPPORTUNITY, **kwargs: object) -> WriteResult:
    cfg = kwargs.pop("cfg", None) or config(sf)
    options = {"call_id": "call_01JD8Z", "call_duration_s": 186.6, "activity_date": CALL_DATE, "allow_loopback": True}
    return await write_recap(cfg, kwargs.pop("record", RECORD), record_id, **{**options, **kwargs})


async def test_refresh_patch_and_task_exactly(sf: SalesforceDouble, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = await write(sf)

    assert result.status == "ok" and result.ok and not result.retryable
    assert [(r.method, r.path) for r in sf.requests] == [
        ("POST", "/services/oauth2/token"),
        ("PATCH", f"/services/data/v60.0/sobjects/Opportunity/{OPPORTUNITY}"),
        ("GET", f"/services/data/v60.0/query?q={TASK_OF_CALL}"),  # not logged by an earlier attempt
        ("POST", "/services/data/v60.0/sobjects/Task"),
    ]
    token, patch, _, task = sf.requests
    assert token.form == {
        "grant_type": ["refresh_token"],
        "client_id": [sf.client_id],
        "client_secret": [sf.client_secret],
        "refresh_token": [sf.refresh_token],
    }
    assert "authorization" not in token.headers
    access = sf.issued[0]
    assert patch.headers["authorization"] == task.headers["authorization"] == f"Bearer {access}"
    assert patch.json == {
        "Description": RECORD["summary"],
        "NextStep": "Meeting on 2026-11-24 at 15:00; Agent to send the caller the pricing sheet",
        "Amount": 50000,
        "Recap_Outcome__c": "meeting_booked",
    }
    assert task.json == EXPECTED_TASK
    assert sf.problems == []
    assert sf.records["Opportunity"][OPPORTUNITY]["Amount"] == 50000
    assert result.task_id == sf.tasks[0]["Id"]
    assert (result.access_token, result.instance_url, result.refresh_token) == (access, sf.url, None)
    shown = repr(result) + repr(config(sf)) + result.status + caplog.text
    assert access not in shown and not any(secret in shown for secret in SECRETS)


async def test_a_kept_token_is_used_without_refreshing(sf: SalesforceDouble) -> None:
    token = sf.issue_token()
    result = await write(sf, access_token=token)
    assert result.status == "ok"
    assert sf.refreshes == 0 and result.access_token == token
    assert sf.problems == []


async def test_an_expired_session_is_refreshed_and_retried_once(sf: SalesforceDouble) -> None:
    stale = sf.issue_token()
    sf.expire_token()
    result = await write(sf, access_token=stale)

    assert result.status == "ok"
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.headers.get("authorization")) for r in sf.requests] == [
        ("PATCH", OPPORTUNITY, f"Bearer {stale}"),
        ("POST", "token", None),
        ("PATCH", OPPORTUNITY, f"Bearer {sf.issued[1]}"),
        ("GET", f"query?q={TASK_OF_CALL}", f"Bearer {sf.issued[1]}"),
        ("POST", "Task", f"Bearer {sf.issued[1]}"),
    ]
    assert result.access_token == sf.issued[1]
    assert sf.problems == []


async def test_a_session_that_keeps_expiring_fails_after_one_retry(sf: SalesforceDouble) -> None:
    stale = sf.issue_token()
    sf.expire_token()
    sf.expire_every_token = True  # the refreshed token is refused too
    result = await write(sf, access_token=stale)

    assert result.status == "failed: 401 INVALID_SESSION_ID: Session expired or invalid"
    assert [r.method for r in sf.requests] == ["PATCH", "POST", "PATCH"]  # one refresh, one retry, no loop
    assert not sf.tasks and not result.retryable


async def test_a_fresh_token_refused_is_not_refreshed_again(sf: SalesforceDouble) -> None:
    sf.expire_every_token = True
    result = await write(sf)
    assert result.status == "failed: 401 INVALID_SESSION_ID: Session expired or invalid"
    assert [r.method for r in sf.requests] == ["POST", "PATCH"]


async def test_a_rejected_patch_surfaces_salesforces_error_and_is_not_retried(sf: SalesforceDouble) -> None:
    sf.reject_next_patch(message="No such column 'Amount' on sobject of type Opportunity", fields=["Amount"])
    result = await write(sf)

    assert result.status == (
        "failed: 400 INVALID_FIELD: No such column 'Amount' on sobject of type Opportunity (fields: Amount)"
    )
    assert not result.ok and not result.retryable
    assert [r.method for r in sf.requests] == ["POST", "PATCH"]  # no retry, no Task
    assert not sf.tasks


async def test_a_field_the_org_does_not_have_is_refused_by_salesforce(sf: SalesforceDouble) -> None:
    result = await write(sf, cfg=config(sf, field_map={"budget": "Budget__c"}))
    assert result.status == "failed: 400 INVALID_FIELD: No such column 'Budget__c' on sobject of type Opportunity"
    assert sf.problems == ["Opportunity: no field Budget__c"]


async def test_a_server_error_is_retryable(sf: SalesforceDouble) -> None:
    sf.reject_next_patch(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
    result = await write(sf)
    assert result.status == "failed: 503 SERVER_UNAVAILABLE: Server temporarily unavailable"
    assert result.retryable


async def test_a_refused_task_leaves_the_update_done(sf: SalesforceDouble) -> None:
    sf.reject_next_task(message="CallDisposition: bad value", fields=["CallDisposition"])
    result = await write(sf)
    assert result.status == (
        "ok_activity_failed: 400 FIELD_INTEGRITY_EXCEPTION: CallDisposition: bad value (fields: CallDisposition)"
    )
    assert result.ok and sf.records["Opportunity"][OPPORTUNITY]["Recap_Outcome__c"] == "meeting_booked"


async def test_without_activity_only_the_record_is_updated(sf: SalesforceDouble) -> None:
    result = await write(sf, cfg=config(sf, create_activity=False))
    assert result.status == "ok_no_activity"
    assert [r.method for r in sf.requests] == ["POST", "PATCH"]
    assert not sf.tasks and sf.problems == []


async def test_with_nothing_mapped_only_the_task_is_created(sf: SalesforceDouble) -> None:
    result = await write(sf, cfg=config(sf, field_map={}))
    assert result.status == "ok"
    assert [r.method for r in sf.requests] == ["POST", "GET", "POST"]
    assert sf.tasks[0]["WhatId"] == OPPORTUNITY and sf.problems == []


async def test_a_retried_write_does_not_log_the_call_twice(sf: SalesforceDouble) -> None:
    """An attempt whose answer was lost is retried (a durable job): the Task it created is found
    by the call id and reused, the record updated again (idempotent), no second Task."""
    first = await write(sf)
    again = await write(sf, access_token=first.access_token)
    assert first.status == again.status == "ok" and again.task_id == first.task_id
    assert len(sf.tasks) == 1 and [r.method for r in sf.requests][-2:] == ["PATCH", "GET"]
    other_call = await write(sf, access_token=first.access_token, call_id="call_02OTHER")
    assert len(sf.tasks) == 2 and other_call.task_id != first.task_id and sf.problems == []


async def test_a_contact_is_the_tasks_who(sf: SalesforceDouble) -> None:
    cfg = config(sf, object="Contact", field_map={"extracted.decision_maker": "Description"})
    result = await write(sf, CONTACT, cfg=cfg)
    assert result.status == "ok"
    assert sf.records["Contact"][CONTACT]["Description"] == "CFO"
    assert sf.tasks[0]["WhoId"] == CONTACT and "WhatId" not in sf.tasks[0]
    assert sf.problems == []


async def test_no_record_id_is_skipped_without_a_request(sf: SalesforceDouble) -> None:
    cfg = config(sf, record_id_field="salesforce_id")
    record_id = record_id_for(cfg, RECORD, {"campaign": "q4"})
    assert record_id is None
    assert (await write(sf, record_id)).status == "skipped: no record id"
    assert (await write(sf, "../../sobjects/User/005")).status == "skipped: invalid record id"
    assert (await write(sf, cfg=config(sf, create_activity=False, field_map={}))).status == "skipped: nothing to write"
    assert (await write(sf, cfg=config(sf, enabled=False))).status == "skipped: disabled"
    assert sf.requests == []


def test_the_record_id_comes_from_the_call_metadata_then_the_extracted_fields(sf: SalesforceDouble) -> None:
    cfg = config(sf, record_id_field="opportunity_id")
    extracted = {**RECORD, "extracted": {**RECORD["extracted"], "opportunity_id": "006Dn00000ZZZZZIAB"}}
    assert record_id_for(cfg, extracted, {"opportunity_id": OPPORTUNITY}) == OPPORTUNITY
    assert record_id_for(cfg, extracted, {}) == "006Dn00000ZZZZZIAB"


async def test_a_refused_refresh_token_fails_before_any_write(sf: SalesforceDouble) -> None:
    result = await write(sf, cfg=config(sf, refresh_token="5Aep861revoked"))
    assert result.status == "failed: auth 400 invalid_grant: expired access/refresh token"
    assert [r.method for r in sf.requests] == ["POST"] and not result.retryable


async def test_a_rotated_refresh_token_is_handed_back(sf: SalesforceDouble) -> None:
    sf.rotate_refresh_token = True
    result = await write(sf)
    assert result.status == "ok"
    assert result.refresh_token == sf.refresh_token != "5Aep861recapRefresh0001"


async def test_the_ssrf_guard_refuses_loopback_outside_test_mode(sf: SalesforceDouble) -> None:
    result = await write(sf, allow_loopback=False)
    assert result.status == "failed: unsafe url: URL scheme must be https"
    assert sf.requests == []


async def test_an_unreachable_org_is_a_retryable_network_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    cfg = SalesforceConfig(instance_url=closed, login_url=closed, client_id="c", client_secret="s", refresh_token="r")
    result = await write_recap(cfg, RECORD, OPPORTUNITY, allow_loopback=True)
    assert result.status == "failed: network: ConnectError" and result.retryable


async def test_a_session_lost_before_the_task_is_refreshed_there(sf: SalesforceDouble) -> None:
    sf.reject_next_task(401, "INVALID_SESSION_ID", "Session expired or invalid")
    result = await write(sf, access_token=sf.issue_token())
    assert result.status == "ok"
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in sf.requests] == [
        ("PATCH", OPPORTUNITY),
        ("GET", f"query?q={TASK_OF_CALL}"),
        ("POST", "Task"),
        ("POST", "token"),
        ("POST", "Task"),
    ]


async def test_a_failure_after_the_update_keeps_it_reported(sf: SalesforceDouble) -> None:
    cfg = config(sf)
    sf.reject_next_task(401, "INVALID_SESSION_ID", "Session expired or invalid")
    sf.refresh_token = "5Aep861rotatedElsewhere"  # so the writer's refresh is refused
    result = await write(sf, cfg=cfg, access_token=sf.issue_token())
    assert result.status == "ok_activity_failed: auth 400 invalid_grant: expired access/refresh token"
    assert sf.records["Opportunity"][OPPORTUNITY]["Amount"] == 50000
