"""The billing gate, usage holds and the usage ledger.

A billable call is admitted in two steps. :meth:`Billing.gate` is the cheap check at the door
(no room at all → 402/429 before a byte of the body is read). :meth:`Billing.reserve` then sets
aside the units the call expects to use, atomically: it takes a per-org lock in the database
(a row lock on PostgreSQL, the write lock on SQLite), adds up settled usage *and every live hold*,
and either stores a hold or refuses. So N concurrent calls can never all pass a gate that only
has room for one, on one replica or many. When the call ends its hold is settled to the exact
seconds used (one transaction: the hold goes, a usage event comes) or released on failure.
A hold whose replica died lapses at its expiry. Streaming sessions hold a chunk at a time and
extend it as they run (:class:`StreamingHold`), stopping when no room is left.

Callers with nothing to limit (ungated plans with no caps, no budget) skip the lock entirely.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.gateway.errors import ApiError
from pyai.gateway.identity import UNGATED_PLANS
from pyai.gateway.pricing import METERS, affordable_seconds, day, period, price_cents, seconds_to_midnight
from pyai.gateway.principal import Principal
from pyai.gateway.ttl_cache import TtlCache
from pyai.ops import metrics
from pyai.store.db import Database
from pyai.store.ids import new_id, now_ms
from pyai.store.models import CreditGrant, Org, UsageEvent, UsageHold

#: How long an HTTP call's hold lives if its replica dies before settling it.
DEFAULT_HOLD_TTL_S = 900.0


@dataclass
class Hold:
    """Units set aside for one call; ``id`` is None when the caller has no limit to hold against."""

    principal: Principal
    meter: str
    seconds: float
    id: str | None = None
    settled: bool = False


@dataclass
class _Posture:
    """What a principal has used (settled + held) against each of its limits, read under the lock."""

    p: Principal
    free_cents: int
    day_units: float = 0.0
    period_units: float = 0.0
    granted_cents: float = 0.0
    org_spent_cents: float = 0.0
    org_meter_totals: dict[str, float] = field(default_factory=dict)  # this period, org, live
    key_spent_cents: float = 0.0
    key_meter_totals: dict[str, float] = field(default_factory=dict)  # this period, key

    def limits(self, meter: str | None) -> list[tuple[float, Callable[[float, float], ApiError]]]:
        """``(room, error)`` per limit that applies: room in seconds of ``meter`` (or, without a
        meter, any positive number when some room is left)."""
        p = self.p
        out: list[tuple[float, Callable[[float, float], ApiError]]] = []
        if p.is_test:
            if p.daily_unit_cap is not None:
                out.append((p.daily_unit_cap - self.day_units, _daily_cap_error(p.daily_unit_cap)))
            return out
        if p.monthly_units is not None:
            out.append((p.monthly_units - self.period_units, _quota_error(p.monthly_units)))
        if Billing.is_gated(p):
            cents = self.granted_cents + self.free_cents - self.org_spent_cents
            room = cents if meter is None else affordable_seconds(meter, self.org_meter_totals.get(meter, 0.0), cents)
            out.append((room, _credit_error))
        if p.budget_cents is not None:
            cents = p.budget_cents - self.key_spent_cents
            room = cents if meter is None else affordable_seconds(meter, self.key_meter_totals.get(meter, 0.0), cents)
            out.append((room, _budget_error(p.budget_cents)))
        return out


def _message(exhausted: str, limit: str, want: float, room: float) -> str:
    """The exhausted wording, or, when some room is left but not enough, how much is missing."""
    if room <= 1e-9:
        return exhausted
    return (
        f"This call needs about {want:.1f} units (metered seconds) but only {room:.1f} remain {limit}; "
        "nothing was billed."
    )


def _daily_cap_error(cap: int) -> Callable[[float, float], ApiError]:
    return lambda want, room: ApiError(
        429,
        "daily_cap_exceeded",
        _message(
            f"This test key used its daily cap of {cap} units (metered seconds); it resets at 00:00 UTC.",
            f"of this test key's daily cap of {cap} (it resets at 00:00 UTC)",
            want,
            room,
        ),
        headers={"Retry-After": str(seconds_to_midnight())},
    )


def _quota_error(units: int) -> Callable[[float, float], ApiError]:
    return lambda want, room: ApiError(
        402,
        "insufficient_quota",
        _message(
            f"The plan's monthly cap of {units} units is used up.", f"of the plan's monthly cap of {units}", want, room
        ),
    )


def _credit_error(want: float, room: float) -> ApiError:
    return ApiError(
        402,
        "credit_exhausted",
        _message(
            "The organization has no prepaid credit left; add credit to continue.",
            "in the organization's prepaid credit",
            want,
            room,
        ),
    )


def _budget_error(cents: int) -> Callable[[float, float], ApiError]:
    return lambda want, room: ApiError(
        402,
        "key_budget_exceeded",
        _message(
            f"This key reached its monthly budget of {cents} cents.",
            f"of this key's monthly budget of {cents} cents",
            want,
            room,
        ),
    )


class Billing:
    """The gate in front of billable calls, the holds for calls in flight, and the ledger behind them.

    The org's available credit shown by ``/v1/me`` is cached per process for ``cache_seconds``
    (the same window as the key cache); the gate and holds always read the database.
    """

    def __init__(
        self,
        db: Database,
        free_monthly_grant_cents: int = 0,
        cache_seconds: float = 2.0,
        hold_ttl_seconds: float = DEFAULT_HOLD_TTL_S,
    ) -> None:
        self.db = db
        self.free_monthly_grant_cents = free_monthly_grant_cents
        self.hold_ttl_seconds = hold_ttl_seconds
        self._credit: TtlCache[str, float] = TtlCache(cache_seconds)

    @staticmethod
    def is_gated(p: Principal) -> bool:
        return p.env == "live" and p.plan not in UNGATED_PLANS

    @classmethod
    def is_limited(cls, p: Principal) -> bool:
        """Whether any limit applies to ``p``'s usage (if not, calls need no hold)."""
        if p.is_test:
            return p.daily_unit_cap is not None
        return p.monthly_units is not None or cls.is_gated(p) or p.budget_cents is not None

    # ---- reading the posture ---------------------------------------------------------------
    async def _posture(self, s: AsyncSession, p: Principal) -> _Posture:
        """Used + held against each limit of ``p``. Each figure is one statement over both the
        ledger and the holds, so a call settling meanwhile (hold → usage) is counted exactly once."""
        live = UsageHold.expires_at > now_ms()
        post = _Posture(p, self.free_monthly_grant_cents if self.is_gated(p) else 0)
        this_period = period()
        if p.is_test:
            if p.daily_unit_cap is not None:
                post.day_units = sum((await _totals(s, live, key_id=p.key_id, day=day())).values())
            return post
        if p.monthly_units is not None:
            post.period_units = sum((await _totals(s, live, org_id=p.org_id, period=this_period)).values())
        if self.is_gated(p):
            post.granted_cents = await _granted(s, p.org_id)
            totals = await _totals(s, live, org_id=p.org_id, env="live")
            post.org_spent_cents = sum(price_cents(m, t) for (_, m), t in totals.items())
            post.org_meter_totals = {m: t for (per, m), t in totals.items() if per == this_period}
        if p.budget_cents is not None:
            totals = await _totals(s, live, key_id=p.key_id, period=this_period)
            post.key_spent_cents = sum(price_cents(m, t) for (_, m), t in totals.items())
            post.key_meter_totals = {m: t for (_, m), t in totals.items()}
        return post

    async def gate(self, p: Principal) -> None:
        """Refuse a billable call when the caller has no room left at all (402, or 429 for a test key)."""
        if not self.is_limited(p):
            return
        async with self.db.session() as s:
            posture = await self._posture(s, p)
        for room, error in posture.limits(None):
            if room <= 0:
                raise error(0.0, room)

    # ---- holds ---------------------------------------------------------------------------
    async def _lock(self, s: AsyncSession, org_id: str) -> None:
        """Serialise reservations of one org: a row lock on PostgreSQL, the write lock on SQLite.

        It is the first statement of the transaction, so on SQLite no stale read snapshot is
        held when the lock is granted.
        """
        await s.execute(update(Org).where(Org.id == org_id).values(status=Org.status))

    async def reserve(
        self, p: Principal, meter: str, seconds: float, *, minimum: float | None = None, ttl: float | None = None
    ) -> Hold:
        """Hold ``seconds`` of ``meter`` for ``p`` or raise the gate's 402/429.

        With ``minimum`` a smaller grant is accepted (down to ``minimum``): streams take what is
        left rather than nothing.
        """
        if meter not in METERS:
            raise ValueError(f"unknown meter {meter}")
        seconds = max(0.0, float(seconds))
        if not self.is_limited(p):
            return Hold(p, meter, seconds)
        hold = Hold(p, meter, 0.0, id=new_id("hold"))
        await self._grow(hold, seconds, minimum, ttl)
        return hold

    async def extend(self, hold: Hold, seconds: float, *, minimum: float = 0.0, ttl: float | None = None) -> float:
        """Add up to ``seconds`` to a hold (and push back its expiry); returns what was granted.

        Raises the gate's error when less than ``minimum`` (or nothing) is left.
        """
        if hold.id is None:
            hold.seconds += seconds
            return seconds
        return await self._grow(hold, seconds, minimum, ttl)

    async def _grow(self, hold: Hold, seconds: float, minimum: float | None, ttl: float | None) -> float:
        p = hold.principal
        expires = now_ms() + int((ttl or self.hold_ttl_seconds) * 1000)
        async with self.db.session() as s:
            await self._lock(s, p.org_id)
            posture = await self._posture(s, p)
            granted = seconds
            for room, error in posture.limits(hold.meter):
                if room >= granted:
                    continue
                if minimum is not None and room >= minimum and room > 0:
                    granted = room
                else:
                    raise error(seconds, room)
            if hold.seconds == 0:
                s.add(
                    UsageHold(
                        id=hold.id,
                        org_id=p.org_id,
                        key_id=p.key_id,
                        env=p.env,
                        meter=hold.meter,
                        seconds=granted,
                        period=period(),
                        day=day(),
                        expires_at=expires,
                    )
                )
            else:
                await s.execute(
                    update(UsageHold)
                    .where(UsageHold.id == hold.id)
                    .values(seconds=UsageHold.seconds + granted, expires_at=expires)
                )
            await s.commit()
        hold.seconds += granted
        self._credit.drop(p.org_id)
        return granted

    async def renew(self, hold: Hold, ttl: float) -> None:
        """Push back a long-lived hold's expiry (a stream that is still running)."""
        if hold.id is not None and not hold.settled:
            async with self.db.session() as s:
                await s.execute(
                    update(UsageHold).where(UsageHold.id == hold.id).values(expires_at=now_ms() + int(ttl * 1000))
                )
                await s.commit()

    async def release(self, hold: Hold) -> None:
        """Give back a hold whose call failed: nothing is billed."""
        if hold.settled:
            return
        hold.settled = True
        if hold.id is not None:
            async with self.db.session() as s:
                await s.execute(delete(UsageHold).where(UsageHold.id == hold.id))
                await s.commit()
            self._credit.drop(hold.principal.org_id)

    async def settle(
        self, hold: Hold, seconds: float, *, session: AsyncSession | None = None, source: str | None = None
    ) -> float:
        """Turn a hold into the exact usage (0 s records nothing); returns the units recorded.

        With ``session`` the change joins the caller's transaction (a job's completion), and
        ``source`` makes the usage row unique, so it can never be recorded twice.
        """
        if hold.settled:
            return 0.0
        units = float(seconds) if seconds and seconds > 0 and math.isfinite(seconds) else 0.0
        if session is not None:
            await self._settle_in(session, hold, units, source)
        else:
            async with self.db.session() as s:
                await self._settle_in(s, hold, units, source)
                await s.commit()
        hold.settled = True
        self._credit.drop(hold.principal.org_id)
        metrics.billed(hold.meter, units)
        return units

    async def _settle_in(self, s: AsyncSession, hold: Hold, units: float, source: str | None) -> None:
        if hold.id is not None:
            await s.execute(delete(UsageHold).where(UsageHold.id == hold.id))
        if units <= 0:
            return
        p = hold.principal
        row = {
            "org_id": p.org_id,
            "project_id": p.project_id,
            "key_id": p.key_id,
            "env": p.env,
            "product": METERS[hold.meter].product,
            "meter": hold.meter,
            "seconds": units,
            "period": period(),
            "day": day(),
            "source": source,
            "created_at": now_ms(),
        }
        stmt = insert(UsageEvent).values(**row)
        if source is not None:
            stmt = _insert_once(self.db.is_sqlite, row)
        await s.execute(stmt)

    @asynccontextmanager
    async def holding(self, p: Principal, meter: str, seconds: float) -> AsyncIterator[Hold]:
        """``reserve`` for the body of the block; settle inside it, or the hold is released."""
        hold = await self.reserve(p, meter, seconds)
        try:
            yield hold
        finally:
            await self.release(hold)

    # ---- balances ------------------------------------------------------------------------
    async def available_cents(self, p: Principal) -> int:
        """Whole cents of credit left (calls in flight already count), as ``/v1/me`` reports it."""

        async def fetch() -> float:
            async with self.db.session() as s:
                granted = await _granted(s, p.org_id)
                totals = await _totals(s, UsageHold.expires_at > now_ms(), org_id=p.org_id, env="live")
            free = self.free_monthly_grant_cents if self.is_gated(p) else 0
            return granted + free - sum(price_cents(m, t) for (_, m), t in totals.items())

        return math.floor(await self._credit.get(p.org_id, fetch))


