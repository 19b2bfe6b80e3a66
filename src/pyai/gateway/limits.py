"""Per-key request rate limits and realtime-session concurrency caps.

Rate: a token bucket of ``rps`` refill and ``burst`` capacity, expressed with the ``limits``
library as a moving window of ``burst`` hits per ``ceil(burst / rps)`` seconds (same burst,
same long-run rate). In memory by default; on Redis when configured so every replica shares it.

Concurrency: leases that expire unless renewed, so a crashed replica's sessions free
themselves after ``lease_ttl`` seconds.

Redis outages: the clients fail fast (short timeouts, one immediate retry so a connection left
stale by a Redis restart is replaced without an error), and a circuit breaker stops asking a
Redis that just failed for :data:`RETRY_AFTER_S`, so an outage costs one slow request per
window rather than one per request. Callers get :class:`LimitsUnavailable` and decide whether
to fail closed (see :meth:`pyai.gateway.auth.Gateway.admit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pyai.gateway.errors import ApiError

T = TypeVar("T")
log = logging.getLogger("pyai.limits")

RETRY_AFTER_S = 2


def redis_options() -> dict:
    """Fail fast and heal quietly: a Redis op takes microseconds, so a second means it is down."""
    return {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 1.0,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 15,
    }


class LimitsUnavailable(Exception):
    """The shared limit store (Redis) cannot be reached; the limit could not be checked."""


class Breaker:
    """Skips a store that just failed for a short window; logs each outage once, and its end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open_until = 0.0
        self.down = False

    async def call(self, op: Callable[[], Awaitable[T]]) -> T:
        """``await op()`` unless the store failed within the last few seconds."""
        if time.monotonic() < self.open_until:
            raise LimitsUnavailable(f"{self.name} unavailable")
        try:
            result = await op()
        except (StorageError, RedisError, OSError) as e:
            if not self.down:
                log.error("%s unreachable (%s); failing closed for billable calls, writes and sessions", self.name, e)
            self.down = True
            self.open_until = time.monotonic() + RETRY_AFTER_S
            raise LimitsUnavailable(f"{self.name} unavailable") from None
        if self.down:
            log.warning("%s reachable again", self.name)
            self.down = False
        return result


class RateLimiter:
    def __init__(self, rps: int, burst: int, redis_url: str | None = None) -> None:
        self.rps = rps
        self.burst = max(burst, rps)
        window = max(1, math.ceil(self.burst / max(rps, 1)))
        self.item = RateLimitItemPerSecond(self.burst, window)
        self.storage: Storage = (
            RedisStorage("async+" + redis_url, implementation="redispy", wrap_exceptions=True, **redis_options())
            if redis_url
            else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.breaker = Breaker("rate-limit store (Redis)")

    async def hit(self, bucket: str, *, item=None) -> None:  # noqa: ANN001 - RateLimitItem
        """Take one token for ``bucket`` or raise 429 with an honest ``Retry-After``.

        Raises :class:`LimitsUnavailable` when the store cannot be reached.
        """
        item = item or self.item
        if await self.breaker.call(lambda: self.limiter.hit(item, "pyai", bucket)):
            return
        stats = await self.breaker.call(lambda: self.limiter.get_window_stats(item, "pyai", bucket))
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

            self._redis = aioredis.from_url(redis_url, **redis_options())
        self._mem: dict[str, dict[str, float]] = {}
        self._lock = asyncio.Lock()
        self.breaker = Breaker("session-lease store (Redis)")

    async def try_acquire(self, bucket: str, cap: int) -> str | None:
        """A lease id, or None at the cap; raises :class:`LimitsUnavailable` when Redis is down."""
        lease = uuid.uuid4().hex
        now = time.time()
        if self._redis is not None:
            redis = self._redis
            ok = await self.breaker.call(
                lambda: redis.eval(
                    self._ACQUIRE,
                    1,
                    f"pyai:conc:{bucket}",
                    now,
                    now + self.lease_ttl,
                    cap,
                    lease,
                    int(self.lease_ttl * 2000),
                )
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
    async def hold(self, bucket: str, lease: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        """Keep ``lease`` alive for the life of a session, renewing it in the background.

        Yields ``release``: a session that is done calls it before its closing frame, so a client
        that reconnects on seeing the close finds its slot free. It is released on exit anyway.
        """

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(self.lease_ttl / 3)
                with contextlib.suppress(LimitsUnavailable):  # a running session outlives a Redis blip
                    await self.breaker.call(lambda: self.renew(bucket, lease))

        renewer = asyncio.create_task(renew_forever())
        released = False

        async def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            renewer.cancel()
            with contextlib.suppress(LimitsUnavailable):  # unreleased, the lease lapses by itself
                await self.breaker.call(lambda: self.release(bucket, lease))

        try:
            yield release
        finally:
            await release()

    async def ping(self) -> None:
        """Raise unless the lease store answers (always fine in memory); for ``/readyz``."""
        if self._redis is not None:
            await self._redis.ping()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
