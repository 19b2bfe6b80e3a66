"""Carrier adapters behind one interface, and :func:`carrier_from_config` to build one from the
operator's configuration (a kind name and a dict, e.g. parsed from settings or sealed in the DB).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyai.telephony.carriers.base import (
    AvailableNumber,
    Capabilities,
    Carrier,
    CarrierError,
    ProvisionedNumber,
    area_code_of,
    is_us_e164,
    validate_e164,
    validate_search,
    validate_us_e164,
)
from pyai.telephony.carriers.local_sip import LocalSipCarrier
from pyai.telephony.carriers.twilio import (
    ACCOUNT_SID,
    DEFAULT_API_BASE,
    DEFAULT_MONTHLY_COST_CENTS,
    TwilioCarrier,
    check_api_base,
)

__all__ = [
    "AvailableNumber",
    "Capabilities",
    "Carrier",
    "CarrierConfigError",
    "CarrierError",
    "LocalSipCarrier",
    "ProvisionedNumber",
    "TwilioCarrier",
    "area_code_of",
    "carrier_from_config",
    "is_us_e164",
    "validate_e164",
    "validate_search",
    "validate_us_e164",
]

KINDS = ("twilio", "local_sip")
_FIELDS = {
    "twilio": ({"account_sid", "auth_token"}, {"api_base", "monthly_cost_cents", "timeout"}),
    "local_sip": (set(), {"numbers", "ranges", "monthly_cost_cents"}),
}


class CarrierConfigError(ValueError):
    """The operator's carrier configuration is wrong; the message names the field (never its
    value when the field is a secret)."""


def carrier_from_config(kind: str, config: Mapping[str, Any]) -> Carrier:
    """A carrier of ``kind`` (``twilio`` or ``local_sip``) from ``config``.

    twilio: ``account_sid`` (AC…), ``auth_token``, optional ``api_base`` (default
    https://api.twilio.com), ``monthly_cost_cents`` (display price, default 115), ``timeout`` (s).
    local_sip: ``numbers`` (list of E.164) and/or ``ranges`` (list of ``"+1…-+1…"``), optional
    ``monthly_cost_cents`` (default 0). Unknown keys are refused so a misspelt key fails loudly.
    """
    if kind not in _FIELDS:
        raise CarrierConfigError(f"kind: unknown carrier {kind!r} (expected one of {', '.join(KINDS)})")
    if not isinstance(config, Mapping):
        raise CarrierConfigError(f"{kind}: configuration must be an object")
    required, optional = _FIELDS[kind]
    for name in sorted(set(config) - required - optional):
        raise CarrierConfigError(f"{kind}.{name}: unknown setting")
    for name in sorted(required - set(config)):
        raise CarrierConfigError(f"{kind}.{name}: required")
    cost = config.get("monthly_cost_cents")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int) or cost < 0):
        raise CarrierConfigError(f"{kind}.monthly_cost_cents: must be a non-negative integer")
    if kind == "twilio":
        return _twilio(config)
    return _local_sip(config)


def _twilio(config: Mapping[str, Any]) -> TwilioCarrier:
    sid, token = config["account_sid"], config["auth_token"]
    if not isinstance(sid, str) or not ACCOUNT_SID.match(sid):
        raise CarrierConfigError("twilio.account_sid: must be AC followed by 32 hex digits")
    if not isinstance(token, str) or not token.strip():
        raise CarrierConfigError("twilio.auth_token: must be a non-empty string")
    api_base = config.get("api_base") or DEFAULT_API_BASE
    try:
        check_api_base(api_base)
    except ValueError as e:
        raise CarrierConfigError(f"twilio.api_base: {e}") from None
    timeout = config.get("timeout", 15.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise CarrierConfigError("twilio.timeout: must be a number of seconds between 0 and 120")
    cost = config.get("monthly_cost_cents")
    return TwilioCarrier(
        sid,
        token,
        api_base=api_base,
        monthly_cost_cents=DEFAULT_MONTHLY_COST_CENTS if cost is None else cost,
        timeout=float(timeout),
    )


def _local_sip(config: Mapping[str, Any]) -> LocalSipCarrier:
    numbers, ranges = config.get("numbers", []), config.get("ranges", [])
    for name, value in (("numbers", numbers), ("ranges", ranges)):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise CarrierConfigError(f"local_sip.{name}: must be a list of strings")
    if not numbers and not ranges:
        raise CarrierConfigError("local_sip.numbers: give at least one number or range")
    try:
        return LocalSipCarrier(numbers, ranges, monthly_cost_cents=config.get("monthly_cost_cents") or 0)
    except ValueError as e:
        raise CarrierConfigError(f"local_sip.{e}") from None
