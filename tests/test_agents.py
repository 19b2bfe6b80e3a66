"""Agent profiles over real HTTP on SQLite and PostgreSQL: create/read/list/delete, partial updates,
every validation rule, voices resolved per org, tool bindings checked against each tool's settings
form (secrets sealed and masked), pagination, and isolation between orgs."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.contract import assert_problem, validate
from tests.media import flite_wav
from tests.server import Server

FULL = {
    "name": "Front desk",
    "persona_system_prompt": "You are Ada, the receptionist of a dental practice.",
    "greeting": "Hello, this is Ada. How can I help?",
    "voice_id": "stock_emma_en_us",
    "brain_model": "default",
    "barge_sensitivity": "-35dBFS",
    "ack_mode": "always",
    "recordings_enabled": True,
    "consent_line": "This call is recorded.",
    "metadata": {"team": "dental", "region": "us-west"},
    "keyterms": ["Okonkwo", "Zyntrax"],
    "goals": ["Book an appointment", "Confirm insurance"],
    "extraction_schema": {"type": "object", "properties": {"appointment": {"type": "string"}}},
    "extraction_webhook_url": "http://127.0.0.1:9/extracted",
    "kb_endpoint": "http://127.0.0.1:9/kb",
    "tools": [{"tool_id": "tool_end_call", "config": {"farewell": "Bye now."}}],
}
SETTINGS_FORM = {
    "fields": [
        {"key": "from_number", "label": "From number", "type": "string", "required": True},
        {"key": "api_key", "label": "Provider API key", "type": "string", "secret": True, "required": True},
        {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
        {"key": "retries", "label": "Retries", "type": "number"},
    ]
}


def client_for(srv: Server, scopes: str = "omni:session") -> httpx.Client:
    """A fresh org's client."""
    return httpx.Client(base_url=srv.url, headers=srv.headers(srv.create_key(scopes=scopes)["api_key"]), timeout=30)


def create(c: httpx.Client, **fields: object) -> dict:
    resp = c.post("/v1/agents", json={"name": "Agent", **fields})
    assert resp.status_code == 201, resp.text
    validate(resp.json(), "Agent")
    return resp.json()


def test_create_read_list_delete(server: Server) -> None:
    c = client_for(server)
    minimal = create(c, name="Minimal")
    assert minimal["agent_id"].startswith("agent_") and minimal["object"] == "agent"
    assert abs(minimal["created_at"] - time.time()) < 120  # Unix seconds, as the contract says
    assert {k: minimal[k] for k in ("brain_model", "barge_sensitivity", "ack_mode", "recordings_enabled")} == {
        "brain_model": "default",
        "barge_sensitivity": "normal",
        "ack_mode": "auto",
        "recordings_enabled": False,
    }
    assert minimal["voice_id"] is None and minimal["greeting"] is None and minimal["extraction_schema"] is None
    assert minimal["keyterms"] == [] and minimal["goals"] == [] and minimal["metadata"] == {} and minimal["tools"] == []

    full = create(c, **FULL)
    for field, value in FULL.items():
        if field != "tools":
            assert full[field] == value, field
    assert full["tools"] == [
        {
            "tool_id": "tool_end_call",
            "enabled": True,
            "config": {"farewell": "Bye now."},
            "name": "end_call",
            "description": full["tools"][0]["description"],
        }
    ]
    assert c.get(f"/v1/agents/{full['agent_id']}").json() == full
    listing = c.get("/v1/agents").json()
    validate(listing, "AgentList")
    assert [a["agent_id"] for a in listing["data"]] == [full["agent_id"], minimal["agent_id"]]

    gone = c.delete(f"/v1/agents/{full['agent_id']}")
    assert gone.json() == {"object": "agent.deleted", "agent_id": full["agent_id"], "deleted": True}
    assert_problem(c.get(f"/v1/agents/{full['agent_id']}"), 404, "not_found")
    assert_problem(c.delete(f"/v1/agents/{full['agent_id']}"), 404, "not_found")
    assert [a["agent_id"] for a in c.get("/v1/agents").json()["data"]] == [minimal["agent_id"]]


