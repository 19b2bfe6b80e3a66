"""The customer's webhook for a finished recap: event ``recap.completed``.

:func:`recap_event` builds the webhook's JSON body in the envelope every PyAI webhook has,
``{"type", "created_at", "data"}``, whose ``data`` is the object ``GET /v1/recap/calls/{call_id}``
returns (the contract's ``RecapCall``, plus the call's ``agent_id``), so a receiver parses one
shape whichever way the recap reached it. Delivery is the project's one signed-webhook path, not
a second one: queue it with :func:`pyai.jobs.webhooks.enqueue_webhook` (``body = recap_event(…)``;
``enqueue_webhook(services, org_id, url, body["type"], body["data"], session=s)``), which sends
this envelope (stamping its own ``created_at``) as a durable, retried job signed with the org's
secret::

    POST <webhook_url>
    X-PyAI-Event: recap.completed
    X-PyAI-Delivery: dlv_…
    X-PyAI-Signature: t=<unix s>,v1=<hex HMAC-SHA256("<t>.<raw body>")>

    {"type": "recap.completed", "created_at": <unix ms>, "data": {"object": "recap.call", …}}

(docs/webhooks.md explains verifying the signature.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

EVENT = "recap.completed"


def recap_event(
    call_id: str,
    record: Mapping[str, Any],
    *,
    agent_id: str | None = None,
    call_duration_s: float | None = None,
    created_at: int | None = None,
    completed_at: int | None = None,
    crm_write_status: str | None = None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The ``recap.completed`` body for ``call_id``'s recap ``record``: ``created_at`` and
    ``completed_at`` are the recap's (unix ms), ``crm_write_status`` None when no CRM write ran;
    ``now_ms`` stamps the envelope (default: now)."""
    data = {
        "object": "recap.call",
        "call_id": call_id,
        "agent_id": agent_id,
        "pack_id": record.get("pack_id"),
        "status": "complete",
        "call_duration_s": call_duration_s,
        "created_at": created_at,
        "completed_at": completed_at,
        "record": dict(record),
        "error": None,
        "crm_write_status": crm_write_status,
    }
    return {"type": EVENT, "created_at": int(time.time() * 1000) if now_ms is None else now_ms, "data": data}
