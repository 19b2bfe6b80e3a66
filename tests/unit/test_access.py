"""The access table and its start-up audit: a route without a row (or a row without a route) stops the app."""

from __future__ import annotations

import pytest

from pyai.api.served import served_operations
from pyai.app import create_app
from pyai.contract import seed_operations
from pyai.gateway import access


def test_the_app_serves_exactly_the_table() -> None:
    served = served_operations(create_app())
    assert served == set(access.ACCESS)
    assert seed_operations() <= served


def test_audit_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    served = set(access.ACCESS)
    with pytest.raises(RuntimeError, match=r"served without a row in ACCESS: \('GET', '/v1/new'\)"):
        access.audit(served | {("GET", "/v1/new")}, seed_operations())
    with pytest.raises(RuntimeError, match=r"row in ACCESS for no served route: \('GET', '/v1/models'\)"):
        access.audit(served - {("GET", "/v1/models")}, seed_operations() - {("GET", "/v1/models")})
    monkeypatch.setitem(access.ACCESS, ("GET", "/v1/models"), access.Access("voice:desing"))
    with pytest.raises(RuntimeError, match="unknown scope 'voice:desing'"):
        access.audit(served, seed_operations())