async def _granted(s: AsyncSession, org_id: str) -> float:
    return float(
        await s.scalar(select(func.coalesce(func.sum(CreditGrant.cents), 0)).where(CreditGrant.org_id == org_id))
    )


async def _totals(s: AsyncSession, live_holds, **filters: str) -> dict[tuple[str, str], float]:  # noqa: ANN001
    """Seconds per ``(period, meter)`` matching ``filters``: settled usage plus live holds, read in
    one statement (one snapshot even under READ COMMITTED)."""
    parts = [
        select(model.period, model.meter, model.seconds).where(
            *(getattr(model, name) == value for name, value in filters.items()), *extra
        )
        for model, extra in ((UsageEvent, ()), (UsageHold, (live_holds,)))
    ]
    both = union_all(*parts).subquery()
    rows = await s.execute(
        select(both.c.period, both.c.meter, func.sum(both.c.seconds)).group_by(both.c.period, both.c.meter)
    )
    return {(per, meter): float(total or 0.0) for per, meter, total in rows}


def _insert_once(is_sqlite: bool, row: dict):  # noqa: ANN202 - a dialect Insert
    """``INSERT … ON CONFLICT (source) DO NOTHING``: SQLite and PostgreSQL both have it."""
    dialect_insert = sqlite_insert if is_sqlite else pg_insert
    return dialect_insert(UsageEvent).values(**row).on_conflict_do_nothing(index_elements=["source"])
