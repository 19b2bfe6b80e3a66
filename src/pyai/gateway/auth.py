"""Authentication and authorization of HTTP requests and WebSocket upgrades.

A key is accepted from ``Authorization: Bearer``, ``x-api-key``, and on WebSockets from the
``pyai-key.<key>`` subprotocol or ``?api_key=`` (``?access_token=`` too on ``/v1/realtime``).
The signature is checked first (no I/O); the key row and org are then read through a short TTL
cache so a hot key costs no database round trip, while a revocation or suspension still takes
effect within ``key_cache_seconds``. An ephemeral Omni session token
(``pyai.gateway.session_tokens``) resolves through its parent key's row the same way, narrowed to
what the token grants. What each operation asks (scope, billing gate) is the
``pyai.gateway.access`` table, applied to every route by the app-wide ``guard`` dependency.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends
from starlette.requests import HTTPConnection

from pyai.gateway import keys, scopes, session_tokens
from pyai.gateway.access import NO_KEY, access_for
from pyai.gateway.billing import Billing
from pyai.gateway.errors import ApiError
from pyai.gateway.limits import ConcurrencyLimiter, LimitsUnavailable, RateLimiter
from pyai.gateway.principal import Principal
from pyai.gateway.ttl_cache import TtlCache
from pyai.logging_setup import ORG_ID
from pyai.settings import Settings
from pyai.store.db import Database
from pyai.store.ids import now_ms
from pyai.store.models import ApiKey, Org

SUBPROTOCOL_PREFIX = "pyai-key."
OPENAI_SUBPROTOCOL_PREFIX = "openai-insecure-api-key."  # OpenAI's browser client, on /v1/realtime


@dataclass(slots=True)
class _CachedKey:
    row: ApiKey
    org: Org


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def credential_from(conn: HTTPConnection) -> tuple[str | None, str | None]:
    """Find the key in a request or upgrade; returns ``(key, accepted_subprotocol)``.

    On ``/v1/realtime`` the OpenAI clients' ways are accepted too: ``?access_token=`` and the
    browser client's ``openai-insecure-api-key.<key>`` subprotocol; when such a client offers
    ``realtime``, that is the subprotocol echoed (never the one carrying the key). Whenever
    subprotocols are offered exactly one is echoed, or browsers drop the connection.
    """
    key = None
    auth = conn.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            key = value.strip()
    if key is None and (header := conn.headers.get("x-api-key")):
        key = header.strip()
    if conn.scope["type"] != "websocket":
        return key, None
    realtime = conn.url.path.rstrip("/").endswith("/v1/realtime")
    prefixes = (SUBPROTOCOL_PREFIX, OPENAI_SUBPROTOCOL_PREFIX) if realtime else (SUBPROTOCOL_PREFIX,)
    offered = [p.strip() for p in conn.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    carrier = next((p for p in offered if p.startswith(prefixes)), None)
    if key is None and carrier is not None:
        key = carrier.split(".", 1)[1]
    params = conn.query_params
    if key is None:
        key = params.get("api_key") or (params.get("access_token") if realtime else None)
    if realtime and "realtime" in offered:
        return key, "realtime"
    return key, carrier or (offered[0] if offered else None)


def _principal_of(cached: _CachedKey) -> Principal:
    row, org = cached.row, cached.org
    return Principal(
        key_id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        env=row.env,
        scopes=tuple(row.scopes),
        status=row.status,
        expires_at=row.expires_at,
        budget_cents=row.budget_cents,
        daily_unit_cap=row.daily_unit_cap,
        org_status=org.status,
        plan=org.plan,
        monthly_units=org.monthly_units,
    )


class Gateway:
    """Resolves keys to principals and enforces scopes, origins, rate limits and concurrency."""

    def __init__(self, settings: Settings, db: Database, billing: Billing) -> None:
        self.settings = settings
        self.db = db
        self.billing = billing
        self.secret = settings.secret
        self.rate = RateLimiter(settings.rate_limit_rps, settings.rate_limit_burst, settings.redis_url)
        self.concurrency = ConcurrencyLimiter(settings.lease_ttl_seconds, settings.redis_url)
        self._keys: TtlCache[str, _CachedKey] = TtlCache(settings.key_cache_seconds)

    async def _load(self, key_id: str) -> _CachedKey | None:
        async def fetch() -> _CachedKey | None:
            async with self.db.session() as s:
                row = await s.get(ApiKey, key_id)
                org = await s.get(Org, row.org_id) if row else None
            return _CachedKey(row, org) if row is not None and org is not None else None

        return await self._keys.get(key_id, fetch)

    async def resolve(self, token: str | None) -> Principal:
        """Turn a plaintext key into a principal or raise 401."""
        if not token:
            raise _unauthorized(
                "Missing API key: send 'Authorization: Bearer <key>' (or 'x-api-key'; "
                "on WebSockets the 'pyai-key.<key>' subprotocol)."
            )
        if session_tokens.is_session_token(token):
            return await self._resolve_session_token(token)
        claims = keys.verify(self.secret, token)
        if claims is None:
            raise _unauthorized("Invalid API key.")
        if claims.expires_at is not None and claims.expires_at <= now_ms():
            raise _unauthorized("API key expired.")
        cached = await self._load(claims.key_id)
        if cached is None or not hmac.compare_digest(cached.row.key_hash, keys.hash_key(token)):
            raise _unauthorized("Invalid API key.")
        if cached.row.status != "active":
            raise _unauthorized("API key revoked.")
        return _principal_of(cached)

    async def principal_for_key(self, key_id: str) -> Principal | None:
        """The principal of a stored key, for work done on its behalf without the key itself (a
        phone call to a number it provisioned); None when the key is gone or not active."""
        cached = await self._load(key_id)
        if cached is None or cached.row.status != "active":
            return None
        return _principal_of(cached)

    async def _resolve_session_token(self, token: str) -> Principal:
        """A session token: signature and expiry without I/O, then its parent key's row (cached),
        so a revoked or expired parent key takes its tokens with it."""
        claims = session_tokens.verify(self.secret, token)
        if claims is None:
            raise _unauthorized("Invalid session token.")
        now = now_ms()
        if claims.expires_at <= now:
            raise _unauthorized("Session token expired; mint a new one with POST /v1/omni/sessions.")
        cached = await self._load(claims.key_id)
        if cached is None or cached.row.org_id != claims.org_id or cached.row.env != claims.env:
            raise _unauthorized("Invalid session token.")
        row, org = cached.row, cached.org
        if row.status != "active":
            raise _unauthorized("The API key that minted this session token was revoked.")
        if row.expires_at is not None and row.expires_at <= now:
            raise _unauthorized("The API key that minted this session token expired.")
        return Principal(
            key_id=row.id,
            org_id=row.org_id,
            project_id=row.project_id,
            env=row.env,
            # what the token carries, as far as its parent key still grants it
            scopes=tuple(s for s in claims.scopes if scopes.grants(row.scopes, s)),
            status=row.status,
            expires_at=claims.expires_at,
            budget_cents=row.budget_cents,
            daily_unit_cap=row.daily_unit_cap,
            org_status=org.status,
            plan=org.plan,
            monthly_units=org.monthly_units,
            token_id=claims.token_id,
            token_origins=claims.origins,
            token_label=claims.session_label,
        )

    def allowed_origins(self, key_id: str) -> list[str] | None:
        cached = self._keys.peek(key_id)
        return cached.row.allowed_origins if cached else None

    def check(
        self,
        p: Principal,
        conn: HTTPConnection,
        required: tuple[str, ...],
        *,
        allow_suspended: bool = False,
        session_token: bool = False,
    ) -> None:
        """Org status, origin allow-list and scope: 403s in the contract's wording. A session token
        is refused unless ``session_token`` (the operation takes one), and its upgrade must come
        from one of its origins. Any one of the ``required`` scopes admits (none: any active key)."""
        if p.is_session_token and not session_token:
            raise ApiError(
                403,
                "forbidden",
                "insufficient_scope: a session token only opens an Omni realtime session "
                "(the WebSocket at /v1/omni); use an API key for this operation.",
                param=required[0] if required else None,
            )
        if p.org_status != "active" and not allow_suspended:
            raise ApiError(403, "forbidden", f"org_suspended: organization {p.org_id} is suspended.")
        origin = conn.headers.get("origin")
        if p.is_session_token and not session_tokens.origin_allowed(origin, p.token_origins):
            said = f"Origin '{origin}' is" if origin else "An upgrade without an Origin header is"
            raise ApiError(403, "origin_not_allowed", f"{said} not allowed for this session token.")
        allowed = self.allowed_origins(p.key_id)
        if origin and allowed and origin not in allowed:
            raise ApiError(403, "origin_not_allowed", f"Origin '{origin}' is not allow-listed for this key.")
        if required and not any(scopes.grants(p.scopes, s) for s in required):
            named = " or ".join(f"'{s}'" for s in required)
            raise ApiError(
                403, "forbidden", f"insufficient_scope: this key lacks the {named} scope.", param=required[0]
            )

    async def admit(
        self,
        conn: HTTPConnection,
        required: tuple[str, ...],
        *,
        billable: bool = False,
        allow_suspended: bool = False,
        session_token: bool = False,
    ) -> Principal:
        """The whole gate for one request or upgrade, in contract order: 401, 403, 429, 402."""
        token, _ = credential_from(conn)
        p = await self.resolve(token)
        ORG_ID.set(p.org_id)  # the request's log lines say whose it is, refused or not (logging_setup)
        self.check(p, conn, required, allow_suspended=allow_suspended, session_token=session_token)
        try:
            await self.rate.hit(p.key_id)
        except LimitsUnavailable:
            # Fail closed for anything that costs money, changes state or holds a session; a plain
            # read (the model and voice catalogues, a job's status) is served unlimited meanwhile.
            if billable or conn.scope["type"] != "http" or conn.scope.get("method") not in ("GET", "HEAD"):
                raise
        if billable:
            await self.billing.gate(p)
        return p

    async def close(self) -> None:
        await self.concurrency.close()


def gateway_of(conn: HTTPConnection) -> Gateway:
    return conn.app.state.services.gateway


async def guard(conn: HTTPConnection) -> None:
    """App-wide dependency: admit every request or upgrade as its route's row in ``ACCESS`` says.

    Runs before the route's own dependencies and its endpoint (which reads the body itself), for
    built routes, 501 stubs and WebSocket fallbacks alike. A WebSocket counts as ``GET`` (the
    contract's method for upgrades); a refused upgrade is answered in-band by the ``ApiError`` handler.
    """
    method = "GET" if conn.scope["type"] == "websocket" else conn.scope["method"]
    access = access_for(method, conn.scope["route"].path)
    if access is NO_KEY:
        return
    conn.state.principal = await gateway_of(conn).admit(
        conn,
        access.scopes_for(conn.query_params.get("model")),
        billable=access.billable,
        allow_suspended=access.allow_suspended,
        session_token=access.session_token,
    )


async def _principal(conn: HTTPConnection) -> Principal:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, per request."""
    return conn.state.principal


def caller():  # noqa: ANN201 - a FastAPI Depends marker
    """Route parameter default, ``p: Principal = caller()``: the principal ``guard`` admitted."""
    return Depends(_principal)
