"""Tools over real HTTP on SQLite and PostgreSQL: the prebuilt catalog, custom tools, the SSRF guard,
auth secrets sealed at rest, signed test calls against local receivers (a verifying one, a slow one,
a failing one), hosted knowledge search, the call log, and isolation between orgs."""

from __future__ import annotations

import http.client
import http.server
import json
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.contract import assert_problem, validate
from tests.receiver import QuietHandler, serving
from tests.server import Server
from tests.signing import verify

PREBUILT = {"end_call", "transfer_to_human", "send_dtmf", "play_hold", "collect", "knowledge_search"}
ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}},
    "required": ["order_id"],
}


class _Receiver(QuietHandler):
    """Tool webhooks: ``/ok`` echoes, ``/slow`` answers after 2 s, ``/fail`` is a 500, ``/garbled`` not JSON."""

    received: list[tuple[str, http.client.HTTPMessage, bytes]] = []  # path, headers (any case), body

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, self.headers, body))
        if self.path == "/slow":
            time.sleep(2)
        status, answer = {
            "/fail": (500, b'{"error":"boom"}'),
            "/garbled": (200, b"<html>not json</html>"),
        }.get(self.path, (200, json.dumps({"echo": json.loads(body), "status": "shipped"}).encode()))
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):  # the executor gave up on /slow
            pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with serving(_Receiver) as url:
        yield url


def client_for(srv: Server) -> httpx.Client:
    """A fresh org's client with only the scope tools need."""
    key = srv.create_key(scopes="omni:session")["api_key"]
    return httpx.Client(base_url=srv.url, headers=srv.headers(key), timeout=30)


def make_tool(c: httpx.Client, **fields: object) -> dict:
    resp = c.post("/v1/tools", json={"name": f"tool_{secrets.token_hex(4)}", **fields})
    assert resp.status_code == 201, resp.text
    validate(resp.json(), "ToolCreated")
    return resp.json()


def run_test(c: httpx.Client, tool_id: str, **body: object) -> dict:
    resp = c.post(f"/v1/tools/{tool_id}/test", json=body)
    assert resp.status_code == 200, resp.text
    validate(resp.json(), "ToolTestResult")
    return resp.json()


def test_catalog_lists_prebuilt_tools_beside_the_orgs_own(server: Server) -> None:
    c = client_for(server)
    own = make_tool(c, description="Looks up an order", input_schema=ORDER_SCHEMA)
    listing = c.get("/v1/tools").json()
    validate(listing, "ToolList")
    by_name = {t["name"]: t for t in listing["data"]}
    assert PREBUILT <= by_name.keys() and own["name"] in by_name and listing["has_more"] is False
    for name in PREBUILT:
        tool = by_name[name]
        assert tool["kind"] == "prebuilt" and tool["org_id"] is None and tool["id"] == f"tool_{name}"
        assert tool["execution"] == ("hosted" if name == "knowledge_search" else "engine")
        assert tool["has_auth"] is False and tool["webhook_url"] is None and tool["status"] == "active"
    transfer = {f["key"]: f for f in by_name["transfer_to_human"]["config_schema"]["fields"]}
    assert transfer["human_number"]["required"] is True and transfer["mode"]["options"] == ["cold", "warm"]
    collect = by_name["collect"]["input_schema"]["properties"]
    assert collect["digits"]["type"] == "integer" and collect["terminator"]["enum"] == ["#", "*"]
    assert by_name["knowledge_search"]["side_effect"] == "read"
    assert by_name[own["name"]]["kind"] == "custom" and by_name[own["name"]]["org_id"] is not None
    got = c.get("/v1/tools/tool_end_call")
    assert got.status_code == 200 and got.json() == by_name["end_call"]


