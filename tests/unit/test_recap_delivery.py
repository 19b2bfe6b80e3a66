"""The ``recap.completed`` webhook payload: the RecapCall object, in PyAI's signed envelope."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pyai.jobs.webhooks import signature
from pyai.recap.delivery import EVENT, recap_event

RECORD = {"pack_id": "support_inbound", "tldr": "Billing issue resolved on the call.", "outcome": "resolved"}


def test_the_payload_is_the_recap_call_object_in_the_envelope() -> None:
    body = recap_event(
        "call_01JD8Z",
        RECORD,
        agent_id="agt_01",
        call_duration_s=92.4,
        created_at=1_764_028_800_000,
        completed_at=1_764_028_803_500,
        crm_write_status="ok",
        now_ms=1_764_028_804_000,
    )
    assert EVENT == "recap.completed"
    assert list(body) == ["type", "created_at", "data"]
    assert (body["type"], body["created_at"]) == ("recap.completed", 1_764_028_804_000)
    data = body["data"]
    assert data == {
        "object": "recap.call",
        "call_id": "call_01JD8Z",
        "agent_id": "agt_01",
        "pack_id": "support_inbound",
        "status": "complete",
        "call_duration_s": 92.4,
        "created_at": 1_764_028_800_000,
        "completed_at": 1_764_028_803_500,
        "record": RECORD,
        "error": None,
        "crm_write_status": "ok",
    }
    assert data["record"] is not RECORD  # a copy: the caller may go on changing its record


def test_it_is_signed_like_every_other_webhook() -> None:
    """What ``enqueue_webhook`` sends for it verifies with docs/webhooks.md's recipe."""
    event = recap_event("call_1", RECORD)
    assert abs(event["created_at"] - time.time() * 1000) < 60_000
    body = json.dumps(event, separators=(",", ":")).encode()
    header = signature("whsec_test", 1_764_028_800, body)
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(b"whsec_test", f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
