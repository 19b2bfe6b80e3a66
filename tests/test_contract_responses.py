"""Successful answers match the contract's declared response schema, read from the contract itself,
so a client generated from it can parse them: every GET without a path parameter, on a new
organization (configs never saved, nothing created) and on one with an agent, a tool, a rule pack
and saved Trace, Recap and CRM configs; the GETs by id of what was created; and the answers to
the POSTs and PUTs that made them.

The first run found a null ``updated_at`` on never-saved configs, a null ``created_at`` on
built-in rule packs, and a null ``salesforce`` and ``config.agent_id``, all typed non-null there.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from pyai.contract import seed_spec
from tests.contract import contract_schema
from tests.server import Server

SPEC = seed_spec()
#: GET routes of the contract that take no path parameter.
PLAIN_GETS = [path for path, ops in SPEC["paths"].items() if "get" in ops and "{" not in path]


def problems(resp: httpx.Response, path: str, method: str = "get") -> list[str]:
    """What in a 2xx JSON answer breaks the schema the contract declares for it."""
    declared = SPEC["paths"][path][method]["responses"].get(str(resp.status_code), {}).get("content", {})
    schema = declared.get(resp.headers["content-type"].split(";")[0], {}).get("schema")
    what = f"{method.upper()} {path}: {resp.status_code} {resp.headers['content-type']}"
    assert schema is not None, f"{what} is not in the contract"
    validator = jsonschema.Draft202012Validator(contract_schema(schema))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(resp.json())]


def check_all(client: httpx.Client, paths: dict[str, str]) -> dict[str, list[str]]:
    """``{contract path: problems}`` for each concrete URL that answers 2xx (others are errors,
    which tests/test_contract_bad_input.py holds to the contract's envelopes)."""
    found: dict[str, list[str]] = {}
    for url, path in paths.items():
        resp = client.get(url)
        assert resp.status_code < 500, f"GET {url}: {resp.status_code} {resp.text}"
        if resp.status_code < 300 and (bad := problems(resp, path)):
            found[url] = bad
    return found


@pytest.fixture(scope="module")
def server(sqlite_server: Server) -> Server:
    return sqlite_server


def _client(server: Server) -> httpx.Client:
    key = server.create_key()["api_key"]
    return httpx.Client(base_url=server.url, headers=server.headers(key), timeout=60)


@pytest.fixture
def fresh(server: Server) -> Iterator[httpx.Client]:
    with _client(server) as client:
        yield client


def test_the_contract_has_plain_gets() -> None:
    assert len(PLAIN_GETS) >= 20


def test_a_new_organization_reads_as_the_contract_says(fresh: httpx.Client) -> None:
    assert check_all(fresh, {p: p for p in PLAIN_GETS}) == {}


def test_an_organization_with_data_reads_as_the_contract_says(fresh: httpx.Client) -> None:
    c = fresh
    agent = c.post("/v1/agents", json={"name": "Front desk"})
    tool = c.post("/v1/tools", json={"name": "lookup_order", "description": "Finds an order."})
    pack = c.post(
        "/v1/trace/rule-packs",
        json={
            "pack_id": "house_style",
            "version": "1.0.0",
            "jurisdiction": "company",
            "rules": [
                {
                    "id": "house-001",
                    "kind": "forbidden",
                    "speaker": "agent",
                    "severity": "low",
                    "citation": "House style §1",
                    "description": "No promised savings.",
                    "match": {"phrases": ["guaranteed savings"]},
                }
            ],
        },
    )
    assert [r.status_code for r in (agent, tool, pack)] == [201, 201, 201], [agent.text, tool.text, pack.text]
    agent_id = agent.json()["agent_id"]
    puts = [
        ("/v1/trace/config", {"enabled": True, "rule_packs": {"house_style": {"enabled": True}}}),
        ("/v1/trace/config", {"agent_id": agent_id, "config": {"enabled": True}}),
        ("/v1/recap/config", {"enabled": True}),
        ("/v1/recap/crm-config", {"salesforce": {"object": "Opportunity", "create_activity": True}}),
    ]
    written = [("put", path, c.put(path, json=body)) for path, body in puts] + [
        ("post", "/v1/agents", agent),
        ("post", "/v1/tools", tool),
        ("post", "/v1/trace/rule-packs", pack),
    ]
    assert all(resp.status_code < 300 for _, _, resp in written), [resp.text for _, _, resp in written]
    checked = [(f"{method.upper()} {path}", problems(resp, path, method)) for method, path, resp in written]
    assert [(what, bad) for what, bad in checked if bad] == []

    urls = {p: p for p in PLAIN_GETS}
    by_id = {
        f"/v1/agents/{agent_id}": "/v1/agents/{id}",
        f"/v1/tools/{tool.json()['id']}": "/v1/tools/{id}",
        f"/v1/trace/rule-packs/{pack.json()['id']}": "/v1/trace/rule-packs/{id}",
        "/v1/trace/rule-packs/tpack_builtin_tcpa": "/v1/trace/rule-packs/{id}",
        "/v1/voices/stock_james_en_us": "/v1/voices/{id}",
        f"/v1/trace/config?agent_id={agent_id}": "/v1/trace/config",
    }
    assert check_all(c, {**urls, **by_id}) == {}
    # the CRM config read back once it was saved carries what was saved
    crm = c.get("/v1/recap/crm-config").json()
    assert crm["salesforce"]["object"] == "Opportunity" and isinstance(crm["updated_at"], int)
