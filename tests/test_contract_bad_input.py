"""Bad input on every operation of the contract, found from the contract itself, so a new route is
covered the day it is added: request bodies of the wrong shape and malformed query values get a
4xx in the contract's envelope (an ``Error`` with one of the contract's codes for
401/402/403/429, else a ``Problem``, naming the field on a 400), never a server error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from pyai.contract import seed_spec
from tests.contract import validate
from tests.server import Server

#: Bodies of the wrong shape: not an object, an empty-ish object, and the common fields with wrong types.
WRONG_BODIES: list[object] = [
    [],
    "x",
    1,
    None,
    {"unexpected": 1},
    {"name": 5, "input": [], "voice": {}, "agent_id": 3, "config": [], "url": 7, "metadata": "m", "tools": "t"},
]
#: Malformed values for a query parameter.
WRONG_VALUES = ["abc", "-1", "1e999", "\x00", "[]", "9" * 40]
ERROR_STATUSES = (401, 402, 403, 429)


def _operations(methods: tuple[str, ...]) -> Iterator[tuple[str, str, dict]]:
    for path, ops in seed_spec()["paths"].items():
        for method, op in ops.items():
            if method in methods:
                yield method.upper(), re.sub(r"\{[^}]+\}", "x_1", path), op


JSON_OPERATIONS = [
    (method, url)
    for method, url, op in _operations(("post", "put", "patch"))
    if "application/json" in (op.get("requestBody") or {}).get("content", {})
]
QUERIES = [
    (url, p["name"]) for _, url, op in _operations(("get",)) for p in op.get("parameters", []) if p.get("in") == "query"
]


def assert_envelope(resp: httpx.Response, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text}"
    if resp.status_code < 400:
        return
    body = resp.json()
    if resp.status_code in ERROR_STATUSES:
        validate(body, "Error")
        return
    assert resp.headers["content-type"].startswith("application/problem+json"), what
    validate(body, "Problem")
    if resp.status_code == 400:
        assert body.get("param"), f"{what}: a 400 names the bad field: {body}"


@pytest.fixture(scope="module")
def api(sqlite_server: Server) -> Iterator[httpx.Client]:
    key = sqlite_server.create_key()["api_key"]
    with httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=60) as client:
        yield client


def test_the_contract_has_operations_to_try() -> None:
    assert len(JSON_OPERATIONS) >= 15 and len(QUERIES) >= 30


@pytest.mark.parametrize(("method", "url"), JSON_OPERATIONS)
def test_wrong_shaped_bodies_get_a_clear_error(api: httpx.Client, method: str, url: str) -> None:
    refused = 0
    for body in WRONG_BODIES:
        resp = api.request(method, url, content=json.dumps(body), headers={"content-type": "application/json"})
        assert_envelope(resp, f"{method} {url} {body!r}")
        refused += resp.status_code >= 400
    assert refused >= len(WRONG_BODIES) - 2  # only a body of optional fields may pass ({} with unknown members)
    broken = api.request(method, url, content=b'{"input": ', headers={"content-type": "application/json"})
    assert_envelope(broken, f"{method} {url} truncated JSON")
    assert broken.status_code >= 400


@pytest.mark.parametrize(("url", "name"), QUERIES)
def test_malformed_query_values_never_break_a_read(api: httpx.Client, url: str, name: str) -> None:
    for value in WRONG_VALUES:
        assert_envelope(api.get(url, params={name: value}), f"GET {url}?{name}={value!r}")
