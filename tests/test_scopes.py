"""Every contract operation answers a key without its scope with 403, over HTTP and WebSocket.

The expected scope per operation is transcribed here from the contract's own text (the
"## Scopes" / "## Canonical endpoints" tables and each operation's "Requires …" sentence),
independently of the server's table, so the walk checks the server and not itself. Every
operation goes through the same gateway (401/403/429) first (an unbuilt one would then answer
501), and WebSocket operations called over plain HTTP answer 426 after the gateway.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pyai.contract import seed_spec
from tests.contract import assert_error, assert_problem
from tests.server import Server

SPEC = seed_spec()
DESCRIPTION = SPEC["info"]["description"]
METHODS = ("get", "post", "put", "patch", "delete")

# The contract's "## Scopes" table, by path family (the longest matching family wins).
FAMILIES = {
    "/v1/audio/transcriptions": "hear:transcribe",
    "/v1/audio/transcriptions/stream": "hear:stream",
    "/v1/audio/speech": "voice:synthesize",
    "/v1/voice/clones": "voice:clone",
    "/v1/voice/design": "voice:design",
    "/v1/realtime": "omni:session",  # the default model, pyai-omni-realtime
    "/v1/omni": "omni:session",
    "/v2/omni/chat": "omni:session",  # canonical endpoints: deprecated alias of /v1/omni
    "/v1/omni/sessions": "omni:session",
    "/v1/omni/calls": "omni:read",
    "/v1/agents": "omni:session",  # canonical endpoints: agent profiles
    "/v1/tools": "omni:session",  # the tools operations' descriptions
    "/v1/transcription/jobs": "transcribe:jobs",
    "/v1/trace/config": "trace:configure",
    "/v1/trace/rule-packs": "trace:configure",
    "/v1/trace/interactions": "trace:read",
    "/v1/trace/violations": "trace:read",
    "/v1/trace/findings": "trace:read",
    "/v1/trace/exposure": "trace:read",
    "/v1/recap/config": "recap:configure",
    "/v1/recap/crm-config": "recap:configure",
    "/v1/recap/calls": "recap:read",
    "/v1/telephony": "telephony:manage",
}
# "GET /v1/models, GET /v1/voices, and GET /v1/me need no specific scope" (and GET /v1/voices/{id}).
ANY_KEY = {("GET", "/v1/me"), ("GET", "/v1/models"), ("GET", "/v1/voices"), ("GET", "/v1/voices/{id}")}
# Deleting a designed voice is voice design's business (issue #8 item 5), like clones are voice:clone's.
EXCEPTIONS = {("DELETE", "/v1/voices/{id}"): "voice:design"}
ALIAS = "/v2/omni/chat"
UNBUILT: tuple[str, ...] = ()  # every contract surface is built; a new stub would be listed here
#: How a built WebSocket surface is ended politely.
GOODBYE = {"/v1/audio/transcriptions/stream": "EOF", "/v1/realtime": None}
#: A surface whose client ends it (OpenAI Realtime): the client closes after this event.
OPENED = {"/v1/realtime": "session.created"}


def operations() -> list[tuple[str, str, dict]]:
    ops = [(m.upper(), p, op) for p, item in SPEC["paths"].items() for m, op in item.items() if m in METHODS]
    return [*ops, ("GET", ALIAS, SPEC["paths"]["/v1/omni"]["get"])]


def no_key(op: dict) -> bool:
    return op.get("security") == []


def expected_scope(method: str, path: str) -> str | None:
    if (method, path) in EXCEPTIONS:
        return EXCEPTIONS[(method, path)]
    if (method, path) in ANY_KEY:
        return None
    family = max((f for f in FAMILIES if path == f or path.startswith(f + "/")), key=len)
    return FAMILIES[family]


def is_websocket(op: dict) -> bool:
    return "101" in op["responses"]


OPS = operations()
SCOPED = [(m, p, op) for m, p, op in OPS if not no_key(op) and expected_scope(m, p)]
WEBSOCKETS = sorted({p for m, p, op in OPS if is_websocket(op)})
CONTRACT_SCOPES = re.findall(r"^\| `([a-z]+:[a-z]+)` \|", DESCRIPTION.split("## Scopes")[1], re.M)


def url_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "dummy_1", path)


def send(client: httpx.Client, method: str, path: str, key: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, url_path(path), headers=headers, params=params, **body)


async def ws_session(
    url: str, key: str | None, *, first: str | None = None, until: str | None = None
) -> tuple[list[dict], int | None]:
    """Every frame until the server closes (or, after an ``until`` event, the client does), and the
    close code; ``first`` is sent after the upgrade."""
    frames = []
    async with connect(url, subprotocols=[f"pyai-key.{key}"] if key else None) as ws:
        try:
            if first:
                await ws.send(first)
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
                if frames[-1]["type"] == until:
                    await ws.close()
        except ConnectionClosed:
            pass
    return frames, ws.close_code


def ws(srv: Server, path: str, key: str | None, query: str = "", first: str | None = None):  # noqa: ANN201
    url = f"{srv.ws_url}{path}{'?' + query if query else ''}"
    return asyncio.run(ws_session(url, key, first=first, until=OPENED.get(path)))


@pytest.fixture(scope="module")
def keys(sqlite_server: Server) -> dict[str, str]:
    """For each required scope, a key holding every other scope of the contract (no wildcards)."""
    needed = {expected_scope(m, p) for m, p, _ in SCOPED}
    out = {s: ",".join(c for c in CONTRACT_SCOPES if c != s) for s in needed} | {"all": ",".join(CONTRACT_SCOPES)}
    with ThreadPoolExecutor(4) as pool:  # one CLI process per key: overlap their start-up
        made = pool.map(lambda granted: sqlite_server.create_key(scopes=granted)["api_key"], out.values())
        return dict(zip(out, made, strict=True))


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sqlite_server.url, timeout=60) as c:
        yield c


def test_expectations_match_the_contract_text() -> None:
    """Where an operation's description names its scope, the table above agrees with it."""
    assert len(CONTRACT_SCOPES) >= 13 and "flow:session" in CONTRACT_SCOPES
    assert f"wss …{ALIAS}" in DESCRIPTION
    named = 0
    for method, path, op in OPS:
        if m := re.search(r"Requires (?:the )?`([a-z]+:[a-z]+)`", op.get("description", "")):
            named += 1
            assert expected_scope(method, path) == m.group(1), (method, path)
    assert named >= 30
    assert len(OPS) >= 60 and set(WEBSOCKETS) == {"/v1/audio/transcriptions/stream", "/v1/omni", "/v1/realtime", ALIAS}


