"""Checking PyAI's webhook signatures the way a receiver would (docs/tools.md, docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import time


def verify(secret: str, header: str, raw_body: bytes, tolerance: int = 300) -> bool:
    """docs/tools.md's receiver-side check, verbatim."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    if abs(time.time() - int(parts["t"])) > tolerance:
        return False  # replayed or badly delayed
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
