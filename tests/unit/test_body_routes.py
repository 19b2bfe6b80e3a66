"""Every request body passes the guards: checked against the routes actually mounted."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pyai.api.body_limits import MULTIPART_OVERHEAD, UPLOAD_ROUTES, BodyLimits
from pyai.api.served import flatten_routes, served_operations
from pyai.app import create_app
from pyai.settings import Settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=Path(tmp_path_factory.mktemp("routes")), max_upload_bytes=1000, max_json_bytes=500)


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)  # routes only: the lifespan (database, engines) never runs


def test_no_route_lets_fastapi_parse_its_body(app: FastAPI) -> None:
    """A body declared as a FastAPI parameter would be parsed by json.loads, nesting unchecked:
    routes read bodies with ``api.bodies.json_body`` / ``multipart_form`` instead."""
    parsed = [route.path for route in flatten_routes(app.routes) if isinstance(route, APIRoute) and route.body_field]
    assert parsed == []


def test_every_upload_route_is_mounted(app: FastAPI) -> None:
    assert {("POST", path) for path in UPLOAD_ROUTES} <= served_operations(app)


@pytest.mark.parametrize(
    ("method", "path", "content_type", "limit", "param"),
    [
        ("POST", "/v1/audio/transcriptions", "multipart/form-data; boundary=x", 1000, "file"),
        ("POST", "/v1/transcription/jobs", "Multipart/Form-Data; boundary=x", 1000, "audio"),
        ("POST", "/v1/transcription/jobs", "application/json", 500, "body"),
        ("POST", "/v1/knowledge-bases/kb_1/documents", "multipart/form-data; boundary=x", 1000, "file"),
        ("POST", "/v1/knowledge-bases/kb_1/documents/extra", "multipart/form-data; boundary=x", 500, "body"),
        ("POST", "/v1/audio/speech", "multipart/form-data; boundary=x", 500, "body"),
        ("PUT", "/v1/voice/clones", "multipart/form-data; boundary=x", 500, "body"),
        ("GET", "/v1/me", "", 500, "body"),
    ],
)
def test_limit_per_route_and_content_type(
    settings: Settings, method: str, path: str, content_type: str, limit: int, param: str
) -> None:
    scope = {"type": "http", "method": method, "path": path, "headers": [(b"content-type", content_type.encode())]}
    chosen = BodyLimits(settings)(scope)
    assert (chosen.shown_bytes, chosen.param) == (limit, param)
    assert chosen.max_bytes == limit + (MULTIPART_OVERHEAD if param != "body" else 0)
    problem = chosen.problem()
    assert problem.status == 413 and problem.code == "payload_too_large" and f"{limit}-byte" in problem.detail
