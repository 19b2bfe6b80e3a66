"""Billing for a session whose length is unknown when it starts (Hear/Cue streams, later Omni).

The session holds a chunk of units when it starts billing, extends the hold as its usage
approaches it, and keeps the hold alive while it runs; when no room is left the session is told
(:attr:`StreamingHold.refusal`) and must stop. At the end the hold is settled to the exact usage,
never above what was held, so a cap is never exceeded.
"""

from __future__ import annotations

import time

from pyai.gateway.billing import Billing, Hold
from pyai.gateway.errors import ApiError
from pyai.gateway.principal import Principal

CHUNK_SECONDS = 60.0
#: Extend when fewer than this many held seconds are left, so a running stream never waits on it.
MARGIN_SECONDS = 10.0
#: The smallest grant worth starting or continuing a stream for.
MINIMUM_SECONDS = 0.25
TTL_SECONDS = 120.0


class StreamingHold:
    def __init__(self, billing: Billing, principal: Principal, meter: str, *, chunk: float = CHUNK_SECONDS) -> None:
        self.billing = billing
        self.principal = principal
        self.meter = meter
        self.chunk = chunk
        self.hold: Hold | None = None
        self.refusal: ApiError | None = None
        self._renewed = 0.0

    @property
    def held(self) -> float:
        return self.hold.seconds if self.hold else 0.0

    async def open(self) -> None:
        """Take the first chunk (or what is left, down to a minimum); raises the gate's error."""
        self.hold = await self.billing.reserve(
            self.principal, self.meter, self.chunk, minimum=MINIMUM_SECONDS, ttl=TTL_SECONDS
        )
        self._renewed = time.monotonic()

    async def cover(self, used: float) -> bool:
        """Whether ``used`` seconds stay covered; extends or renews the hold as needed.

        False once usage reached the hold and no more can be had (``refusal`` says why).
        """
        if self.hold is None:
            await self.open()
        assert self.hold is not None
        if self.refusal is None and used + MARGIN_SECONDS > self.hold.seconds:
            try:
                await self.billing.extend(self.hold, self.chunk, minimum=MINIMUM_SECONDS, ttl=TTL_SECONDS)
                self._renewed = time.monotonic()
            except ApiError as e:
                self.refusal = e
        if time.monotonic() - self._renewed > TTL_SECONDS / 3:
            await self.billing.renew(self.hold, TTL_SECONDS)
            self._renewed = time.monotonic()
        return used < self.hold.seconds or self.refusal is None

    async def close(self, used: float) -> float:
        """Settle the exact usage (capped at the hold); returns the units billed."""
        if self.hold is None:
            return 0.0
        return await self.billing.settle(self.hold, min(used, self.hold.seconds))
