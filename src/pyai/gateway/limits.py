"""Per-key request rate limits and realtime-session concurrency caps.

Rate: a token bucket of ``rps`` refill and ``burst`` capacity, expressed with the ``limits``
library as a moving window of ``burst`` hits per ``ceil(burst / rps)`` seconds (same burst,
same long-run rate). In memory by default; on Redis when configured so every replica shares it.

Concurrency: leases that expire unless renewed, so a crashed replica's sessions free
themselves after ``lease_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from pyai.gateway.errors import ApiError


class RateLimiter:
    def __init__(self, rps: int, burst: int, redis_url: str | None = None) -> None:
        self.rps = rps
        self.burst = max(burst, rps)
        window = max(1, math.ceil(self.burst / max(rps, 1)))
        self.item = RateLimitItemPerSecond(self.burst, window)
        self.storage: Storage = (
            RedisStorage("async+" + redis_url, implementation="redispy") if redis_url else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, bucket: str, *, item=None) -> None:  # noqa: ANN001 - RateLimitItem
        """Take one token for ``bucket`` or raise 429 with an honest ``Retry-After``."""
        item = item or self.item
        if await self.limiter.hit(item, "pyai", bucket):
            return
        stats = await self.limiter.get_window_stats(item, "pyai", bucket)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"Rate limit of {self.rps} requests/s (burst {self.burst}) exceeded; retry in {retry}s.",
            headers={"Retry-After": str(retry)},
        )


class ConcurrencyLimiter:
    """Caps concurrent realtime sessions per key with expiring, renewable leases."""

    _ACQUIRE = """
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
    """

    def __init__(self, lease_ttl: float, redis_url: str | None = None) -> None:
        self.lease_ttl = lease_ttl
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(redis_url)
        self._mem: dict[str, dict[str, float]] = {}
        self._lock = asyncio.Lock()

    async def try_acquire(self, bucket: str, cap: int) -> str | None:
        lease = uuid.uuid4().hex
        now = time.time()
        if self._redis is not None:
            ok = await self._redis.eval(
                self._ACQUIRE,
                1,
                f"pyai:conc:{bucket}",
                now,
                now + self.lease_ttl,
                cap,
                lease,
                int(self.lease_ttl * 2000),
            )
            return lease if ok else None
        async with self._lock:
            leases = {k: v for k, v in self._mem.get(bucket, {}).items() if v > now}
            if len(leases) >= cap:
                self._mem[bucket] = leases
                return None
            leases[lease] = now + self.lease_ttl
            self._mem[bucket] = leases
            return lease

    async def renew(self, bucket: str, lease: str) -> None:
        expiry = time.time() + self.lease_ttl
        if self._redis is not None:
            await self._redis.zadd(f"pyai:conc:{bucket}", {lease: expiry}, xx=True)
        elif lease in self._mem.get(bucket, {}):
            self._mem[bucket][lease] = expiry

    async def release(self, bucket: str, lease: str) -> None:
        if self._redis is not None:
            await self._redis.zrem(f"pyai:conc:{bucket}", lease)
        else:
            self._mem.get(bucket, {}).pop(lease, None)

    @asynccontextmanager
    async def hold(self, bucket: str, lease: str) -> AsyncIterator[None]:
        """Keep ``lease`` alive for the life of a session, renewing it in the background."""

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(self.lease_ttl / 3)
                await self.renew(bucket, lease)

        renewer = asyncio.create_task(renew_forever())
        try:
            yield
        finally:
            renewer.cancel()
            await self.release(bucket, lease)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
