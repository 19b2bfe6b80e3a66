"""Tools in Omni calls, driven as a client would over a real WebSocket with the embedded brain:
a server tool chosen from the caller's words, its argument asked for and filled, its webhook
signed and its answer spoken; a slow tool covered by a filler; a tool that times out; a client
tool answered (and not answered) by the app; a transfer to a person; and bad tool frames."""

from __future__ import annotations

import http.server
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.omni_client import Session, call, run
from tests.receiver import QuietHandler, serving
from tests.server import Server
from tests.signing import verify


class _Webhooks(QuietHandler):
    """``/order`` answers at once, ``/quote`` after 2.5 s, ``/stuck`` after 6 s (past its timeout)."""

    received: list[tuple[str, http.client.HTTPMessage, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, self.headers, body))
        args = json.loads(body)
        if self.path == "/quote":
            time.sleep(2.5)
        elif self.path == "/stuck":
            time.sleep(6)
        answer = {"message": f"Order {args.get('order_number')} shipped yesterday."}
        if self.path == "/quote":
            answer = {"message": "Shipping costs five dollars."}
        data = json.dumps(answer).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the executor gave up on /stuck
            pass


@pytest.fixture(scope="module")
def webhooks() -> Iterator[str]:
    with serving(_Webhooks) as url:
        yield url


@pytest.fixture(scope="module")
def org(sqlite_server: Server) -> tuple[str, httpx.Client]:
    key = sqlite_server.create_key(scopes="omni:*")["api_key"]
    return key, httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=30)


def make_tool(c: httpx.Client, **fields: object) -> dict:
    resp = c.post("/v1/tools", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def make_agent(c: httpx.Client, tools: list[dict]) -> str:
    resp = c.post("/v1/agents", json={"name": "Shop", "greeting": "Hi.", "tools": tools})
    assert resp.status_code == 201, resp.text
    return resp.json()["agent_id"]


async def say(s: Session, text: str, kind: str = "agent.text") -> dict:
    """Type a caller turn; the first ``kind`` event after it."""
    mark = len(s.events)
    await s.ws.send(json.dumps({"type": "text", "text": text}))
    return await s.until(kind, after=mark)


def test_a_server_tool_is_chosen_its_argument_asked_for_its_call_signed_and_its_answer_spoken(
    sqlite_server: Server, org: tuple[str, httpx.Client], webhooks: str
) -> None:
    key, c = org
    order = make_tool(
        c,
        name="order_status",
        description="Look up where an order is.",
        webhook_url=f"{webhooks}/order",
        side_effect="read",
        input_schema={
            "type": "object",
            "properties": {"order_number": {"type": "string", "description": "The order number"}},
            "required": ["order_number"],
        },
    )
    agent_id = make_agent(c, [{"tool_id": order["id"]}])

    async def body(s: Session) -> None:
        await s.until("agent.audio_end")
        question = await say(s, "What's the status of my order?")
        assert "order number" in question["text"].lower()
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "It's one two three four five."}))
        tool_call = await s.until("tool_call", after=mark)
        assert tool_call["name"] == "order_status" and tool_call["kind"] == "server"
        assert tool_call["arguments"] == {"order_number": "12345"}
        result = await s.until("tool_result", after=mark)
        assert result["status"] == "ok" and result["call_id"] == tool_call["call_id"]
        answer = await s.until("agent.text", after=s.events.index(result))
        assert answer["text"] == "Order 12345 shipped yesterday."
        await s.ws.send(json.dumps({"type": "end"}))

    _, code = run(call(sqlite_server, key, body, query=f"session_label={agent_id}"))
    assert code == 1000
    path, headers, raw = next(r for r in _Webhooks.received if r[0] == "/order")
    assert json.loads(raw) == {"order_number": "12345"}
    assert verify(order["hmac_secret"], headers["X-PyAI-Signature"], raw)
    assert headers["X-PyAI-Agent"] == agent_id
    logged = c.get("/v1/tools/calls").json()["data"]
    assert any(row["tool_name"] == "order_status" and row["ok"] and row["agent_id"] == agent_id for row in logged)