def test_every_operation_without_its_scope_is_403(client: httpx.Client, keys: dict[str, str]) -> None:
    wrong = []
    for method, path, _op in SCOPED:
        scope = expected_scope(method, path)
        resp = send(client, method, path, keys[scope])
        if resp.status_code != 403:
            wrong.append(f"{method} {path}: {resp.status_code}")
            continue
        body = assert_error(resp, 403, "forbidden")
        assert body["error"]["param"] == scope and scope in body["error"]["message"], (method, path, body)
    assert not wrong, "operations that let a key without their scope through:\n" + "\n".join(wrong)


def test_every_operation_without_a_key_is_401(client: httpx.Client) -> None:
    statuses = {f"{m} {p}": send(client, m, p, None).status_code for m, p, op in OPS if not no_key(op)}
    wrong = [f"{op}: {status}" for op, status in statuses.items() if status != 401]
    assert not wrong, "operations answering a keyless call with something else than 401:\n" + "\n".join(wrong)
    assert_error(send(client, "GET", "/v1/trace/exposure", None), 401, "unauthorized")
    assert_error(send(client, "GET", "/v1/omni", "pyai_live_garbage"), 401, "unauthorized")


def test_a_key_with_the_scope_reaches_the_operation(client: httpx.Client, keys: dict[str, str]) -> None:
    """Unbuilt operations answer 501 only after the gateway; WebSocket ones over HTTP 426; built ones run."""
    for method, path, op in OPS:
        resp = send(client, method, path, keys["all"])
        where = f"{method} {path}"
        if is_websocket(op):
            body = assert_problem(resp, 426, "upgrade_required")
            assert resp.headers["upgrade"].lower() == "websocket", where
            assert "WebSocket" in body["detail"] and "pyai-key." in body["detail"] and "api_key" in body["detail"]
        elif path.startswith(UNBUILT):
            assert_problem(resp, 501, "not_implemented")
        else:
            assert resp.status_code not in (401, 403, 426, 501) and resp.status_code < 500, (where, resp.text)


def test_websockets_without_the_scope_are_refused_in_band(sqlite_server: Server, keys: dict[str, str]) -> None:
    for path in WEBSOCKETS:
        scope = expected_scope("GET", path)
        frames, code = ws(sqlite_server, path, keys[scope])
        assert code == 1008 and frames[0]["type"] == "error", (path, frames)
        assert frames[0]["code"] == "forbidden" and scope in frames[0]["message"], (path, frames)
        frames, code = ws(sqlite_server, path, None)
        assert code == 1008 and frames[0]["code"] == "unauthorized", (path, frames)


