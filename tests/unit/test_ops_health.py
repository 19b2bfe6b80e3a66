"""Readiness checks on their own: a database that cannot be reached, one never migrated, a Redis
that is down — each a 503 with a short reason that names no URL, path or password."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pyai.gateway.limits import ConcurrencyLimiter
from pyai.ops import health
from pyai.ops.metrics import TurnLatency
from pyai.store.db import Database


def services(db_url: str, redis_url: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        db=Database(db_url),
        settings=SimpleNamespace(redis_url=redis_url),
        gateway=SimpleNamespace(concurrency=ConcurrencyLimiter(30, redis_url)),
    )


async def readiness(svc: SimpleNamespace) -> tuple[bool, dict]:
    try:
        return await health.readiness(svc)
    finally:
        await svc.db.dispose()
        await svc.gateway.concurrency.close()


async def test_an_unreachable_database_fails_both_database_checks_without_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "secret-name.db"
    ready, body = await readiness(services(f"sqlite+aiosqlite:///{missing}"))
    assert not ready and body["status"] == "failing"
    assert body["checks"]["database"]["status"] == "failing"
    assert body["checks"]["database"]["reason"].startswith("database unreachable")
    assert body["checks"]["migrations"]["status"] == "failing"
    assert "secret-name" not in str(body) and str(tmp_path) not in str(body)


async def test_an_unreachable_postgres_and_redis_name_no_host_or_password() -> None:
    svc = services("postgresql+asyncpg://pyai:hunter2@127.0.0.1:1/pyai", redis_url="redis://:hunter2@127.0.0.1:1/0")
    ready, body = await readiness(svc)
    assert not ready
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "failing",
        "migrations": "failing",
        "engines": "ok",
        "redis": "failing",
    }
    for leak in ("hunter2", "127.0.0.1", ":1", "postgresql", "redis://"):
        assert leak not in str(body)


async def test_a_database_never_migrated_is_not_ready(tmp_path: Path) -> None:
    ready, body = await readiness(services(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    assert not ready
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["reason"].startswith("cannot read the migration version")


async def test_engines_are_ready_once_every_warm_up_finished() -> None:
    slow = health.track_warmup("test-slow", lambda: None)
    assert (await health._run(health.check_engines()))["reason"] == "engines still warming up: test-slow"
    slow()
    assert await health._run(health.check_engines()) == {"status": "ok"}


def test_turn_latency_is_timed_from_the_last_end_of_speech() -> None:
    from pyai.ops.metrics import OMNI_TURN_LATENCY

    def count() -> float:
        return next(s.value for s in OMNI_TURN_LATENCY.collect()[0].samples if s.name.endswith("_count"))

    before = count()
    turn = TurnLatency()
    turn.on_event({"type": "agent.audio_start"})  # the greeting: no caller speech before it
    assert count() == before
    for kind in ("caller.speech_started", "caller.speech_stopped", "caller.speech_started", "caller.speech_stopped"):
        turn.on_event({"type": kind})
    turn.on_event({"type": "agent.audio_start"})
    turn.on_event({"type": "agent.audio_start"})  # a second start without new speech is not a turn
    assert count() == before + 1
