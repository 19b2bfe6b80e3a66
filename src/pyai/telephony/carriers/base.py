"""The carrier interface every telephony adapter implements, its value types, and number checks.

Carriers differ a lot (a REST API that sells numbers, or an operator's own SIP trunk), so the
interface is the small set of things the API layer needs: find numbers, take one, point it at
PyAI, give it back, and, while a call is live, hang up or transfer. Every failure is one
:class:`CarrierError` whose message is safe to show an API caller, so routes never leak a
carrier's internals or credentials.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

#: A US number: ``+1``, a 3-digit area code (NPA, never starting 0 or 1, as the contract's
#: ``area_code`` pattern says) and 7 more digits.
_US_E164 = re.compile(r"^\+1([2-9][0-9]{2})[0-9]{7}$")
#: Any E.164 number: ``+``, a country code not starting with 0, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_AREA_CODE = re.compile(r"^[2-9][0-9]{2}$")
#: Twilio's ``Contains`` syntax restricted to digits: ``*`` matches any one digit.
_CONTAINS = re.compile(r"^[0-9*]{1,10}$")
MAX_SEARCH_LIMIT = 50


class CarrierError(Exception):
    """A carrier operation failed. ``status`` is an HTTP-like status (the carrier's own when it
    answered, 502/504 when it could not be reached, 400 for bad input, 501 for an operation the
    carrier cannot do); ``message`` is safe to show the API caller; ``code`` is the carrier's
    error code when it gave one (Twilio's numeric codes, e.g. 21422 "number not available")."""

    def __init__(self, status: int, message: str, *, code: int | str | None = None, more_info: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.more_info = more_info

    def __repr__(self) -> str:
        return f"CarrierError(status={self.status}, code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class Capabilities:
    voice: bool = True
    sms: bool = False


@dataclass(frozen=True)
class AvailableNumber:
    """A number the carrier would sell (the contract's ``TelephonyAvailableNumber``)."""

    phone_number: str
    area_code: str | None
    locality: str | None = None
    region: str | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)
    monthly_cost_cents: int = 0
    country: str = "US"

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object, ready for a route to return."""
        return {"object": "telephony.available_number", **asdict(self)}


@dataclass(frozen=True)
class ProvisionedNumber:
    """A number the carrier now holds for us. ``carrier_number_id`` is what later calls take
    (Twilio's ``PN…`` sid); the DB layer stores it next to its own ``pn_…`` id."""

    carrier_number_id: str
    phone_number: str
    area_code: str | None
    capabilities: Capabilities = field(default_factory=Capabilities)
    monthly_cost_cents: int = 0
    country: str = "US"


class Carrier(abc.ABC):
    """One carrier account. Methods are async because the real ones call out over HTTP."""

    #: The ``kind`` name used by :func:`pyai.telephony.carriers.carrier_from_config`.
    kind: str = ""
    #: Whether :meth:`hangup` and :meth:`transfer` work; a bridge that owns its call leg itself
    #: (local SIP) checks this instead of catching a 501.
    supports_call_control: bool = True

    @abc.abstractmethod
    async def search(
        self, area_code: str | None, contains: str | None, limit: int, *, exclude: Collection[str] = ()
    ) -> list[AvailableNumber]:
        """Up to ``limit`` numbers to buy, filtered by area code and digit pattern; numbers in
        ``exclude`` (E.164, e.g. those already provisioned in the DB) are left out."""

    @abc.abstractmethod
    async def provision(self, phone_number: str, voice_url: str) -> ProvisionedNumber:
        """Take ``phone_number`` and send its inbound calls to ``voice_url`` (carrier-side
        recording is never enabled: PyAI's bridge records)."""

    @abc.abstractmethod
    async def set_voice_url(self, carrier_number_id: str, voice_url: str) -> None:
        """Re-point an owned number's inbound calls."""

    @abc.abstractmethod
    async def release(self, carrier_number_id: str) -> bool:
        """Give the number back. Idempotent: ``False`` when it was already gone, ``True`` when
        this call released it; never an error for an unknown or released number."""

    @abc.abstractmethod
    async def hangup(self, call_id: str) -> bool:
        """End a live call; ``False`` when it had already ended."""

    @abc.abstractmethod
    async def transfer(self, call_id: str, to_number: str, *, caller_id: str | None = None) -> None:
        """Move a live call to ``to_number`` (E.164); PyAI's leg ends."""


# ---- number checks ------------------------------------------------------------------------------


def validate_us_e164(number: str, field_name: str = "phone_number") -> str:
    """``number`` if it is a US E.164 number (``+1`` and 10 digits), else ``CarrierError(400)``
    naming the field. Search and provision only deal in US local numbers (the contract says so)."""
    if not isinstance(number, str) or not _US_E164.match(number):
        raise CarrierError(400, f"{field_name} must be a US number in E.164 form, like +14155550123")
    return number


def validate_e164(number: str, field_name: str = "to_number") -> str:
    """``number`` if it is any E.164 number (transfer targets may be abroad), else ``CarrierError(400)``."""
    if not isinstance(number, str) or not _E164.match(number):
        raise CarrierError(400, f"{field_name} must be a number in E.164 form, like +14155550123")
    return number


def is_us_e164(number: object) -> bool:
    return isinstance(number, str) and bool(_US_E164.match(number))


def area_code_of(number: str) -> str | None:
    """The NPA of a US E.164 number, ``None`` for anything else."""
    m = _US_E164.match(number) if isinstance(number, str) else None
    return m.group(1) if m else None


def validate_search(area_code: str | None, contains: str | None, limit: int) -> None:
    """The contract's limits on a search, checked before any carrier is asked (``CarrierError(400)``)."""
    if area_code is not None and (not isinstance(area_code, str) or not _AREA_CODE.match(area_code)):
        raise CarrierError(400, "area_code must be a 3-digit US area code, like 415")
    if contains is not None and (not isinstance(contains, str) or not _CONTAINS.match(contains)):
        raise CarrierError(400, "contains must be 1-10 digits, where * matches any one digit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise CarrierError(400, f"limit must be between 1 and {MAX_SEARCH_LIMIT}")


def matches_contains(number: str, contains: str) -> bool:
    """Twilio's ``Contains`` rule on digits: the pattern (``*`` = any digit) occurs anywhere in the
    number's digits. Used by carriers that search their own pool."""
    digits = number.lstrip("+")
    pattern = re.compile(re.escape(contains).replace(r"\*", "[0-9]"))
    return bool(pattern.search(digits))


def validate_voice_url(url: str) -> str:
    """A voice webhook must be an absolute http(s) URL (carriers refuse anything else)."""
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/?#]+[^\s]*$", url):
        raise CarrierError(400, "voice_url must be an absolute http(s) URL")
    return url