def test_a_slow_tool_gets_a_filler_and_a_stuck_one_times_out_with_an_apology(
    sqlite_server: Server, org: tuple[str, httpx.Client], webhooks: str
) -> None:
    key, c = org
    read = {"side_effect": "read"}
    quote = make_tool(c, name="shipping_quote", webhook_url=f"{webhooks}/quote", timeout_ms=8000, **read)
    stock = make_tool(c, name="stock_check", webhook_url=f"{webhooks}/stuck", timeout_ms=1500, **read)
    agent_id = make_agent(c, [{"tool_id": quote["id"]}, {"tool_id": stock["id"]}])

    async def body(s: Session) -> None:
        await s.until("agent.audio_end")
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "How much is a shipping quote?"}))
        result = await s.until("tool_result", after=mark)
        said = [e["text"] for e in s.events[mark : s.events.index(result)] if e["type"] == "agent.text"]
        assert said == ["One moment."]  # dead air filled while the tool ran
        assert (await s.until("agent.text", after=s.events.index(result)))["text"] == "Shipping costs five dollars."
        await s.until("agent.audio_end", after=s.events.index(result))
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "Is the red kettle in stock?"}))
        result = await s.until("tool_result", after=mark)
        assert result["status"] == "timeout" and "1500 ms" in result["error"]
        apology = await s.until("agent.text", after=s.events.index(result))
        assert apology["text"].startswith("I'm sorry")
        await s.ws.send(json.dumps({"type": "end"}))

    _, code = run(call(sqlite_server, key, body, query=f"session_label={agent_id}"))
    assert code == 1000


def test_a_client_tool_is_confirmed_then_answered_by_the_app_or_timed_out(
    sqlite_server: Server, org: tuple[str, httpx.Client]
) -> None:
    key, _ = org
    ticket = {
        "name": "open_ticket",
        "description": "Open a support ticket.",
        "parameters": {"type": "object", "properties": {"topic": {"type": "string"}}},
        "timeout_ms": 1500,
    }

    async def body(s: Session) -> None:
        await s.until("session.ready")
        confirm = await say(s, "Please open a ticket.")
        assert "shall i go ahead" in confirm["text"].lower()
        tool_call = await say(s, "Yes please.", "tool_call")
        assert tool_call["name"] == "open_ticket" and tool_call["kind"] == "client"
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "tool_result", "call_id": "call_nope", "result": {}}))
        assert (await s.until("error", after=mark))["code"] == "unknown_call_id"
        await s.ws.send(
            json.dumps(
                {"type": "tool_result", "call_id": tool_call["call_id"], "result": {"message": "Ticket 7 is open."}}
            )
        )
        assert (await s.until("agent.text", after=mark))["text"] == "Ticket 7 is open."
        await say(s, "Open another ticket.")
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "text", "text": "Yes."}))
        await s.until("tool_call", after=mark)
        timeout = await s.until("tool_result", after=mark)  # the app never answers: the tool times out
        assert timeout["status"] == "timeout"
        waited = s.events[mark : s.events.index(timeout)]
        assert [e["text"] for e in waited if e["type"] == "agent.text"] == ["One moment."]
        apology = await s.until("agent.text", after=s.events.index(timeout))
        assert apology["text"].startswith("I'm sorry")
        await s.ws.send(json.dumps({"type": "end"}))

    first = {"type": "configure", "greeting": "", "tools": [ticket]}
    _, code = run(call(sqlite_server, key, body, first=first))
    assert code == 1000


def test_asking_for_a_person_transfers_the_call_and_bad_tool_frames_are_refused(
    sqlite_server: Server, org: tuple[str, httpx.Client]
) -> None:
    key, c = org
    agent_id = make_agent(c, [{"tool_id": "tool_transfer_to_human", "config": {"human_number": "+14155550123"}}])

    async def body(s: Session) -> None:
        await s.until("session.ready")
        mark = len(s.events)
        await s.ws.send(json.dumps({"type": "dtmf", "digits": "12x"}))
        assert (await s.until("error", after=mark))["code"] == "invalid_frame"
        transfer = await say(s, "Can I talk to a real person?", "transfer")
        assert transfer["to"] == "+14155550123"
        ended = await s.until("call.ended")
        assert ended["reason"] == "transfer"

    session, code = run(call(sqlite_server, key, body, query=f"session_label={agent_id}"))
    assert code == 1000
    texts = [e["text"] for e in session.events if e["type"] == "agent.text"]
    assert texts[-1] == "Connecting you to a member of our team now."


def test_a_configure_frame_with_a_bad_tool_is_refused_naming_it(
    sqlite_server: Server, org: tuple[str, httpx.Client]
) -> None:
    key, _ = org

    async def body(s: Session) -> None:
        await s.until("error")

    session, code = run(call(sqlite_server, key, body, first={"type": "configure", "tools": ["tool_nope"]}))
    assert code == 1008
    assert "tools[0]" in session.events[-1]["message"]
