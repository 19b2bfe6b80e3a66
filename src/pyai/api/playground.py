"""``/playground``: a browser page for talking to an Omni agent, served by the server itself.

These routes are not part of the API contract. They are plain Starlette routes, like ``/docs``
and ``/openapi.json``: the app-wide key guard and the access-table audit cover FastAPI's API
routes only, so the page loads without a key and the schema never lists it.

The page needs an Omni session token. It gets one of two ways:

- ``POST /playground/session``: when the operator set ``PYAI_PLAYGROUND_KEY`` (a key with
  ``omni:session``), the server mints a token for that key through ``POST /v1/omni/sessions``'s own
  handler, locked to the calling page's origin, which must be this server's. ``GET
  /playground/agents`` and ``GET /playground/voices`` list that key's agents and voices for the
  page's pickers. Anyone who can open the page can use the key for Omni calls, so set it only on
  a server that untrusted people cannot reach (or give the key a budget).
- Without that setting these three answer 404 and the page asks for an API key, with which it
  calls the public API itself.

``PYAI_PLAYGROUND_ENABLED=false`` makes every route here a 404.
"""

from __future__ import annotations

import json
from importlib.resources import files
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from pyai.api.bodies import optional_json_body
from pyai.api.omni_sessions import MAX_LABEL, create_omni_session
from pyai.api.voices import list_voices
from pyai.closed_model import ClosedModel
from pyai.gateway import session_tokens
from pyai.gateway.auth import gateway_of
from pyai.gateway.errors import ApiError, ProblemError
from pyai.gateway.principal import Principal
from pyai.omni.agents import list_agents
from pyai.settings import Settings

router = APIRouter()

#: file name -> media type; each is served at ``/playground/<name>``, index.html at ``/playground``.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "capture-worklet.js": "text/javascript; charset=utf-8",
}
#: The page may talk only to this server, and may not be framed (it can mint tokens for the
#: server's key, so another site must not be able to overlay it).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' http: https: data:; media-src 'self' http: https: blob:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
AGENTS_LISTED = 100  # the picker's page size: the most /v1/agents returns at once


class PlaygroundSessionIn(ClosedModel):
    agent_id: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)


def _settings(request: Request) -> Settings:
    return request.app.state.services.settings


def _require_enabled(request: Request) -> Settings:
    """404 as for any unknown path when the operator turned the playground off."""
    settings = _settings(request)
    if not settings.playground_enabled:
        raise ProblemError(404, "not_found", f"No route {request.method} {request.url.path}.", title="Not found")
    return settings


def _require_key(request: Request) -> str:
    settings = _require_enabled(request)
    if not settings.playground_key:
        raise ProblemError(
            404,
            "playground_key_not_set",
            "This server has no playground key (PYAI_PLAYGROUND_KEY is unset), so it mints no session "
            "tokens for the page: paste an API key with the omni:session scope into the playground instead.",
            title="Playground key not set",
        )
    return settings.playground_key


def _same_origin(request: Request, *, required: bool = True) -> str | None:
    """The request's ``Origin``, normalised, if it is this server's own; 403 otherwise.

    Browsers always send ``Origin`` on a POST and cannot forge it, so this keeps other sites from
    minting tokens for the server's key in their visitors' browsers. "Own" means the same host and
    port as the request's ``Host`` (either scheme, for TLS ended at a proxy), or ``PYAI_PUBLIC_BASE_URL``.
    A same-origin GET carries no ``Origin``, so the lists (``required=False``) refuse only a foreign one.
    """
    settings = _settings(request)
    origin = request.headers.get("origin")
    if origin is None and not required:
        return None
    try:
        normal = session_tokens.normalise_origin(origin or "")
        scheme = urlsplit(normal).scheme
        own = {session_tokens.normalise_origin(f"{scheme}://{request.headers.get('host', '')}")}
        if settings.public_base_url:
            base = urlsplit(settings.public_base_url)
            own.add(session_tokens.normalise_origin(f"{base.scheme}://{base.netloc}"))
    except ValueError:
        normal, own = "", set()
    if normal and normal in own:
        return normal
    said = f"Origin '{origin}'" if origin else "a request without an Origin header"
    raise ApiError(
        403,
        "origin_not_allowed",
        f"The playground mints session tokens only for its own page on this server, not for {said}.",
    )


def _as_key(request: Request, key: str, body: bytes = b"") -> Request:
    """The request as if the page had sent the server's key (and ``body`` as JSON), so the regular
    gate and handlers can run on it unchanged."""
    dropped = {b"authorization", b"x-api-key", b"cookie", b"content-type", b"content-length"}
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() not in dropped]
    headers.append((b"authorization", f"Bearer {key}".encode()))
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, receive)


async def _admit(request: Request) -> Principal:
    """The usual gate (scope, rate limit, the key's origin allow-list) for the server's key; a key the
    gate refuses is the operator's mistake, not the visitor's, so it is a 503 that says so."""
    try:
        return await gateway_of(request).admit(request, ("omni:session",))
    except ApiError as e:
        if e.status not in (401, 403):
            raise
        raise ProblemError(
            503,
            "playground_key_refused",
            f"The server's playground key (PYAI_PLAYGROUND_KEY) was refused: {e.message}",
            title="Playground key refused",
        ) from None


async def session(request: Request) -> Response:
    """``POST /playground/session`` ``{agent_id?}``: a session token for the server's key, locked to
    this page's origin, minted by ``POST /v1/omni/sessions``'s handler (same answer, same rules)."""
    key = _require_key(request)
    origin = _same_origin(request)
    body = await optional_json_body(request, PlaygroundSessionIn)
    mint: dict[str, object] = {"allowed_origins": [origin]}
    if body is not None and body.agent_id is not None:
        mint["session_label"] = body.agent_id
    as_key = _as_key(request, key, json.dumps(mint).encode())
    return await create_omni_session(as_key, await _admit(as_key))


async def agents(request: Request) -> Response:
    """``GET /playground/agents``: the server key's agent profiles, for the page's picker."""
    key = _require_key(request)
    _same_origin(request, required=False)
    as_key = _as_key(request, key)
    p = await _admit(as_key)
    return JSONResponse(await list_agents(request.app.state.services, p.org_id, None, AGENTS_LISTED))


async def voices(request: Request) -> Response:
    """``GET /playground/voices``: the voice library as the server key sees it, for the picker."""
    key = _require_key(request)
    _same_origin(request, required=False)
    as_key = _as_key(request, key)
    p = await _admit(as_key)
    return JSONResponse(await list_voices(as_key, gender=None, region=None, source=None, p=p))


def _asset(name: str):  # noqa: ANN202 - a Starlette endpoint
    media_type = ASSETS[name]

    async def serve(request: Request) -> Response:
        _require_enabled(request)
        data = files("pyai.playground").joinpath(name).read_bytes()
        return Response(data, media_type=media_type, headers=PAGE_HEADERS)

    serve.__name__ = f"playground_{name.replace('.', '_').replace('-', '_')}"
    return serve


router.add_route("/playground", _asset("index.html"), methods=["GET"], include_in_schema=False)
for _name in ASSETS:
    if _name != "index.html":
        router.add_route(f"/playground/{_name}", _asset(_name), methods=["GET"], include_in_schema=False)
router.add_route("/playground/session", session, methods=["POST"], include_in_schema=False)
router.add_route("/playground/agents", agents, methods=["GET"], include_in_schema=False)
router.add_route("/playground/voices", voices, methods=["GET"], include_in_schema=False)
