"""Shared fixtures: real servers on SQLite and PostgreSQL, and fresh keys per test.

``PYAI_TEST_BACKENDS`` (default ``sqlite,postgres``) picks the databases the ``server`` fixture
runs on; tests using ``server`` therefore run once per backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import Server, create_pg_database, drop_pg_database

BACKENDS = [b.strip() for b in os.environ.get("PYAI_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]


def start_server(tmp: Path, backend: str, env: dict[str, str] | None = None) -> tuple[Server, str | None]:
    pg_url = create_pg_database() if backend == "postgres" else None
    full_env = dict(env or {})
    if pg_url:
        full_env["PYAI_DATABASE_URL"] = pg_url
    return Server(tmp, full_env).start(), pg_url


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv, pg_url = start_server(tmp_path_factory.mktemp(f"srv-{request.param}"), request.param)
    yield srv
    srv.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A single SQLite server for engine-heavy tests whose behaviour does not depend on the database."""
    srv, _ = start_server(tmp_path_factory.mktemp("srv-engines"), "sqlite")
    yield srv
    srv.stop()


@pytest.fixture
def key(server: Server) -> dict:
    """A fresh all-scopes live key on its own ungated org."""
    return server.create_key()
