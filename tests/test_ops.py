"""Operating a replica (docs/operations.md): /healthz, /readyz and a token-protected /metrics whose
series move with real traffic — a transcription, a speech request, a Hear stream, an Omni call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from tests.media import flite_wav, pcm16, silence_pcm16
from tests.omni_client import RATE, Session, call
from tests.server import Server
from tests.waiting import eventually

TOKEN = "metrics-" + "t0ken-for-tests"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("ops"), {"PYAI_METRICS_TOKEN": TOKEN}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(srv: Server) -> str:
    assert srv.admin_key  # printed at first start; all scopes, on an ungated org
    return srv.admin_key


def readyz(srv: Server) -> httpx.Response:
    return httpx.get(srv.url + "/readyz", timeout=30)


def scrape(srv: Server) -> dict[tuple[str, tuple], float]:
    """Every sample as ``{(name, sorted labels): value}``."""
    resp = httpx.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz_and_readyz_answer_without_a_key_and_leak_nothing(srv: Server, key: str) -> None:
    health = httpx.get(srv.url + "/healthz", timeout=30)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = eventually(lambda: (r := readyz(srv)).status_code == 200 and r, "readyz 200")
    body = ready.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "migrations": "ok",
        "engines": "ok",
    }
    secret = (srv.data_dir / "secret.key").read_text().strip()
    for leak in (TOKEN, key, secret, str(srv.data_dir), "sqlite", "redis://"):
        assert leak not in ready.text
    # not part of the API contract
    paths = httpx.get(srv.url + "/openapi.json", timeout=30).json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


@contextlib.contextmanager
def migrations_behind(srv: Server) -> Iterator[None]:
    """Take the newest migration head out of the server's alembic_version table for the block."""
    db = srv.data_dir / "pyai.db"
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        heads = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
        removed = max(heads)
        with conn:
            conn.execute("DELETE FROM alembic_version WHERE version_num = ?", (removed,))
    try:
        yield
    finally:
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn, conn:
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (removed,))


def test_readyz_is_503_while_the_database_is_not_at_the_migration_heads(srv: Server) -> None:
    eventually(lambda: readyz(srv).status_code == 200, "readyz 200")
    with migrations_behind(srv):
        resp = eventually(lambda: (r := readyz(srv)).status_code == 503 and r, "readyz 503")
        checks = resp.json()["checks"]
        assert resp.json()["status"] == "failing" and checks["database"]["status"] == "ok"
        assert checks["migrations"]["status"] == "failing"
        assert "pyai migrate" in checks["migrations"]["reason"]
    eventually(lambda: readyz(srv).status_code == 200, "readyz 200 again")


def test_metrics_need_the_token(srv: Server) -> None:
    assert httpx.get(srv.url + "/metrics", timeout=30).status_code == 401
    wrong = httpx.get(srv.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    samples = scrape(srv)
    assert value(samples, "pyai_draining") == 0
    assert ("pyai_jobs_queued", (("kind", "transcription"),)) in samples  # computed from the jobs table
    assert ("pyai_jobs_oldest_queued_age_seconds", (("kind", "webhook"),)) in samples


def test_http_requests_are_counted_by_route_template(srv: Server, key: str) -> None:
    before = scrape(srv)
    for agent in ("agent_missing1", "agent_missing2"):
        httpx.get(f"{srv.url}/v1/agents/{agent}", headers=srv.headers(key), timeout=30)
    after = scrape(srv)
    labels = {"route": "/v1/agents/{id}", "method": "GET", "status": "404"}
    assert value(after, "pyai_http_requests_total", **labels) - value(before, "pyai_http_requests_total", **labels) == 2
    assert not any("agent_missing" in str(k) for k in after)
    assert value(after, "pyai_http_requests_total", route="/healthz", method="GET", status="200") >= 1


def test_a_transcription_moves_decode_time_and_billed_units(srv: Server, key: str) -> None:
    before = scrape(srv)
    wav = flite_wav("Please call me back tomorrow morning.")
    resp = httpx.post(
        srv.url + "/v1/audio/transcriptions", headers=srv.headers(key), files={"file": ("a.wav", wav)}, timeout=120
    )
    assert resp.status_code == 200, resp.text
    after = scrape(srv)
    assert value(after, "pyai_stt_decode_seconds_count", engine="whisper") > value(
        before, "pyai_stt_decode_seconds_count", engine="whisper"
    )
    assert value(after, "pyai_billed_units_total", meter="hear.minutes") > value(
        before, "pyai_billed_units_total", meter="hear.minutes"
    )
    route = {"route": "/v1/audio/transcriptions", "method": "POST"}
    assert value(after, "pyai_http_request_duration_seconds_count", **route) > value(
        before, "pyai_http_request_duration_seconds_count", **route
    )


def test_a_speech_request_moves_synthesis_time_and_billed_units(srv: Server, key: str) -> None:
    before = scrape(srv)
    resp = httpx.post(
        srv.url + "/v1/audio/speech",
        headers=srv.headers(key),
        json={"input": "Hello from the metrics test.", "voice": "stock_james_en_us", "response_format": "wav"},
        timeout=120,
    )
    assert resp.status_code == 200 and len(resp.content) > 1000
    after = eventually(
        lambda: (
            (s := scrape(srv))
            and value(s, "pyai_billed_units_total", meter="speak.minutes")
            > value(before, "pyai_billed_units_total", meter="speak.minutes")
            and s
        ),
        "speak.minutes billed",
    )
    assert value(after, "pyai_tts_synthesis_seconds_count", engine="piper") > value(
        before, "pyai_tts_synthesis_seconds_count", engine="piper"
    )


def test_a_hear_stream_is_counted_while_open(srv: Server, key: str) -> None:
    open_streams = {"kind": "hear_stream"}

    async def go() -> None:
        url = f"{srv.ws_url}/v1/audio/transcriptions/stream?api_key={key}"
        async with connect(url, max_size=None) as ws:
            await ws.send(silence_pcm16(0.2))
            await asyncio.to_thread(
                eventually,
                lambda: value(scrape(srv), "pyai_realtime_sessions_open", **open_streams) == 1,
                "one open hear stream",
            )
            await ws.send("EOF")
            async for _ in ws:
                pass

    asyncio.run(go())
    eventually(lambda: value(scrape(srv), "pyai_realtime_sessions_open", **open_streams) == 0, "no open hear stream")


def test_an_omni_turn_is_timed_from_the_callers_speech_to_the_agents_audio(srv: Server, key: str) -> None:
    before = scrape(srv)
    question = silence_pcm16(0.3, RATE) + pcm16(flite_wav("What can you help me with today?"), RATE)

    async def body(s: Session) -> None:
        await s.until("agent.audio_end")  # the greeting
        mark = len(s.events)
        await s.say(question + silence_pcm16(1.5, RATE))
        await s.until("agent.audio_start", after=mark)
        await s.ws.send(json.dumps({"type": "end"}))
        await s.until("call.ended")

    _, code = asyncio.run(call(srv, key, body))
    assert code == 1000
    after = scrape(srv)
    turns = value(after, "pyai_omni_turn_latency_seconds_count") - value(before, "pyai_omni_turn_latency_seconds_count")
    took = value(after, "pyai_omni_turn_latency_seconds_sum") - value(before, "pyai_omni_turn_latency_seconds_sum")
    assert turns >= 1 and 0 < took < 60 * turns
    assert value(after, "pyai_billed_units_total", meter="omni.minutes") > 0
    eventually(lambda: value(scrape(srv), "pyai_realtime_sessions_open", kind="omni") == 0, "no open omni call")