def test_partial_update_sets_clears_and_keeps(server: Server) -> None:
    c = client_for(server)
    agent = create(c, **FULL)
    url = f"/v1/agents/{agent['agent_id']}"
    changed = c.post(
        url,
        json={
            "greeting": None,  # null clears
            "barge_sensitivity": None,  # ... back to the default where there is one
            "metadata": None,
            "extraction_webhook_url": None,
            "goals": ["Take a message"],  # present: set
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    validate(body, "Agent")
    assert body["greeting"] is None and body["barge_sensitivity"] == "normal" and body["metadata"] == {}
    assert body["extraction_webhook_url"] is None and body["goals"] == ["Take a message"]
    changed_fields = {"greeting", "barge_sensitivity", "metadata", "extraction_webhook_url", "goals"}
    assert {k: v for k, v in body.items() if k not in changed_fields} == {
        k: v for k, v in agent.items() if k not in changed_fields
    }  # absent: untouched
    assert c.post(url, json={}).json() == body  # nothing present, nothing changed
    assert c.get(url).json() == body
    assert c.post(url, json={"tools": None}).json()["tools"] == []
    assert assert_problem(c.post(url, json={"name": None}), 400, "invalid_request")["param"] == "name"
    bad = c.post(url, json={"extraction_schema": None})  # the webhook URL is gone, so this is fine now
    assert bad.status_code == 200 and bad.json()["extraction_schema"] is None
    c.post(url, json={"extraction_schema": FULL["extraction_schema"], "extraction_webhook_url": "http://127.0.0.1:9/x"})
    orphaned = c.post(url, json={"extraction_schema": None})  # would leave a webhook with nothing to extract
    assert assert_problem(orphaned, 400, "invalid_request")["param"] == "extraction_webhook_url"
    assert_problem(c.post("/v1/agents/agent_missing", json={"greeting": "hi"}), 404, "not_found")


LIMITS = [
    ({"name": None}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"persona_system_prompt": "p" * 32001}, "persona_system_prompt"),
    ({"greeting": "g" * 1001}, "greeting"),
    ({"consent_line": "c" * 501}, "consent_line"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata"),
    ({"metadata": {"k": 1}}, "metadata"),
    ({"keyterms": [f"term{i}" for i in range(101)]}, "keyterms"),
    ({"keyterms": ["t" * 51]}, "keyterms"),
    ({"goals": [f"goal {i}" for i in range(21)]}, "goals"),
    ({"goals": [""]}, "goals"),
    ({"ack_mode": "sometimes"}, "ack_mode"),
    ({"barge_sensitivity": "loud"}, "barge_sensitivity"),
    ({"barge_sensitivity": "-120"}, "barge_sensitivity"),
    ({"recordings_enabled": "yes"}, "recordings_enabled"),
    ({"brain_model": "two words"}, "brain_model"),
    ({"extraction_schema": {"type": 5}}, "extraction_schema"),
    ({"extraction_schema": {"type": "array"}}, "extraction_schema"),
    ({"extraction_webhook_url": "http://127.0.0.1:9/x"}, "extraction_webhook_url"),  # no extraction_schema
    (
        {"extraction_schema": {"type": "object"}, "extraction_webhook_url": "http://169.254.169.254/x"},
        "extraction_webhook_url",
    ),
    ({"kb_endpoint": "http://10.1.2.3/kb"}, "kb_endpoint"),
    ({"kb_endpoint": "file:///etc/passwd"}, "kb_endpoint"),
    ({"knowledge_base_id": "kb_nope"}, "knowledge_base_id"),
    ({"voice_id": "not_a_voice"}, "voice_id"),
    ({"tools": [{"tool_id": "tool_nope"}]}, "tools"),
    ({"tools": [{"tool_id": "tool_end_call"}] * 65}, "tools"),
    ({"tools": [{"tool_id": "tool_end_call"}, {"tool_id": "tool_end_call"}]}, "tools"),
    ({"tools": [{"tool_id": "tool_end_call", "enabled": "yes"}]}, "tools"),
    ({"colour": "blue"}, "colour"),
]


@pytest.fixture(scope="module")
def rules_org(server: Server) -> tuple[str, dict]:
    """One org and its one agent for the many refused writes (a refusal changes nothing to share)."""
    with client_for(server) as c:
        return c.get("/v1/me").json()["org_id"], create(c)


@pytest.mark.parametrize(("fields", "param"), LIMITS, ids=[f"{i}-{p}" for i, (_, p) in enumerate(LIMITS)])
def test_each_rule_is_a_400_naming_the_field(
    server: Server, rules_org: tuple[str, dict], fields: dict, param: str
) -> None:
    org_id, agent = rules_org
    key = server.create_key(org=org_id, scopes="omni:session")["api_key"]  # a key per case: no rate limit
    with httpx.Client(base_url=server.url, headers=server.headers(key), timeout=30) as c:
        refused = c.post("/v1/agents", json={"name": "Agent", **fields})
        body = assert_problem(refused, 400, refused.json()["type"].rsplit("/", 1)[1])
        assert body["param"].split(".")[0] == param and body["detail"].startswith(param), body
        assert [a["agent_id"] for a in c.get("/v1/agents").json()["data"]] == [agent["agent_id"]]  # nothing stored
        if param != "name":  # the same rule holds on update, which changes nothing either
            again = c.post(f"/v1/agents/{agent['agent_id']}", json=fields)
            assert again.status_code == 400 and again.json()["param"].split(".")[0] == param
            assert c.get(f"/v1/agents/{agent['agent_id']}").json() == agent


def test_accepted_edge_values(server: Server) -> None:
    c = client_for(server)
    agent = create(
        c,
        name="n" * 200,
        metadata={f"k{i}": "v" * 512 for i in range(16)},
        keyterms=["t" * 50] * 100,
        goals=["g"] * 20,
        barge_sensitivity="-35",
        brain_model="gpt-4o-mini",
    )
    assert len(agent["metadata"]) == 16 and len(agent["keyterms"]) == 100 and agent["barge_sensitivity"] == "-35"
    for level in ("low", "high", "0", "-90 dBFS"):
        assert c.post(f"/v1/agents/{agent['agent_id']}", json={"barge_sensitivity": level}).status_code == 200


def test_voice_must_resolve_for_the_org(server: Server) -> None:
    c = client_for(server, scopes="omni:session,voice:clone")
    assert create(c, voice_id="alloy")["voice_id"] == "alloy"  # OpenAI preset
    assert create(c, voice_id="stock_callum_en_scotland")["voice_id"] == "stock_callum_en_scotland"
    unknown = assert_problem(c.post("/v1/agents", json={"name": "A", "voice_id": "voice_nope"}), 400, "unknown_voice")
    assert unknown["param"] == "voice_id" and "voice_nope" in unknown["detail"]

    speech = "Please call Stella and ask her to bring these things with her from the store. Six spoons of peas."
    clone = c.post("/v1/voice/clones", data={"name": "Me"}, files={"file": ("me.wav", flite_wav(speech))}).json()
    pending = c.post("/v1/agents", json={"name": "A", "voice_id": clone["id"]})
    assert assert_problem(pending, 400, "voice_not_ready")["param"] == "voice_id"
    deadline = time.time() + 120
    while (status := _clone_status(c, clone["id"])) == "pending" and time.time() < deadline:
        time.sleep(0.5)
    assert status == "ready"
    assert create(c, voice_id=clone["id"])["voice_id"] == clone["id"]  # the org's own clone
    other = client_for(server)
    assert_problem(other.post("/v1/agents", json={"name": "A", "voice_id": clone["id"]}), 400, "unknown_voice")


def _clone_status(c: httpx.Client, voice_id: str) -> str:
    return next(v["status"] for v in c.get("/v1/voice/clones").json()["data"] if v["id"] == voice_id)


def test_knowledge_base_must_be_the_orgs(server: Server) -> None:
    c, other = client_for(server), client_for(server)
    kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
    assert create(c, knowledge_base_id=kb)["knowledge_base_id"] == kb
    refused = other.post("/v1/agents", json={"name": "A", "knowledge_base_id": kb})
    assert assert_problem(refused, 400, "unknown_knowledge_base")["param"] == "knowledge_base_id"


def test_tool_bindings_are_checked_against_each_tools_settings(server: Server) -> None:
    c = client_for(server)
    sms = c.post("/v1/tools", json={"name": "send_sms", "config_schema": SETTINGS_FORM}).json()
    agent = create(c)
    url = f"/v1/agents/{agent['agent_id']}/tools"
    secret = "key_" + secrets.token_hex(8)
    bindings = [
        {"tool_id": "tool_transfer_to_human", "config": {"human_number": "+14155550123", "mode": "warm"}},
        {"tool_id": sms["id"], "enabled": False, "config": {"from_number": "+15550001", "api_key": secret}},
    ]
    bound = c.put(url, json=bindings)
    assert bound.status_code == 200, bound.text
    validate(bound.json(), "AgentToolBindingList")
    data = bound.json()["data"]
    assert [(b["tool_id"], b["name"], b["enabled"]) for b in data] == [
        ("tool_transfer_to_human", "transfer_to_human", True),
        (sms["id"], "send_sms", False),
    ]
    assert data[1]["config"] == {"from_number": "+15550001", "api_key": "********"}  # secrets come back masked
    assert c.get(f"/v1/agents/{agent['agent_id']}").json()["tools"] == data
    stored = repr(server.query(f"SELECT tools FROM agents WHERE id = '{agent['agent_id']}'"))
    assert secret not in stored and "gAAAAA" in stored  # sealed at rest

    # What a read returned can be written back as it is (the mask keeps the stored secret) ...
    assert c.put(url, json=data).json()["data"] == data
    # ... and leaving a secret out keeps it too, while plain settings are replaced.
    kept = c.put(url, json=[{"tool_id": sms["id"], "config": {"from_number": "+15550002", "plan": "pro"}}])
    assert kept.json()["data"][0]["config"] == {"from_number": "+15550002", "plan": "pro", "api_key": "********"}
    assert stored.split("gAAAAA")[1][:20] in repr(
        server.query(f"SELECT tools FROM agents WHERE id = '{agent['agent_id']}'")
    )

    def refused(body: list, status: int, code: str) -> str:
        return assert_problem(c.put(url, json=body), status, code)["param"]

    assert refused([{"tool_id": "tool_transfer_to_human"}], 400, "invalid_request") == "0.config"  # required setting
    bad_number = [{"tool_id": "tool_transfer_to_human", "config": {"human_number": "call me"}}]
    assert refused(bad_number, 400, "invalid_request") == "0.config.human_number"
    bad_mode = [{"tool_id": "tool_transfer_to_human", "config": {"human_number": "+14155550123", "mode": "hot"}}]
    assert refused(bad_mode, 400, "invalid_request") == "0.config.mode"
    unknown_key = [{"tool_id": "tool_end_call", "config": {"farewel": "typo"}}]
    assert refused(unknown_key, 400, "invalid_request") == "0.config"
    wrong_type = [{"tool_id": sms["id"], "config": {"from_number": "+1", "retries": "three"}}]
    assert refused(wrong_type, 400, "invalid_request") == "0.config.retries"
    fresh = create(c)  # a mask with nothing stored behind it is not a secret
    masked = c.put(f"/v1/agents/{fresh['agent_id']}/tools", json=[{"tool_id": sms["id"], "config": data[1]["config"]}])
    assert assert_problem(masked, 400, "invalid_request")["param"] == "0.config.api_key"
    assert refused([{"tool_id": "tool_nope"}], 404, "not_found") == "0.tool_id"  # the contract's 404
    assert refused({"tool_id": "tool_end_call"}, 400, "invalid_request") == "body"  # not an array
    assert_problem(c.put("/v1/agents/agent_missing/tools", json=[]), 404, "not_found")

    assert c.delete(f"/v1/tools/{sms['id']}").status_code == 200  # a deleted tool's binding stays, unnamed
    orphan = c.get(f"/v1/agents/{agent['agent_id']}").json()["tools"]
    assert orphan == [{"tool_id": sms["id"], "enabled": True, "config": kept.json()["data"][0]["config"]}]
    assert c.put(url, json=[]).json()["data"] == []


def test_pagination_is_stable_newest_first(server: Server) -> None:
    c = client_for(server)
    made = [create(c, name=f"Agent {i}")["agent_id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        resp = c.get("/v1/agents", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["agent_id"] for a in resp["data"]]
        if not resp["has_more"]:
            assert resp["next_cursor"] is None
            break
        cursor = resp["next_cursor"]
        create(c, name="Added while paging")  # newer rows never shift the pages being read
    assert seen == made[::-1]
    assert len(c.get("/v1/agents", params={"limit": 100}).json()["data"]) == 9
    assert_problem(c.get("/v1/agents", params={"cursor": "garbage!"}), 400, "invalid_request")
    assert c.get("/v1/agents", params={"limit": 0}).status_code == 400


def test_orgs_never_see_each_others_agents(server: Server) -> None:
    mine, theirs = client_for(server), client_for(server)
    agent = create(mine, **FULL)
    own_tool = mine.post("/v1/tools", json={"name": "private_tool"}).json()
    for resp in (
        theirs.get(f"/v1/agents/{agent['agent_id']}"),
        theirs.post(f"/v1/agents/{agent['agent_id']}", json={"name": "Mine now"}),
        theirs.delete(f"/v1/agents/{agent['agent_id']}"),
        theirs.put(f"/v1/agents/{agent['agent_id']}/tools", json=[]),
    ):
        assert_problem(resp, 404, "not_found")
    assert theirs.get("/v1/agents").json()["data"] == []
    theirs_agent = create(theirs)
    stolen = theirs.put(f"/v1/agents/{theirs_agent['agent_id']}/tools", json=[{"tool_id": own_tool["id"]}])
    assert assert_problem(stolen, 404, "not_found")["param"] == "0.tool_id"
    assert mine.get(f"/v1/agents/{agent['agent_id']}").json() == agent