def test_websockets_with_the_scope_are_admitted(sqlite_server: Server, keys: dict[str, str]) -> None:
    """The built stream runs; unbuilt ones are admitted, then closed in-band with not_implemented / 4501."""
    for path in WEBSOCKETS:
        unbuilt = path.startswith(UNBUILT)
        frames, code = ws(
            sqlite_server, path, keys["all"], first=None if unbuilt else GOODBYE.get(path, '{"type":"end"}')
        )
        if unbuilt:
            assert code == 4501 and [f["code"] for f in frames] == ["not_implemented"], (path, frames)
        else:
            assert code == 1000 and not [f for f in frames if f["type"] == "error"], (path, frames)


def test_realtime_legacy_flow_model_takes_flow_session(client: httpx.Client, sqlite_server: Server) -> None:
    """/v1/realtime's scope is omni:session, except model=pyai-flow-realtime which takes flow:session."""
    flow = sqlite_server.create_key(scopes="flow:session")["api_key"]
    assert_problem(send(client, "GET", "/v1/realtime", flow, model="pyai-flow-realtime"), 426, "upgrade_required")
    body = assert_error(send(client, "GET", "/v1/realtime", flow), 403, "forbidden")
    assert body["error"]["param"] == "omni:session"
    frames, code = ws(sqlite_server, "/v1/realtime", flow, query="model=pyai-flow-realtime")
    assert (
        code == 1000
        and frames[0]["type"] == "session.created"
        and frames[0]["session"]["model"] == "pyai-flow-realtime"
    )


def test_stream_over_plain_http_is_426_after_auth_and_billing(server: Server) -> None:
    path = "/v1/audio/transcriptions/stream"
    assert_error(httpx.get(server.url + path), 401, "unauthorized")
    unfunded = server.create_key(plan="payg", scopes="hear:stream")["api_key"]
    assert_error(httpx.get(server.url + path, headers=server.headers(unfunded)), 402, "credit_exhausted")
    key = server.create_key(scopes="hear:stream")["api_key"]
    resp = httpx.get(server.url + path, headers=server.headers(key))
    body = assert_problem(resp, 426, "upgrade_required")
    assert resp.headers["upgrade"].lower() == "websocket" and "upgrade" in resp.headers["connection"].lower()
    assert path in body["detail"]


def test_unbuilt_operations_check_origin_and_org_status(server: Server) -> None:
    key = server.create_key(scopes="telephony:manage", origins="https://app.example.com")
    headers = {**server.headers(key["api_key"]), "Origin": "https://evil.example"}
    assert_error(httpx.get(server.url + "/v1/telephony/numbers", headers=headers), 403, "origin_not_allowed")
    assert_error(httpx.get(server.url + "/v1/omni", headers=headers), 403, "origin_not_allowed")
    server.cli("orgs", "suspend", key["org_id"])
    try:
        for _ in range(40):  # the key cache lets a suspension through within ~2 s
            resp = httpx.get(server.url + "/v1/telephony/numbers", headers=server.headers(key["api_key"]))
            if resp.status_code != 404:  # no carrier yet: 404 until the suspension is seen
                break
            time.sleep(0.25)
        assert "org_suspended" in assert_error(resp, 403, "forbidden")["error"]["message"]
    finally:
        server.cli("orgs", "activate", key["org_id"])


BURST = 10


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``BURST`` requests per ``BURST`` seconds: a spent key stays limited long enough to probe every surface."""
    env = {"PYAI_RATE_LIMIT_RPS": "1", "PYAI_RATE_LIMIT_BURST": str(BURST)}
    srv = Server(tmp_path_factory.mktemp("scopes-limited"), env).start()
    yield srv
    srv.stop()


def test_unbuilt_operations_are_rate_limited(limited: Server) -> None:
    key = limited.create_key(scopes="*")["api_key"]
    with httpx.Client(base_url=limited.url, headers=limited.headers(key), timeout=60) as c:
        statuses = [c.get("/v1/telephony/numbers").status_code for _ in range(BURST)]
        assert statuses == [404] * BURST  # no carrier: the contract's 404, after the gateway
        assert_error(c.get("/v1/telephony/numbers"), 429, "rate_limit_exceeded")
        assert_error(c.get("/v1/omni"), 429, "rate_limit_exceeded")
    frames, code = ws(limited, "/v1/omni", key)
    assert code == 4429 and frames[0]["code"] == "rate_limit_exceeded"
