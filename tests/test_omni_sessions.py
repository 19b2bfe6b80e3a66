"""Ephemeral Omni session tokens (``POST /v1/omni/sessions``), driven like a browser would use one:
minted by a server-side key, then used from a page with its ``Origin`` to open one session.

Covers minting (defaults, bounds, scope), the browser session, and every refusal — wrong or
missing origin, expiry, a second concurrent session, a revoked parent key, REST routes — while
opening only two real sessions (everything else is refused before the conversation starts)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pyai.gateway import session_tokens
from tests.contract import assert_error, assert_problem, validate
from tests.server import Server

ORIGIN = "https://app.example.com"
SESSIONS = "/v1/omni/sessions"


@pytest.fixture(scope="module")
def key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="omni:session")["api_key"]


@pytest.fixture(scope="module")
def client(sqlite_server: Server, key: str):  # noqa: ANN201
    with httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60) as c:
        yield c


def mint(client: httpx.Client, **body: object) -> dict:
    resp = client.post(SESSIONS, json={"allowed_origins": [ORIGIN], **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def refused(url: str, token: str | None = None, origin: str | None = None) -> tuple[list[dict], int | None]:
    """Open a socket that the server is expected to close; every frame, and the close code."""
    frames = []
    protocols = [f"pyai-key.{token}"] if token else None
    async with connect(url, subprotocols=protocols, origin=origin) as ws:
        try:
            while True:
                message = await asyncio.wait_for(ws.recv(), 60)
                if isinstance(message, str):
                    frames.append(json.loads(message))
        except ConnectionClosed:
            pass
    return frames, ws.close_code


def assert_refused(result: tuple[list[dict], int | None], close: int, code: str) -> dict:
    frames, close_code = result
    assert close_code == close and frames and frames[0]["type"] == "error", result
    assert frames[0]["code"] == code, frames
    return frames[0]


def test_mint_defaults_bounds_and_scope(sqlite_server: Server, client: httpx.Client) -> None:
    before = int(time.time() * 1000)
    resp = client.post(SESSIONS, json={"allowed_origins": [ORIGIN, "HTTPS://App.Example.com:443/"]})
    after = int(time.time() * 1000)
    assert resp.status_code == 201, resp.text
    assert resp.headers["cache-control"] == "no-store"
    session = resp.json()
    validate(session, "OmniSession")
    assert session["object"] == "omni.session" and session["session_label"] is None
    assert session["token"].startswith("pyai_live_sess_") and len(session["token"]) <= 512
    assert before + 60_000 <= session["expires_at"] <= after + 60_000  # ttl_seconds defaults to 60
    assert session["url"] == f"{sqlite_server.ws_url}/v1/omni?format=pcm16&rate=24000"
    assert session["allowed_origins"] == [ORIGIN]  # normalised as browsers send it, de-duplicated

    longest = mint(client, ttl_seconds=600, session_label="support")
    assert longest["expires_at"] - int(time.time() * 1000) > 590_000
    assert longest["url"].endswith("&session_label=support") and longest["session_label"] == "support"

    for ttl in (601, 0, "60", 1.5):
        body = assert_problem(
            client.post(SESSIONS, json={"allowed_origins": [ORIGIN], "ttl_seconds": ttl}), 400, "invalid_request"
        )
        assert body["param"] == "ttl_seconds" and "ttl_seconds" in body["detail"], body
    for origins in (None, [], ["*"], ["https://*.example.com"], ["app.example.com"], [ORIGIN + "/page"], ["null"]):
        payload = {} if origins is None else {"allowed_origins": origins}
        body = assert_problem(client.post(SESSIONS, json=payload), 400, "invalid_request")
        assert body["param"].startswith("allowed_origins"), body
    many = {"allowed_origins": [f"https://shop{i}.example.com" for i in range(10)], "session_label": "x" * 64}
    body = assert_problem(client.post(SESSIONS, json=many), 400, "invalid_request")  # the token stays <= 512 chars
    assert body["param"] == "allowed_origins" and "512" in body["detail"], body

    other = sqlite_server.create_key(scopes="hear:*,voice:*")["api_key"]
    resp = httpx.post(
        sqlite_server.url + SESSIONS, headers=sqlite_server.headers(other), json={"allowed_origins": [ORIGIN]}
    )
    assert assert_error(resp, 403, "forbidden")["error"]["param"] == "omni:session"
    assert_error(httpx.post(sqlite_server.url + SESSIONS, json={"allowed_origins": [ORIGIN]}), 401, "unauthorized")
    wildcard = sqlite_server.create_key(scopes="omni:*")["api_key"]
    resp = httpx.post(
        sqlite_server.url + SESSIONS, headers=sqlite_server.headers(wildcard), json={"allowed_origins": [ORIGIN]}
    )
    assert resp.status_code == 201, resp.text


def test_a_token_grants_nothing_but_the_omni_socket(sqlite_server: Server, client: httpx.Client) -> None:
    token = mint(client)["token"]
    browser = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    for method, path in (("GET", "/v1/me"), ("GET", "/v1/agents"), ("GET", "/v1/models"), ("POST", SESSIONS)):
        resp = httpx.request(method, sqlite_server.url + path, headers=browser, json={"allowed_origins": [ORIGIN]})
        assert "session token" in assert_error(resp, 403, "forbidden")["error"]["message"], (method, path)
    # the socket's path over plain HTTP goes through the same gate: admitted (then 426) from its origin only
    assert_problem(httpx.get(sqlite_server.url + "/v1/omni", headers=browser), 426, "upgrade_required")
    no_origin = {"Authorization": f"Bearer {token}"}
    assert_error(httpx.get(sqlite_server.url + "/v1/omni", headers=no_origin), 403, "origin_not_allowed")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    resp = httpx.get(sqlite_server.url + "/v1/omni", headers={**browser, "Authorization": f"Bearer {forged}"})
    assert_error(resp, 401, "unauthorized")


def test_a_browser_opens_one_session_at_a_time_with_its_token(sqlite_server: Server, client: httpx.Client) -> None:
    agent = client.post("/v1/agents", json={"name": "Web", "greeting": "Hi from the web widget."})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    session = mint(client, ttl_seconds=600, session_label=agent_id)
    url, token = session["url"], session["token"]

    async def go() -> None:
        protocol = f"pyai-key.{token}"
        async with connect(url, subprotocols=[protocol], origin=ORIGIN) as ws:
            assert ws.subprotocol == protocol  # echoed, as browsers require
            ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert ready["type"] == "session.ready" and ready["agent_id"] == agent_id, ready  # the token's label
            # the same token again while this session is open: refused in-band, 4429
            second = await refused(url, token, ORIGIN)
            assert "one session" in assert_refused(second, 4429, "concurrency_limit_exceeded")["message"]
            await ws.send(json.dumps({"type": "end"}))
            kinds = []
            with pytest.raises(ConnectionClosed):
                while True:
                    message = await asyncio.wait_for(ws.recv(), 60)
                    if isinstance(message, str):
                        kinds.append(json.loads(message)["type"])
            assert ws.close_code == 1000 and kinds[-2:] == ["call.ended", "usage"], kinds
        # one *concurrent* session: once it is over, the token (unexpired) opens the next one, here
        # through ?api_key= as a server-side client would
        async with connect(f"{url}&api_key={token}", origin=ORIGIN) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] == "session.ready"
            await ws.send(json.dumps({"type": "end"}))
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 60)
            assert ws.close_code == 1000

    asyncio.run(go())


def test_wrong_origin_expiry_label_and_revocation_are_refused(sqlite_server: Server, client: httpx.Client) -> None:
    session = mint(client, ttl_seconds=600, session_label="support")
    url, token = session["url"], session["token"]
    run = asyncio.run
    assert_refused(run(refused(url, token, "https://evil.example")), 1008, "origin_not_allowed")
    assert_refused(run(refused(url, token, None)), 1008, "origin_not_allowed")  # origin-locked: no Origin, no entry
    assert_refused(run(refused(url + "&api_key=" + token, None, "https://evil.example")), 1008, "origin_not_allowed")
    other_label = url.replace("session_label=support", "session_label=sales")
    assert (
        "session_label" in assert_refused(run(refused(other_label, token, ORIGIN)), 1008, "invalid_request")["message"]
    )

    short = mint(client, ttl_seconds=1)
    deadline = time.time() + 60
    while time.time() * 1000 <= short["expires_at"] + 50:  # expiry is on the server's clock: the same one
        assert time.time() < deadline
        time.sleep(0.1)
    expired = assert_refused(run(refused(short["url"], short["token"], ORIGIN)), 1008, "unauthorized")
    assert "expired" in expired["message"]

    # revoking the key that minted a token ends the token too (within the key cache's few seconds)
    parent = sqlite_server.create_key(scopes="omni:session")
    minted = httpx.post(
        sqlite_server.url + SESSIONS,
        headers=sqlite_server.headers(parent["api_key"]),
        json={"allowed_origins": [ORIGIN], "ttl_seconds": 600},
    ).json()
    browser = {"Authorization": f"Bearer {minted['token']}", "Origin": ORIGIN}
    assert httpx.get(sqlite_server.url + "/v1/omni", headers=browser).status_code == 426
    sqlite_server.cli("keys", "revoke", parent["key_id"])
    deadline = time.time() + 60
    while (resp := httpx.get(sqlite_server.url + "/v1/omni", headers=browser)).status_code == 426:
        assert time.time() < deadline
        time.sleep(0.25)
    assert "revoked" in assert_error(resp, 401, "unauthorized")["error"]["message"]
    assert_refused(run(refused(minted["url"], minted["token"], ORIGIN)), 1008, "unauthorized")


def test_tokens_are_signed_and_origins_normalised() -> None:
    claims = session_tokens.SessionClaims(
        "otok_1", "key_1", "org_1", "test", ("omni:session",), ("https://a.example",), 1_700_000_000_000, None
    )
    token = session_tokens.mint(b"secret", claims)
    assert token.startswith("pyai_test_sess_") and session_tokens.verify(b"secret", token) == claims
    assert session_tokens.verify(b"other secret", token) is None
    assert session_tokens.verify(b"secret", token.replace("pyai_test_", "pyai_live_")) is None
    assert session_tokens.verify(b"secret", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    norm = session_tokens.normalise_origin
    assert norm("HTTPS://Acme.COM:443/") == "https://acme.com"
    assert norm("http://localhost:3000") == "http://localhost:3000"
    assert norm("http://[::1]:80") == "http://[::1]"
    for bad in ("*", "acme.com", "https://acme.com/x", "https://u:p@acme.com", "https://acme.com?q", "null", ""):
        with pytest.raises(ValueError):
            norm(bad)
    assert not session_tokens.origin_allowed(None, ("https://a.example",))
    assert session_tokens.origin_allowed("https://A.example", ("https://a.example",))
