"""A small per-process cache with a time-to-live, whose concurrent misses share one load.

The gateway reads a key's row and an org's credit through it on every request. Without sharing,
every request in flight when an entry expires (32 at once under load) would query the database
for the same row; with it, one does and the others await its result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    def peek(self, key: K) -> V | None:
        """The cached value, fresh or not, without loading."""
        hit = self._entries.get(key)
        return hit[1] if hit else None

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The fresh cached value, or ``await load()`` (once, however many callers ask meanwhile).

        A ``None`` result is returned but not cached, so a missing row is looked up again.
        """
        hit = self._entries.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        while (pending := self._loading.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except BaseException:
                if not pending.done():  # this caller was cancelled while waiting
                    raise
                # the shared load failed (or its caller went away): join or start the next one
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as e:
            if isinstance(e, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(e)
                future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        if value is None:
            self._entries.pop(key, None)
        else:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)
        return value

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)
