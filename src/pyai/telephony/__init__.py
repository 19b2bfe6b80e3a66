"""Telephony: carrier adapters (number search/provision/release, live-call control) and the Twilio
helpers the media bridge needs (webhook signatures, TwiML).

This package is a library with no database or routes: the API layer owns which org holds which
number and calls a :class:`~pyai.telephony.carriers.Carrier` for the carrier side of each change.
"""

from pyai.telephony.carriers import (
    AvailableNumber,
    Capabilities,
    Carrier,
    CarrierConfigError,
    CarrierError,
    ProvisionedNumber,
    carrier_from_config,
)

__all__ = [
    "AvailableNumber",
    "Capabilities",
    "Carrier",
    "CarrierConfigError",
    "CarrierError",
    "ProvisionedNumber",
    "carrier_from_config",
]