def test_prebuilt_tools_are_read_only(server: Server) -> None:
    c = client_for(server)
    for resp in (
        c.post("/v1/tools/tool_end_call", json={"description": "mine now"}),
        c.delete("/v1/tools/tool_collect"),
    ):
        body = assert_problem(resp, 409, "prebuilt_tool")
        assert "prebuilt" in body["detail"] and body["param"] == "id"
    assert c.get("/v1/tools/tool_end_call").json()["description"].startswith("Hang up")


def test_custom_tool_lifecycle(server: Server, receiver: str) -> None:
    c = client_for(server)
    created = make_tool(
        c,
        name="lookup_order",
        description="Looks up an order by id.",
        input_schema=ORDER_SCHEMA,
        webhook_url=receiver + "/ok",
        auth_secret="Bearer abc",
        side_effect="read",
        timeout_ms=2500,
    )
    assert created["id"].startswith("tool_") and created["kind"] == "custom" and created["execution"] == "server"
    assert created["hmac_secret"].startswith("whsec_") and created["has_auth"] is True
    assert created["auth_header"] == "Authorization" and created["timeout_ms"] == 2500
    assert created["status"] == "active" and created["side_effect"] == "read"
    tool_id = created["id"]
    got = c.get(f"/v1/tools/{tool_id}").json()
    validate(got, "Tool")
    assert "hmac_secret" not in got and got == {k: v for k, v in created.items() if k != "hmac_secret"}

    assert_problem(c.post("/v1/tools", json={"name": "lookup_order"}), 409, "tool_name_taken")
    assert_problem(c.post("/v1/tools", json={"name": "end_call"}), 409, "tool_name_taken")

    changed = c.post(f"/v1/tools/{tool_id}", json={"description": "Finds orders.", "status": "disabled"}).json()
    validate(changed, "Tool")
    assert changed["description"] == "Finds orders." and changed["status"] == "disabled"
    assert changed["webhook_url"] == receiver + "/ok" and changed["has_auth"] is True  # absent: untouched
    cleared = c.post(f"/v1/tools/{tool_id}", json={"auth_secret": None, "auth_header": None}).json()
    assert cleared["has_auth"] is False and cleared["auth_header"] is None
    assert_problem(c.post(f"/v1/tools/{tool_id}", json={"timeout_ms": None}), 400, "invalid_request")
    no_url = c.post(f"/v1/tools/{tool_id}", json={"webhook_url": None})
    assert assert_problem(no_url, 400, "invalid_request")["param"] == "webhook_url"  # a server tool needs one
    to_client = c.post(f"/v1/tools/{tool_id}", json={"webhook_url": None, "execution": "client"}).json()
    assert to_client["execution"] == "client" and to_client["webhook_url"] is None

    client_tool = make_tool(c, name="show_map", description="Shows a map in the app.")
    assert client_tool["execution"] == "client" and client_tool["webhook_url"] is None
    assert client_tool["input_schema"] == {"type": "object", "properties": {}}
    assert client_tool["side_effect"] == "action" and client_tool["timeout_ms"] == 5000

    deleted = c.delete(f"/v1/tools/{tool_id}")
    assert deleted.json() == {"object": "tool.deleted", "tool_id": tool_id, "deleted": True}
    assert_problem(c.get(f"/v1/tools/{tool_id}"), 404, "not_found")
    assert_problem(c.delete(f"/v1/tools/{tool_id}"), 404, "not_found")
    assert tool_id not in {t["id"] for t in c.get("/v1/tools").json()["data"]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "has spaces"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "t", "input_schema": {"type": "object", "properties": {"a": {"type": "nope"}}}}, "input_schema"),
        ({"name": "t", "input_schema": {"type": "string"}}, "input_schema"),
        ({"name": "t", "timeout_ms": 99}, "timeout_ms"),
        ({"name": "t", "timeout_ms": 15001}, "timeout_ms"),
        ({"name": "t", "execution": "server"}, "webhook_url"),
        ({"name": "t", "execution": "engine"}, "execution"),
        ({"name": "t", "side_effect": "write"}, "side_effect"),
        (
            {"name": "t", "config_schema": {"fields": [{"key": "plan", "label": "Plan", "type": "select"}]}},
            "config_schema",
        ),
        ({"name": "t", "config_schema": {"fields": [{"key": "a b", "label": "A", "type": "string"}]}}, "config_schema"),
        ({"name": "t", "auth_header": "X-PyAI-Signature", "auth_secret": "s"}, "auth_header"),
        ({"name": "t", "auth_secret": "Bearer a\r\nX-Evil: 1"}, "auth_secret"),
        ({"name": "t", "colour": "blue"}, "colour"),
    ],
)
def test_invalid_tool_fields_are_named(server: Server, body: dict, param: str) -> None:
    resp = client_for(server).post("/v1/tools", json=body)
    assert assert_problem(resp, 400, "invalid_request")["param"].split(".")[0] == param


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.215.14/hook",
    ],
)
def test_ssrf_guard_refuses_inside_urls_at_registration(server: Server, url: str) -> None:
    c = client_for(server)
    body = assert_problem(c.post("/v1/tools", json={"name": "t", "webhook_url": url}), 400, "unsafe_url")
    assert body["param"] == "webhook_url"
    tool = make_tool(c, execution="client")
    assert_problem(c.post(f"/v1/tools/{tool['id']}", json={"webhook_url": url}), 400, "unsafe_url")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server outside test mode: https only and no loopback, as deployed."""
    srv = Server(tmp_path_factory.mktemp("tools-production"), {"PYAI_TEST_MODE": "0"}).start()
    yield srv
    srv.stop()


def test_production_mode_allows_only_public_https(production: Server) -> None:
    c = client_for(production)
    for url in ("https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook", "http://93.184.215.14/x"):
        resp = c.post("/v1/tools", json={"name": "t", "webhook_url": url})
        assert assert_problem(resp, 400, "unsafe_url")["param"] == "webhook_url", url
    assert make_tool(c, webhook_url="https://93.184.215.14/hook")["execution"] == "server"


def test_auth_secret_is_never_echoed_and_sealed_at_rest(server: Server, receiver: str) -> None:
    c = client_for(server)
    plaintext = "Bearer sk_" + secrets.token_hex(12)
    created = make_tool(c, webhook_url=receiver + "/ok", auth_header="X-Api-Key", auth_secret=plaintext)
    responses = [
        json.dumps(created),
        c.get(f"/v1/tools/{created['id']}").text,
        c.get("/v1/tools").text,
        c.post(f"/v1/tools/{created['id']}", json={"description": "changed"}).text,
    ]
    assert not [r for r in responses if plaintext in r or "auth_secret" in r]
    rows = server.query(f"SELECT sealed_auth_secret FROM tools WHERE id = '{created['id']}'")
    assert plaintext not in repr(server.query("SELECT * FROM tools"))
    assert rows[0][0].startswith("gAAAAA")  # a Fernet token
    run_test(c, created["id"], arguments={"order_id": "1"})
    assert _Receiver.received[-1][1]["X-Api-Key"] == plaintext  # and still usable


def test_test_call_is_signed_and_carries_the_auth_header(server: Server, receiver: str) -> None:
    c = client_for(server)
    tool = make_tool(c, input_schema=ORDER_SCHEMA, webhook_url=receiver + "/ok", auth_secret="Bearer tok-1")
    before = len(_Receiver.received)
    out = run_test(c, tool["id"], arguments={"order_id": "A-17"}, call_id="support-call-9")
    assert out["ok"] is True and out["tool_id"] == tool["id"] and out["name"] == tool["name"]
    assert out["result"] == {"echo": {"order_id": "A-17"}, "status": "shipped"}
    path, headers, body = _Receiver.received[before]
    assert path == "/ok" and json.loads(body) == {"order_id": "A-17"}
    assert verify(tool["hmac_secret"], headers["X-PyAI-Signature"], body)
    assert not verify(tool["hmac_secret"], headers["X-PyAI-Signature"], body + b" ")
    other = make_tool(c, webhook_url=receiver + "/ok")
    assert not verify(other["hmac_secret"], headers["X-PyAI-Signature"], body)  # secrets are per tool
    assert headers["Authorization"] == "Bearer tok-1" and headers["Content-Type"] == "application/json"
    assert headers["X-PyAI-Tool"] == tool["name"] and headers["X-PyAI-Tool-Call"] == out["tool_call_id"]
    assert headers["X-PyAI-Call"] == "support-call-9"

    bad = run_test(c, tool["id"], arguments={"order": 1})
    assert bad["ok"] is False and "order_id" in bad["message"] and bad["message"].startswith("arguments")
    assert len(_Receiver.received) == before + 1  # refused before any request left
    assert run_test(c, tool["id"])["ok"] is False  # no body: called with {}
    header_unsafe = c.post(f"/v1/tools/{tool['id']}/test", json={"call_id": "a\r\nX-Evil: 1"})
    assert assert_problem(header_unsafe, 400, "invalid_request")["param"] == "call_id"


def test_timeouts_errors_and_garbage_are_outcomes(server: Server, receiver: str) -> None:
    c = client_for(server)
    slow = make_tool(c, webhook_url=receiver + "/slow", timeout_ms=300)
    started = time.monotonic()
    out = run_test(c, slow["id"])
    assert time.monotonic() - started < 1.8  # did not wait for the 2 s answer
    assert out["ok"] is False and "timeout_ms (300 ms)" in out["message"]
    assert 250 <= out["latency_ms"] < 1500
    failing = run_test(c, make_tool(c, webhook_url=receiver + "/fail")["id"])
    assert failing["ok"] is False and failing["message"] == "the webhook answered HTTP 500"
    garbled = run_test(c, make_tool(c, webhook_url=receiver + "/garbled")["id"])
    assert garbled["ok"] is False and "not valid JSON" in garbled["message"]
    closed = run_test(c, make_tool(c, webhook_url="http://127.0.0.1:9/hook")["id"])  # nothing listens on 9
    assert closed["ok"] is False and "could not reach the webhook" in closed["message"]


def test_engine_and_client_tools_check_arguments_only(server: Server) -> None:
    c = client_for(server)
    ok = run_test(c, "tool_collect", arguments={"prompt": "Enter your PIN", "digits": 4, "terminator": "#"})
    assert ok["ok"] is True and "Omni call engine" in ok["message"]
    bad = run_test(c, "tool_collect", arguments={"prompt": "PIN", "digits": 0})
    assert bad["ok"] is False and bad["message"].startswith("arguments.digits")
    app_tool = make_tool(c, input_schema=ORDER_SCHEMA)
    assert "connected app" in run_test(c, app_tool["id"], arguments={"order_id": "1"})["message"]
    assert c.get("/v1/tools/calls").json()["data"] == []  # nothing ran, nothing logged


def test_knowledge_search_reads_the_agents_knowledge_base(server: Server) -> None:
    c = client_for(server)
    kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
    faq = b"# Hours\n\nWe open at nine on Saturdays.\n\n# Returns\n\nReturns are accepted within thirty days.\n"
    assert c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", faq)}).status_code == 201
    agent = c.post("/v1/agents", json={"name": "Desk", "knowledge_base_id": kb}).json()["agent_id"]
    found = run_test(c, "tool_knowledge_search", arguments={"query": "when do you open on saturday"}, agent_id=agent)
    assert found["ok"] is True and "Saturdays" in found["result"]["results"][0]["content"]
    no_agent = run_test(c, "tool_knowledge_search", arguments={"query": "hours"})
    assert no_agent["ok"] is False and "agent_id" in no_agent["message"]
    unknown = c.post("/v1/tools/tool_knowledge_search/test", json={"arguments": {"query": "x"}, "agent_id": "agent_x"})
    assert assert_problem(unknown, 400, "invalid_request")["param"] == "agent_id"
    calls = c.get("/v1/tools/calls").json()["data"]
    assert [(r["tool_name"], r["execution"], r["ok"], r["agent_id"]) for r in calls] == [
        ("knowledge_search", "hosted", False, None),
        ("knowledge_search", "hosted", True, agent),
    ]


def test_call_log_keeps_outcomes_not_arguments(server: Server, receiver: str) -> None:
    c = client_for(server)
    marker = "ZEBRA-" + secrets.token_hex(4)
    good = make_tool(c, input_schema=ORDER_SCHEMA, webhook_url=receiver + "/ok")
    failing = make_tool(c, webhook_url=receiver + "/fail")
    assert run_test(c, good["id"], arguments={"order_id": marker}, call_id="call-1")["ok"] is True
    assert run_test(c, failing["id"], arguments={"note": marker})["ok"] is False
    refused = run_test(c, good["id"], arguments={"order_id": [marker]})  # the validator would quote the value
    assert (
        refused["ok"] is False
        and refused["message"].startswith("arguments.order_id")
        and marker not in refused["message"]
    )
    assert run_test(c, good["id"], arguments={"order_id": marker})["ok"] is True
    listing = c.get("/v1/tools/calls")
    validate(listing.json(), "ToolCallList")
    calls = listing.json()["data"]
    assert [(r["tool_name"], r["ok"]) for r in calls] == [
        (good["name"], True),
        (good["name"], False),
        (failing["name"], False),
        (good["name"], True),
    ]
    oldest = calls[-1]
    assert oldest["call_id"] == "call-1" and oldest["execution"] == "server" and oldest["error"] is None
    assert calls[2]["error"] == "the webhook answered HTTP 500" and calls[2]["latency_ms"] >= 0
    assert calls[1]["error"].startswith("arguments.order_id: breaks the schema's type rule")
    assert [r["ts"] for r in calls] == sorted((r["ts"] for r in calls), reverse=True)
    fields = {"object", "id", "tool_id", "tool_name", "agent_id", "call_id", "execution", "ok", "error", "latency_ms"}
    assert set(oldest) == fields | {"ts"}
    assert marker not in listing.text and "shipped" not in listing.text
    stored = repr(server.query("SELECT * FROM tool_calls"))
    assert marker not in stored and "shipped" not in stored

    first = c.get("/v1/tools/calls", params={"limit": 3}).json()
    assert first["has_more"] is True and [r["id"] for r in first["data"]] == [r["id"] for r in calls[:3]]
    rest = c.get("/v1/tools/calls", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert rest["has_more"] is False and [r["id"] for r in rest["data"]] == [calls[3]["id"]]
    only = c.get("/v1/tools/calls", params={"tool_id": failing["id"]}).json()["data"]
    assert [r["id"] for r in only] == [calls[2]["id"]]
    assert c.get("/v1/tools/calls", params={"limit": 501}).status_code == 400
    assert_problem(c.get("/v1/tools/calls", params={"cursor": "%%%"}), 400, "invalid_request")


def test_orgs_never_see_each_others_tools(server: Server, receiver: str) -> None:
    mine, theirs = client_for(server), client_for(server)
    tool = make_tool(mine, name="lookup_order", webhook_url=receiver + "/ok")
    run_test(mine, tool["id"])
    for resp in (
        theirs.get(f"/v1/tools/{tool['id']}"),
        theirs.post(f"/v1/tools/{tool['id']}", json={"description": "taken over"}),
        theirs.delete(f"/v1/tools/{tool['id']}"),
        theirs.post(f"/v1/tools/{tool['id']}/test", json={}),
    ):
        assert_problem(resp, 404, "not_found")
    assert {t["kind"] for t in theirs.get("/v1/tools").json()["data"]} == {"prebuilt"}
    assert theirs.get("/v1/tools/calls").json()["data"] == []
    assert make_tool(theirs, name="lookup_order")["name"] == "lookup_order"  # names are per org
    assert mine.get(f"/v1/tools/{tool['id']}").json()["description"] == ""
