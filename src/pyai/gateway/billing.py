"""Metering and the billing gate.

Every billable call records a usage event with its exact seconds. Money is derived, never
stored per call: each meter's invoice-period (calendar month, UTC) total is rounded up once to
its pulse (1 s for AI products, 60 s for telephony) and priced at the contract's list price.
So many short calls are summed and rounded a single time, and an empty or failed call (0 s)
bills nothing.

One *unit* is one metered second; ``x-pyai-units`` and the sandbox daily cap count units.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from pyai.gateway.errors import ApiError
from pyai.gateway.identity import UNGATED_PLANS
from pyai.gateway.principal import Principal
from pyai.store.db import Database
from pyai.store.models import CreditGrant, UsageEvent


@dataclass(frozen=True)
class Meter:
    product: str
    cents_per_minute: float
    pulse_seconds: int = 1


#: List prices from the contract (USD cents per minute).
METERS: dict[str, Meter] = {
    "hear.minutes": Meter("hear", 0.3),
    "hear.batch.minutes": Meter("hear", 0.15),
    "speak.minutes": Meter("speak", 6.0),
    "cue.minutes": Meter("cue", 1.5),
    "omni.minutes": Meter("omni", 5.0),
    "telephony.minutes": Meter("telephony", 1.0, pulse_seconds=60),
}


def _period(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts))


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def price_cents(meter: str, total_seconds: float) -> float:
    """Price one meter's invoice-period total, rounding up to the pulse exactly once."""
    m = METERS[meter]
    if total_seconds <= 0:
        return 0.0
    billed = math.ceil(round(total_seconds, 6) / m.pulse_seconds) * m.pulse_seconds
    return billed / 60.0 * m.cents_per_minute


def format_units(seconds: float) -> str:
    """The ``x-pyai-units`` header value: metered seconds, millisecond precision."""
    return f"{max(seconds, 0.0):.3f}"


class Billing:
    """The gate in front of billable calls and the ledger behind them.

    The org's available credit is cached per process for ``cache_seconds`` (the same window as
    the key cache) and dropped whenever this process meters the org, so ``/v1/me`` and the gate
    cost no database round trip on a hot key; credit granted by another process shows up within
    that window.
    """

    def __init__(self, db: Database, free_monthly_grant_cents: int = 0, cache_seconds: float = 2.0) -> None:
        self.db = db
        self.free_monthly_grant_cents = free_monthly_grant_cents
        self.cache_seconds = cache_seconds
        self._credit: dict[str, tuple[float, float]] = {}

    @staticmethod
    def is_gated(p: Principal) -> bool:
        return p.env == "live" and p.plan not in UNGATED_PLANS

    async def meter(self, p: Principal, product: str, meter: str, seconds: float) -> float:
        """Record ``seconds`` of ``meter`` for the caller; returns the units recorded (0 = none)."""
        if meter not in METERS:
            raise ValueError(f"unknown meter {meter}")
        if not seconds or seconds <= 0 or not math.isfinite(seconds):
            return 0.0
        ts = time.time()
        async with self.db.session() as s:
            s.add(
                UsageEvent(
                    org_id=p.org_id,
                    project_id=p.project_id,
                    key_id=p.key_id,
                    env=p.env,
                    product=product,
                    meter=meter,
                    seconds=float(seconds),
                    period=_period(ts),
                    day=_day(ts),
                )
            )
            await s.commit()
        self._credit.pop(p.org_id, None)
        return float(seconds)

    async def _spend_cents(self, *conds) -> float:
        async with self.db.session() as s:
            rows = await s.execute(
                select(UsageEvent.period, UsageEvent.meter, func.sum(UsageEvent.seconds))
                .where(*conds)
                .group_by(UsageEvent.period, UsageEvent.meter)
            )
            return sum(price_cents(meter, total or 0.0) for _, meter, total in rows)

    async def available_cents(self, p: Principal) -> int:
        """Whole cents of credit left, as ``/v1/me`` reports it."""
        return math.floor(await self.balance_cents(p))

    async def balance_cents(self, p: Principal) -> float:
        """Grants minus org spend across all periods (plus the monthly free grant when gated), exact."""
        hit = self._credit.get(p.org_id)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        async with self.db.session() as s:
            granted = await s.scalar(
                select(func.coalesce(func.sum(CreditGrant.cents), 0)).where(CreditGrant.org_id == p.org_id)
            )
        spent = await self._spend_cents(UsageEvent.org_id == p.org_id, UsageEvent.env == "live")
        free = self.free_monthly_grant_cents if self.is_gated(p) else 0
        available = int(granted or 0) + free - spent
        self._credit[p.org_id] = (time.monotonic(), available)
        return available

    async def key_spend_cents(self, p: Principal) -> float:
        return await self._spend_cents(UsageEvent.key_id == p.key_id, UsageEvent.period == _period(time.time()))

    async def _units(self, *conds) -> float:
        async with self.db.session() as s:
            total = await s.scalar(select(func.coalesce(func.sum(UsageEvent.seconds), 0.0)).where(*conds))
            return float(total or 0.0)

    async def gate(self, p: Principal) -> None:
        """Refuse a billable call the caller cannot pay for (402) or has no daily room for (429)."""
        if p.is_test:
            if p.daily_unit_cap is not None:
                used = await self._units(UsageEvent.key_id == p.key_id, UsageEvent.day == _day(time.time()))
                if used >= p.daily_unit_cap:
                    raise ApiError(
                        429,
                        "daily_cap_exceeded",
                        f"This test key used its daily cap of {p.daily_unit_cap} units "
                        "(metered seconds); it resets at 00:00 UTC.",
                        headers={"Retry-After": str(_seconds_to_midnight())},
                    )
            return
        if p.monthly_units is not None:
            used = await self._units(UsageEvent.org_id == p.org_id, UsageEvent.period == _period(time.time()))
            if used >= p.monthly_units:
                raise ApiError(
                    402, "insufficient_quota", f"The plan's monthly cap of {p.monthly_units} units is used up."
                )
        if self.is_gated(p) and await self.balance_cents(p) <= 0:
            raise ApiError(
                402, "credit_exhausted", "The organization has no prepaid credit left; add credit to continue."
            )
        if p.budget_cents is not None and await self.key_spend_cents(p) >= p.budget_cents:
            raise ApiError(
                402, "key_budget_exceeded", f"This key reached its monthly budget of {p.budget_cents} cents."
            )


def _seconds_to_midnight() -> int:
    now = time.time()
    return max(1, int(86400 - now % 86400))
