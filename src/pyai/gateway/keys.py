"""Self-validating API keys.

A key is ``pyai_<env>_<payload>.<sig>``: the payload carries key id, org id, env and expiry;
the signature is an HMAC-SHA256 over it with the server secret. The gateway can therefore reject
forged, malformed or expired keys without touching the database, and only then looks up the row
(revocation, org status). The database stores only a SHA-256 hash of the whole token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

MAX_KEY_LENGTH = 512
ENVS = ("live", "test")


@dataclass(frozen=True, slots=True)
class KeyClaims:
    key_id: str
    org_id: str
    env: str
    expires_at: int | None  # Unix ms


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:24])


def mint(secret: bytes, claims: KeyClaims) -> str:
    """Build the plaintext token for ``claims``; shown to the user once, never stored."""
    body = json.dumps([claims.key_id, claims.org_id, claims.env, claims.expires_at], separators=(",", ":"))
    payload = _b64(body.encode())
    return f"pyai_{claims.env}_{payload}.{_sign(secret, payload)}"


def verify(secret: bytes, token: str) -> KeyClaims | None:
    """Return the claims of a well-formed, correctly signed token, else ``None``.

    Expiry is *not* judged here so the caller can tell "expired" apart from "garbage".
    """
    if not token or len(token) > MAX_KEY_LENGTH or not token.startswith("pyai_"):
        return None
    env, _, rest = token[5:].partition("_")
    payload, dot, sig = rest.rpartition(".")
    if env not in ENVS or not dot or not payload:
        return None
    if not hmac.compare_digest(sig, _sign(secret, payload)):
        return None
    try:
        key_id, org_id, claimed_env, expires_at = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if claimed_env != env:
        return None
    return KeyClaims(key_id, org_id, env, expires_at)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
