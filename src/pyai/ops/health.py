"""Readiness: may this replica take traffic now?

``GET /readyz`` runs every check below at once, each bounded by ``CHECK_TIMEOUT_S``, and answers
200 only when all pass. A check's reason is a short fixed phrase plus at most an exception's class
name or revision ids: never a URL, host, key or the exception's message (which can hold a DSN).
Failures are logged with their detail for the operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from sqlalchemy import text

from pyai.ops import drain

log = logging.getLogger("pyai.health")

CHECK_TIMEOUT_S = 3.0

#: Engine warm-ups started at server start: name -> "pending" | "ok" | "failed".
_warmups: dict[str, str] = {}


def track_warmup(name: str, fn: Callable[[], object]) -> Callable[[], None]:
    """``fn`` (run in a thread at start) wrapped to record when it is done, for the ``engines`` check."""
    _warmups[name] = "pending"

    def run() -> None:
        try:
            fn()
        except Exception:
            _warmups[name] = "failed"
            log.exception("warming %s failed", name)
        else:
            _warmups[name] = "ok"

    return run


class CheckFailed(Exception):
    """A check's failure with a reason safe to show anyone."""


async def check_database(db: Any) -> None:
    try:
        async with db.session() as s:
            await s.execute(text("SELECT 1"))
    except Exception as e:
        log.warning("readiness: database check failed: %r", e)
        raise CheckFailed(f"database unreachable ({type(e).__name__})") from None


@cache
def expected_heads() -> frozenset[str]:
    """The migration heads this code expects (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    from pyai.store.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def check_migrations(db: Any) -> None:
    try:
        async with db.session() as s:
            current = {row[0] for row in (await s.execute(text("SELECT version_num FROM alembic_version"))).all()}
    except Exception as e:
        log.warning("readiness: migration check failed: %r", e)
        raise CheckFailed(f"cannot read the migration version ({type(e).__name__})") from None
    expected = expected_heads()
    if current != expected:
        missing = ", ".join(sorted(expected - current)) or "none"
        raise CheckFailed(f"database not at the migration heads (run `pyai migrate`); missing: {missing}")


async def check_redis(gateway: Any) -> None:
    try:
        await gateway.concurrency.ping()
    except Exception as e:
        log.warning("readiness: redis check failed: %r", e)
        raise CheckFailed(f"redis unreachable ({type(e).__name__})") from None


async def check_engines() -> None:
    if failed := sorted(name for name, state in _warmups.items() if state == "failed"):
        raise CheckFailed(f"engine warm-up failed: {', '.join(failed)}")
    if pending := sorted(name for name, state in _warmups.items() if state == "pending"):
        raise CheckFailed(f"engines still warming up: {', '.join(pending)}")


async def _run(check: Awaitable[None]) -> dict:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except CheckFailed as e:
        return {"status": "failing", "reason": str(e)}
    except TimeoutError:
        return {"status": "failing", "reason": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except Exception as e:  # a bug in a check must not make the probe itself fail
        log.exception("readiness check crashed")
        return {"status": "failing", "reason": f"check failed ({type(e).__name__})"}
    return {"status": "ok"}


async def readiness(services: Any) -> tuple[bool, dict]:
    """``(ready, body)``: the body names every check with ``ok`` or ``failing`` and a reason."""
    checks: dict[str, Awaitable[None]] = {
        "database": check_database(services.db),
        "migrations": check_migrations(services.db),
        "engines": check_engines(),
    }
    if services.settings.redis_url:
        checks["redis"] = check_redis(services.gateway)
    results = dict(zip(checks, await asyncio.gather(*(_run(c) for c in checks.values())), strict=True))
    if drain.is_draining():
        results["draining"] = {"status": "failing", "reason": "shutting down: new sessions go to other replicas"}
    ready = all(r["status"] == "ok" for r in results.values())
    status = "ok" if ready else "draining" if drain.is_draining() else "failing"
    return ready, {"status": status, "checks": results}
