"""Meters, list prices and the pulse rule: the arithmetic of billing, with no I/O.

Money is derived, never stored per call: each meter's invoice-period (calendar month, UTC) total
is rounded up once to its pulse (1 s for AI products, 60 s for telephony) and priced at the
contract's list price. So many short calls are summed and rounded a single time, and an empty
or failed call (0 s) bills nothing. One *unit* is one metered second.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


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


def period(ts: float | None = None) -> str:
    """The invoice period (``YYYY-MM``, UTC) a timestamp falls in."""
    return time.strftime("%Y-%m", time.gmtime(time.time() if ts is None else ts))


def day(ts: float | None = None) -> str:
    """The UTC day (``YYYY-MM-DD``) a timestamp falls in: the test keys' daily cap resets on it."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if ts is None else ts))


def seconds_to_midnight() -> int:
    return max(1, int(86400 - time.time() % 86400))


def price_cents(meter: str, total_seconds: float) -> float:
    """Price one meter's invoice-period total, rounding up to the pulse exactly once."""
    m = METERS[meter]
    if total_seconds <= 0:
        return 0.0
    billed = math.ceil(round(total_seconds, 6) / m.pulse_seconds) * m.pulse_seconds
    return billed / 60.0 * m.cents_per_minute


def affordable_seconds(meter: str, period_total: float, cents: float) -> float:
    """How many more seconds of ``meter`` fit in ``cents``, given the meter's period total so far.

    The pulse is applied to the total, so the answer accounts for the part of a pulse already paid.
    """
    if cents < 0:
        return 0.0
    m = METERS[meter]
    budget = price_cents(meter, period_total) + cents
    billable = math.floor(round(budget * 60.0 / m.cents_per_minute / m.pulse_seconds, 9)) * m.pulse_seconds
    return max(0.0, billable - max(period_total, 0.0))


def format_units(seconds: float) -> str:
    """The ``x-pyai-units`` header value: metered seconds, millisecond precision."""
    return f"{max(seconds, 0.0):.3f}"
