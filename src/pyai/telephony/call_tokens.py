"""Per-call tokens for carrier media streams.

Twilio opens a Media Stream with neither a query string nor a subprotocol, so the stream cannot
carry an API key: the inbound-call webhook (whose Twilio signature was checked) mints a short-lived
token naming the call — org, number, agent, carrier call id — and puts it in a ``<Parameter>``;
the stream's ``start`` message brings it back. The token is signed with a key derived from the
server secret for this purpose only, and expires quickly (a stream connects within seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

TTL_S = 120
_INFO = b"pyai telephony call token v1"


@dataclass(frozen=True)
class CallClaims:
    org_id: str
    number_id: str
    agent_id: str | None
    call_id: str  # the carrier's (Twilio CallSid)
    from_number: str
    to_number: str
    expires_at: float


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, _INFO, hashlib.sha256).digest()


def mint(secret: bytes, claims: CallClaims) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims.__dict__, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def claims_for(
    org_id: str, number_id: str, agent_id: str | None, call_id: str, from_number: str, to_number: str
) -> CallClaims:
    return CallClaims(org_id, number_id, agent_id, call_id, from_number, to_number, time.time() + TTL_S)


def verify(secret: bytes, token: object) -> CallClaims | None:
    """The claims of a genuine, unexpired token; None otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        return None
    body, mac = token.split(".")
    if not hmac.compare_digest(hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest(), mac):
        return None
    try:
        claims = CallClaims(**json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    except (ValueError, TypeError):
        return None
    return claims if claims.expires_at > time.time() else None
