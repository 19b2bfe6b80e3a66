"""``POST /v1/omni/sessions``: mint an ephemeral, origin-locked Omni session token for a browser.

Called from the customer's server with a key holding ``omni:session``; the answer's ``token``
goes to the page, which opens ``url`` with the ``pyai-key.<token>`` subprotocol. The token is
stateless (``pyai.gateway.session_tokens``): nothing is written here, so it works on every
replica at once and this route costs no database write.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictInt

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.api.voices import base_url
from pyai.closed_model import ClosedModel
from pyai.gateway import session_tokens
from pyai.gateway.auth import caller, gateway_of
from pyai.gateway.errors import bad_request
from pyai.gateway.principal import Principal
from pyai.store.ids import new_id, now_ms

router = APIRouter()

MAX_ORIGINS = 10
MAX_LABEL = 64  # the label rides inside the token, which stays within 512 characters
CONNECT_QUERY = {"format": "pcm16", "rate": "24000"}


class OmniSessionIn(ClosedModel):
    allowed_origins: list[str] = Field(min_length=1, max_length=MAX_ORIGINS)
    ttl_seconds: StrictInt = Field(default=session_tokens.DEFAULT_TTL_S, ge=1, le=session_tokens.MAX_TTL_S)
    session_label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)


def _origins(body: OmniSessionIn, key_origins: list[str] | None) -> tuple[str, ...]:
    """Normalised, de-duplicated origins; a 400 naming ``allowed_origins`` for a bad one, or one
    the minting key itself may not be used from (the key's own allow-list applies at connect too)."""
    out: list[str] = []
    for i, raw in enumerate(body.allowed_origins):
        try:
            origin = session_tokens.normalise_origin(raw)
        except ValueError as e:
            raise bad_request(f"allowed_origins[{i}]: {raw!r}: {e}.", param="allowed_origins") from None
        if key_origins and origin not in key_origins:
            raise bad_request(
                f"allowed_origins[{i}]: {origin!r} is not in this key's own origin allow-list.",
                param="allowed_origins",
            )
        if origin not in out:
            out.append(origin)
    return tuple(out)


def _connect_url(request: Request, label: str | None) -> str:
    """The Omni WebSocket on this server, as the client reached it (or ``PYAI_PUBLIC_BASE_URL``)."""
    base = base_url(request)
    scheme, sep, rest = base.partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme.lower(), scheme)
    query = {**CONNECT_QUERY, **({"session_label": label} if label else {})}
    return f"{ws_scheme}{sep}{rest}/v1/omni?{urlencode(query)}"


@router.post("/v1/omni/sessions", status_code=201, **documented("/v1/omni/sessions", "post"))
async def create_omni_session(request: Request, p: Principal = caller()) -> JSONResponse:
    body = await json_body(request, OmniSessionIn)
    label = body.session_label
    if label is not None and any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise bad_request("session_label: no control characters.", param="session_label")
    gateway = gateway_of(request)
    origins = _origins(body, gateway.allowed_origins(p.key_id))
    expires_at = now_ms() + body.ttl_seconds * 1000
    if p.expires_at is not None:  # never outlive the key that minted it
        expires_at = min(expires_at, p.expires_at)
    claims = session_tokens.SessionClaims(
        token_id=new_id("otok"),
        key_id=p.key_id,
        org_id=p.org_id,
        env=p.env,
        scopes=session_tokens.TOKEN_SCOPES,
        origins=origins,
        expires_at=expires_at,
        session_label=label,
    )
    token = session_tokens.mint(gateway.secret, claims)
    if len(token) > session_tokens.MAX_TOKEN_LENGTH:
        raise bad_request(
            f"allowed_origins: these origins (with the session_label) would make a token longer than "
            f"{session_tokens.MAX_TOKEN_LENGTH} characters; list fewer or shorter origins.",
            param="allowed_origins",
        )
    session = {
        "object": "omni.session",
        "token": token,
        "expires_at": expires_at,
        "url": _connect_url(request, label),
        "session_label": label,
        "allowed_origins": list(origins),  # extension: the origins as they are matched
    }
    return JSONResponse(session, status_code=201, headers={"Cache-Control": "no-store"})
