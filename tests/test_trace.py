"""Trace end to end, on SQLite and PostgreSQL: configs and rule packs over the API, then a real
Omni call under an agent's Trace config — the inline gate redacts a card number before it is
spoken and injects the mandatory disclosure — scored after the call into a hash-chained
scorecard whose findings match what was said, listed as violations and exposure, and a tampered
row caught by ``pyai trace verify``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from contextlib import closing

import httpx
import pytest

from tests.media import flite_wav
from tests.omni_client import Session, call, run
from tests.server import Server

CARD = "4111 1111 1111 1111"
GREETING = f"Hi, this is Sam from Acme Energy. Your card {CARD} is on file."
DISCLOSURE = "This call may be recorded."
PACK = {
    "pack_id": "acme_style",
    "version": "1.0.0",
    "jurisdiction": "company",
    "rules": [
        {
            "id": "acme-001",
            "kind": "forbidden",
            "speaker": "agent",
            "severity": "low",
            "citation": "Acme style guide §2",
            "description": "The agent must not promise savings.",
            "match": {"phrases": ["guaranteed savings"]},
        }
    ],
}


def execute(srv: Server, sql: str, pg_sql: str) -> None:
    """Write to the server's own database behind its back (a tamperer would): ``sql`` on SQLite,
    ``pg_sql`` on PostgreSQL."""
    if url := srv.env.get("PYAI_DATABASE_URL"):
        import asyncpg

        async def run_sql() -> None:
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                await conn.execute(pg_sql)
            finally:
                await conn.close()

        asyncio.run(run_sql())
        return
    with closing(sqlite3.connect(srv.data_dir / "pyai.db")) as db:
        db.execute(sql)
        db.commit()


@pytest.fixture(scope="module")
def owner(server: Server) -> dict:
    return server.create_key(scopes="omni:session,omni:read,trace:configure,trace:read")


@pytest.fixture(scope="module")
def api(server: Server, owner: dict) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers(owner["api_key"]), timeout=60)


def test_configs_and_rule_packs(api: httpx.Client) -> None:
    default = api.get("/v1/trace/config")
    body = default.json()
    assert body["enabled"] is False and body["mode"] == "warn" and body["config"]["guardrails"]["fail_open"] is True
    assert default.headers["etag"] == f'"{body["etag"]}"'
    missing = api.put("/v1/trace/config", json={"enabled": True, "rule_packs": {"nope": {"enabled": True}}})
    assert missing.status_code == 400 and missing.json()["param"] == "rule_packs.nope"
    assert missing.json()["error"]["code"] == "unknown_rule_pack"
    bad_mode = api.put("/v1/trace/config", json={"guardrails": {"mode": "shout"}})
    assert bad_mode.status_code == 400 and bad_mode.json()["param"] == "guardrails.mode"
    # a phrase with nothing to match is a bad value of that field, not an unknown rule pack
    no_words = api.put("/v1/trace/config", json={"guardrails": {"blocked_phrases": ["fine", "..."]}})
    assert no_words.status_code == 400 and no_words.json()["param"] == "guardrails.blocked_phrases[1]"
    assert no_words.json()["error"]["code"] == "invalid_request", no_words.text
    bad_pack_id = api.put("/v1/trace/config", json={"rule_packs": {"Not A Pack!": {"enabled": True}}})
    assert bad_pack_id.status_code == 400 and bad_pack_id.json()["error"]["code"] == "invalid_request", bad_pack_id.text
    assert api.put("/v1/trace/config", json={"agent_id": "agent_nobody", "config": {}}).status_code == 404

    packs = api.get("/v1/trace/rule-packs").json()["data"]
    assert {"tcpa", "hipaa", "pii", "brand_voice"} <= {p["pack_id"] for p in packs if p["builtin"]}
    tcpa = api.get("/v1/trace/rule-packs/tcpa").json()
    assert tcpa["builtin"] and all(r["citation"] for r in tcpa["spec"]["rules"])
    broken = {**PACK, "rules": [{**PACK["rules"][0], "match": {"regex": "(unclosed"}}]}
    refused = api.post("/v1/trace/rule-packs", json=broken)
    assert refused.status_code == 400 and refused.json()["param"] == "rules[0].match.regex", refused.text
    made = api.post("/v1/trace/rule-packs", json=PACK)
    assert made.status_code == 201 and not made.json()["builtin"], made.text
    assert api.post("/v1/trace/rule-packs", json=PACK).status_code == 409  # versions are pinned
    api.post("/v1/trace/rule-packs", json={**PACK, "version": "1.1.0"})
    assert api.get("/v1/trace/rule-packs/acme_style").json()["version"] == "1.1.0"
    assert api.get("/v1/trace/rule-packs/acme_style", params={"version": "1.0.0"}).json()["version"] == "1.0.0"
    assert api.get("/v1/trace/rule-packs/acme_style", params={"version": "9"}).status_code == 404
    pinned = api.put("/v1/trace/config", json={"rule_packs": {"acme_style": {"enabled": True, "version": "2.0"}}})
    assert pinned.status_code == 400 and pinned.json()["param"] == "rule_packs.acme_style.version"


def interaction_of(api: httpx.Client, call_id: str) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        resp = api.get(f"/v1/trace/interactions/{call_id}")
        if resp.status_code == 200:
            return resp.json()
        time.sleep(0.2)
    raise AssertionError(f"no scorecard for {call_id}: {resp.status_code} {resp.text}")


def test_a_call_is_gated_scored_chained_and_verified(server: Server, owner: dict, api: httpx.Client) -> None:
    agent = api.post("/v1/agents", json={"name": "Acme", "greeting": GREETING})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    config = {
        "enabled": True,
        "rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}},
        "guardrails": {
            "mode": "modify",
            "block_pii": {"patterns": ["credit_card"]},
            "mandatory_disclosures": [{"text": DISCLOSURE, "trigger": "call_start"}],
        },
    }
    stored = api.put("/v1/trace/config", json={"agent_id": agent_id, "config": config})
    assert stored.status_code == 200 and stored.json()["mode"] == "modify", stored.text
    assert api.get("/v1/trace/config", params={"agent_id": agent_id}).json()["etag"] == stored.json()["etag"]

    async def body(s: Session) -> None:
        await s.until("agent.audio_end")
        for line in ("Stop calling me.", "Goodbye."):
            mark = len(s.events)
            await s.ws.send(json.dumps({"type": "text", "text": line}))
            await s.until("agent.text", after=mark)
        await s.until("call.ended")

    session, code = run(call(server, owner["api_key"], body, query=f"session_label={agent_id}"))
    assert code == 1000, session.events
    said = " ".join(e["text"] for e in session.events if e["type"] == "agent.text")
    assert CARD not in said and "1111" not in said, said  # redacted before it was spoken
    assert said.startswith(DISCLOSURE), said
    assert any(e["type"] == "trace.gate" and e["action"] == "modify" for e in session.events)
    call_id = next(e for e in session.events if e["type"] == "session.ready")["call_id"]

    scored = interaction_of(api, call_id)
    card = scored["scorecard"]
    fired = {f["rule_id"] for f in card["findings"]}
    assert "pii-001" in fired and "tcpa-005" in fired and "tcpa-004" in fired, card["findings"]
    assert "tcpa-003" in {r["rule_id"] for r in card["satisfied"]}, card["satisfied"]
    assert scored["verdict"] == "FAIL" and scored["modified_turns"] >= 1 and len(scored["audit_hash"]) == 64
    assert CARD not in json.dumps(scored)
    assert scored["derived_metrics"]["turns_by_role"]["agent"] >= 2 and scored["timeline"]
    assert scored["derived_metrics"]["ttfb_ms"]["count"] >= 2

    listed = api.get("/v1/trace/interactions", params={"verdict": "FAIL", "agent_id": agent_id}).json()["data"]
    assert [i["id"] for i in listed] == [call_id]
    violations = api.get("/v1/trace/violations", params={"interaction_id": call_id}).json()["data"]
    assert {v["rule_id"] for v in violations} == fired and all(v["citation"] for v in violations)
    critical = api.get("/v1/trace/violations", params={"severity": "critical"}).json()["data"]
    assert "pii-001" in {v["rule_id"] for v in critical} and {v["severity"] for v in critical} == {"critical"}
    exposure = api.get("/v1/trace/exposure", params={"window_days": 7}).json()
    assert exposure["interactions_scanned"] == 1 and exposure["by_verdict"]["FAIL"] == 1 and exposure["gap_rate"] == 1
    assert exposure["top_exposure"] in fired
    assert api.get("/v1/trace/findings", params={"interaction_id": call_id}).status_code == 200

    stranger = server.create_key(scopes="trace:read")["api_key"]
    assert (
        httpx.get(f"{server.url}/v1/trace/interactions/{call_id}", headers=server.headers(stranger)).status_code == 404
    )

    intact = server.cli("trace", "verify", "--org", owner["org_id"])
    assert intact.returncode == 0 and "chain intact" in intact.stdout
    where = f"WHERE id = '{call_id}'"
    execute(
        server,
        f"""UPDATE trace_interactions SET scorecard = replace(scorecard, '"FAIL"', '"PASS"') {where}""",
        f"""UPDATE trace_interactions SET scorecard = replace(scorecard::text, '"FAIL"', '"PASS"')::json {where}""",
    )
    caught = server.cli("trace", "verify", "--org", owner["org_id"], check=False)
    assert caught.returncode == 1 and call_id in caught.stderr and "altered" in caught.stderr


def test_a_finished_hear_job_is_scanned_under_the_org_default(server: Server, owner: dict, api: httpx.Client) -> None:
    """Any transcript, not only calls: with the org's default config on, a transcription job is
    scored into a chained scorecard (``product: hear``)."""
    on = api.put("/v1/trace/config", json={"enabled": True, "rule_packs": {"acme_style": {"enabled": True}}})
    assert on.status_code == 200 and on.json()["source"] == "org_default", on.text
    jobs_key = server.create_key(scopes="transcribe:jobs", org=owner["org_id"])["api_key"]
    audio = flite_wav("We offer guaranteed savings on every plan.")
    job = httpx.post(
        f"{server.url}/v1/transcription/jobs",
        headers=server.headers(jobs_key),
        files={"audio": ("a.wav", audio)},
        timeout=60,
    ).json()["job_id"]
    scored = interaction_of(api, job)
    assert scored["product"] == "hear" and scored["packs_enforced"].startswith("acme_style@1.1.0")
    assert [f["rule_id"] for f in scored["scorecard"]["findings"]] == ["acme-001"], scored["scorecard"]["findings"]
    intact = server.cli("trace", "verify", "--org", owner["org_id"], check=False)
    assert intact.returncode == 1 and "altered" in intact.stderr  # the earlier tampered record still is
