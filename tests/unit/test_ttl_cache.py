"""The gateway's per-process cache: fresh hits, one shared load for concurrent misses, failures."""

from __future__ import annotations

import asyncio

import pytest

from pyai.gateway.ttl_cache import TtlCache


def test_concurrent_misses_share_one_load_and_none_is_not_cached() -> None:
    async def scenario() -> None:
        cache: TtlCache[str, int | None] = TtlCache(ttl=60)
        calls = []

        async def load() -> int:
            calls.append(1)
            await asyncio.sleep(0.01)
            return 7

        assert await asyncio.gather(*(cache.get("k", load) for _ in range(32))) == [7] * 32
        assert len(calls) == 1 and await cache.get("k", load) == 7 and len(calls) == 1

        async def missing() -> None:
            calls.append(1)

        await cache.get("gone", missing)
        await cache.get("gone", missing)
        assert len(calls) == 3  # a missing row is looked up again

    asyncio.run(scenario())


def test_a_failed_shared_load_lets_waiters_try_again_and_expiry_reloads() -> None:
    async def scenario() -> None:
        cache: TtlCache[str, int] = TtlCache(ttl=0.05)
        attempts = []

        async def flaky() -> int:
            attempts.append(1)
            await asyncio.sleep(0.01)
            if len(attempts) == 1:
                raise ConnectionError("database blip")
            return len(attempts)

        results = await asyncio.gather(*(cache.get("k", flaky) for _ in range(3)), return_exceptions=True)
        assert isinstance(results[0], ConnectionError) and results[1:] == [2, 2]
        await asyncio.sleep(0.06)
        assert await cache.get("k", flaky) == 3  # expired: loaded again

    asyncio.run(scenario())


def test_drop_forgets() -> None:
    async def scenario() -> None:
        cache: TtlCache[str, int] = TtlCache(ttl=60)
        await cache.get("k", lambda: asyncio.sleep(0, result=1))
        cache.drop("k")
        assert cache.peek("k") is None
        with pytest.raises(RuntimeError):
            await cache.get("k", lambda: _raise())

    async def _raise() -> int:
        raise RuntimeError("x")

    asyncio.run(scenario())
