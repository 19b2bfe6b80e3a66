"""Signed webhook delivery as a durable job with retries.

``X-PyAI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`` where the
secret is the org's webhook signing secret (``GET /v1/webhooks/secret``). Receivers recompute
the HMAC over the raw body and reject timestamps older than five minutes (replay). See
docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pyai.jobs.worker import JobContext, PermanentJobError, handler
from pyai.net.ssrf import UnsafeUrlError, post_json
from pyai.ops import metrics
from pyai.store.ids import new_id

MAX_ATTEMPTS = 6
TIMEOUT_S = 10


def signing_secret(server_secret: bytes, subject: str) -> str:
    """A signing secret for ``subject`` derived from the server secret: stable, and no table to leak."""
    return "whsec_" + hmac.new(server_secret, subject.encode(), hashlib.sha256).hexdigest()


def org_webhook_secret(server_secret: bytes, org_id: str) -> str:
    """The org's secret for job webhooks."""
    return signing_secret(server_secret, f"webhook:{org_id}")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


async def enqueue_webhook(services, org_id: str, url: str, event: str, data: dict, session=None) -> None:  # noqa: ANN001
    """Queue one signed delivery (in ``session`` when given, so it commits with the caller's rows)."""
    body = json.dumps({"type": event, "created_at": int(time.time() * 1000), "data": data}, separators=(",", ":"))
    await services.jobs.enqueue(
        "webhook",
        org_id,
        {"url": url, "event": event, "body": body, "delivery_id": new_id("dlv")},
        prefix="whk",
        max_attempts=MAX_ATTEMPTS,
        session=session,
    )


@handler("webhook")
async def deliver(ctx: JobContext) -> dict:
    p = ctx.job.payload
    body = p["body"].encode()
    ts = int(time.time())
    secret = org_webhook_secret(ctx.services.settings.secret, ctx.job.org_id)
    headers = {
        "X-PyAI-Signature": signature(secret, ts, body),
        "X-PyAI-Event": p["event"],
        "X-PyAI-Delivery": p["delivery_id"],
        "User-Agent": "PyAI-Webhooks/1",
    }
    try:
        resp = await post_json(
            p["url"], body, headers, timeout=TIMEOUT_S, allow_loopback=ctx.services.settings.test_mode
        )
    except UnsafeUrlError as e:
        metrics.webhook_delivery("refused")
        raise PermanentJobError(f"webhook URL refused: {e}") from None
    except Exception:
        metrics.webhook_delivery("network_error")
        raise
    metrics.webhook_delivery("delivered" if 200 <= resp.status_code < 300 else "http_error")
    if not 200 <= resp.status_code < 300:
        raise RuntimeError(f"receiver answered HTTP {resp.status_code}")  # retried with backoff
    return {"status_code": resp.status_code, "attempts": ctx.job.attempts}
