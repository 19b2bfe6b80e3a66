"""Validate responses against the contract's own schemas (not hand copies)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import httpx
import jsonschema

from pyai.contract import seed_spec


def _nullable_to_json_schema(node: Any) -> Any:
    """The spec mixes OpenAPI 3.0 ``nullable: true`` into 3.1 schemas; express it as JSON Schema."""
    if isinstance(node, dict):
        node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


def schema(name: str) -> dict:
    return contract_schema(seed_spec()["components"]["schemas"][name])


def contract_schema(node: dict) -> dict:
    """Any schema of the contract (a component's, or one declared inline on an operation) as JSON
    Schema whose ``$ref``s resolve against the contract's components."""
    return {**_nullable_to_json_schema(node), "components": _components()}


@functools.cache
def _components() -> dict:
    """The contract's components as JSON Schema, converted once (validators only read them)."""
    return _nullable_to_json_schema(copy.deepcopy(seed_spec()["components"]))


def validate(instance: Any, name: str) -> None:
    jsonschema.validate(instance, schema(name))


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    validate(body, "Error")
    assert body["error"]["code"] == code
    assert resp.headers.get("x-request-id")
    return body


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    validate(body, "Problem")
    assert body["type"].endswith("/" + code)
    assert body["request_id"] == resp.headers["x-request-id"]
    return body
