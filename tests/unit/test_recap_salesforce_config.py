"""The Salesforce writer's config checks and field mapping, without a network."""

from __future__ import annotations

import datetime

import pytest

from pyai.recap.salesforce import InvalidConfigError, SalesforceConfig, mapped_fields, task_body

BASE = {
    "instance_url": "https://acme.my.salesforce.com/",
    "client_id": "3MVG9client",
    "client_secret": "secret",
    "refresh_token": "refresh",
}
RECORD = {
    "pack_id": "support_inbound",
    "tldr": "Billing issue resolved on the call.",
    "summary": "x" * 40_000,
    "outcome": "resolved",
    "next_steps": ["Step " + "y" * 300],
    "action_items": [],
    "extracted": {"priority": "High", "email": None, "order_number": "481523"},
    "sentiment": {"label": "negative", "score": -0.5},
}


def test_from_the_stored_config() -> None:
    cfg = SalesforceConfig.from_dict({**BASE, "enabled": True, "object": "Case", "field_map": None, "extra": 1})
    assert cfg.instance_url == "https://acme.my.salesforce.com"  # no trailing slash in paths
    assert (cfg.object, cfg.field_map, cfg.api_version, cfg.login_url) == (
        "Case",
        {},
        "v60.0",
        "https://login.salesforce.com",
    )
    assert "secret" not in repr(cfg) and "refresh" not in repr(cfg)
    sandbox = SalesforceConfig(**{**BASE, "instance_url": "https://acme--uat.sandbox.my.salesforce.com"})
    assert sandbox.login_url == "https://test.salesforce.com"
    with pytest.raises(InvalidConfigError, match=r"salesforce\.refresh_token: required"):
        SalesforceConfig.from_dict({k: v for k, v in BASE.items() if k != "refresh_token"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"object": "Opportunity/../User"}, "salesforce.object"),
        ({"api_version": "60"}, "salesforce.api_version"),
        ({"instance_url": "acme.my.salesforce.com"}, "salesforce.instance_url"),
        ({"field_map": {"budget": "Amount; DROP"}}, "salesforce.field_map.budget"),
        ({"field_map": {"Budget Amount": "Amount"}}, "salesforce.field_map"),
        ({"client_secret": ""}, "salesforce.client_secret"),
    ],
)
def test_what_could_reshape_a_request_is_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message.replace(".", r"\.")):
        SalesforceConfig(**{**BASE, **change})


def test_mapped_fields() -> None:
    field_map = {
        "tldr": "Subject__c",
        "next_steps": "NextStep",
        "priority": "Priority",
        "extracted.order_number": "Order__c",
        "email": "SuppliedEmail",
        "sentiment": "Sentiment__c",
        "sentiment_score": "Sentiment_Score__c",
        "missing": "Nothing__c",
    }
    assert mapped_fields(RECORD, field_map) == {
        "Subject__c": "Billing issue resolved on the call.",
        "NextStep": ("Step " + "y" * 300)[:254] + "…",  # NextStep holds 255 characters
        "Priority": "High",
        "Order__c": "481523",
        "Sentiment__c": "negative",
        "Sentiment_Score__c": -0.5,
    }


def test_the_task_of_a_case() -> None:
    cfg = SalesforceConfig(**BASE, object="Case")
    body = task_body(
        cfg, RECORD, "500Dn000001abcdIAA", call_id=None, call_duration_s=None, activity_date=datetime.date(2026, 1, 2)
    )
    assert body["CallType"] == "Inbound" and body["WhatId"] == "500Dn000001abcdIAA"
    assert "CallDurationInSeconds" not in body and "CallObject" not in body
    assert len(body["Description"]) == 32_000 and body["Description"].endswith("…")
