"""Ephemeral Omni session tokens: what ``POST /v1/omni/sessions`` mints for a browser.

A token is ``pyai_<env>_sess_<payload>.<sig>``, self-validating like an API key
(``pyai.gateway.keys``) but signed with a key derived from the server secret for this purpose
only, so neither kind of token can ever pass for the other. The payload is base64url JSON
``[1, token_id, parent_key_id, org_id, env, scopes, origins, expires_at_ms, session_label]``.
Nothing is stored: the gateway verifies the signature and the expiry without I/O, then looks the
parent key up (through the same short cache as keys), so revoking or expiring the parent key
ends its tokens too, and its org's status, rate limit, budget and billing apply to the session.

What a token may do is narrower than its parent key: only ``omni:session``, only to open an
Omni realtime WebSocket (never a REST route), only from one of its ``origins`` (the upgrade's
``Origin`` header, which browsers always send), and one session at a time (a concurrency lease
keyed by ``token_id`` with a cap of 1, in the shared lease store).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pyai.gateway.keys import _b64, _unb64

ENVS = ("live", "test")
PREFIXES = {f"pyai_{env}_sess_": env for env in ENVS}
#: Tokens are opaque strings of at most this length, like API keys.
MAX_TOKEN_LENGTH = 512
TOKEN_SCOPES = ("omni:session",)
DEFAULT_TTL_S = 60
MAX_TTL_S = 600
_VERSION = 1
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class SessionClaims:
    token_id: str
    key_id: str  # the parent key that minted it
    org_id: str
    env: str
    scopes: tuple[str, ...]
    origins: tuple[str, ...]  # normalised, see normalise_origin
    expires_at: int  # Unix ms
    session_label: str | None = None


def is_session_token(token: str) -> bool:
    return token.startswith(tuple(PREFIXES))


def _signing_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"pyai omni session token v1", hashlib.sha256).digest()


def _sign(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(_signing_key(secret), signed.encode(), hashlib.sha256).digest()[:24])


def mint(secret: bytes, claims: SessionClaims) -> str:
    body = [
        _VERSION,
        claims.token_id,
        claims.key_id,
        claims.org_id,
        claims.env,
        list(claims.scopes),
        list(claims.origins),
        claims.expires_at,
        claims.session_label,
    ]
    prefix = f"pyai_{claims.env}_sess_"
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{prefix}{payload}.{_sign(secret, prefix + payload)}"


def verify(secret: bytes, token: str) -> SessionClaims | None:
    """The claims of a well-formed, correctly signed token, else ``None``; expiry is the caller's
    to judge (so "expired" can be told apart from "garbage")."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    prefix = next((p for p in PREFIXES if token.startswith(p)), None)
    if prefix is None:
        return None
    payload, dot, sig = token[len(prefix) :].rpartition(".")
    if not dot or not payload or not hmac.compare_digest(sig, _sign(secret, prefix + payload)):
        return None
    try:
        version, token_id, key_id, org_id, env, scopes, origins, expires_at, label = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if version != _VERSION or env != PREFIXES[prefix] or not isinstance(expires_at, int):
        return None
    return SessionClaims(token_id, key_id, org_id, env, tuple(scopes), tuple(origins), expires_at, label)


def normalise_origin(text: str) -> str:
    """``scheme://host[:port]`` the way a browser sends it in ``Origin`` (lower case, no default
    port, no trailing slash); ``ValueError`` says what is wrong with anything else."""
    raw = text.strip()
    if "*" in raw:
        raise ValueError("wildcards ('*') are not allowed; list each origin")
    if not raw or any(ord(c) <= 32 or ord(c) >= 127 for c in raw):
        raise ValueError("expected an ASCII origin like https://acme.com (punycode for international names)")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme) or not parts.netloc or not parts.hostname:
        raise ValueError("expected scheme://host[:port], e.g. https://acme.com")
    if parts.username or parts.password or parts.path not in ("", "/") or "?" in raw or "#" in raw:
        raise ValueError("an origin is scheme://host[:port] only: no path, query, fragment or credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("invalid port") from None
    host = parts.hostname
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether an upgrade's ``Origin`` header is one of a token's origins (a missing one never is)."""
    if not origin:
        return False
    try:
        return normalise_origin(origin) in allowed
    except ValueError:  # "null" (sandboxed frames, file://) and other non-origins
        return False
