"""Number checks shared by every carrier, and building carriers from configuration."""

from __future__ import annotations

import pytest

from pyai.telephony.carriers import (
    CarrierConfigError,
    CarrierError,
    TwilioCarrier,
    area_code_of,
    carrier_from_config,
    is_us_e164,
    validate_e164,
    validate_search,
    validate_us_e164,
)
from pyai.telephony.carriers.base import matches_contains

SID = "AC" + "a1" * 16


@pytest.mark.parametrize("number", ["+14155550123", "+12125550100", "+19995550000"])
def test_us_numbers(number: str) -> None:
    assert validate_us_e164(number) == number and is_us_e164(number)
    assert area_code_of(number) == number[2:5]


@pytest.mark.parametrize(
    "number",
    ["14155550123", "+1415555012", "+141555501234", "+10155550123", "+11155550123", "+1 415 555 0123", "+4420"],
)
def test_not_us_numbers(number: str) -> None:
    assert not is_us_e164(number) and area_code_of(number) is None
    with pytest.raises(CarrierError) as e:
        validate_us_e164(number)
    assert e.value.status == 400 and "phone_number" in e.value.message


def test_any_e164_for_transfers() -> None:
    assert validate_e164("+442071838750") == "+442071838750"
    for bad in ["+0123456789", "442071838750", "+1234567890123456", "sip:a@b"]:
        with pytest.raises(CarrierError, match="to_number"):
            validate_e164(bad)


def test_search_limits_follow_the_contract() -> None:
    validate_search("415", "55*1", 50)
    validate_search(None, None, 1)
    for args in [
        ("015", None, 5),
        ("4155", None, 5),
        (None, "", 5),
        (None, "abc", 5),
        (None, None, 0),
        (None, None, True),
    ]:
        with pytest.raises(CarrierError):
            validate_search(*args)


def test_contains_uses_twilios_wildcard() -> None:
    assert matches_contains("+14155550123", "0123")
    assert matches_contains("+14155550123", "5*5")
    assert matches_contains("+14155550123", "1415")  # the country code counts, as digits
    assert not matches_contains("+14155550123", "999")


def test_twilio_from_config() -> None:
    carrier = carrier_from_config("twilio", {"account_sid": SID, "auth_token": "secret-token"})
    assert isinstance(carrier, TwilioCarrier)
    assert carrier.api_base == "https://api.twilio.com" and carrier.monthly_cost_cents == 115
    assert "secret-token" not in repr(carrier)


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("telnyx", {}, "kind"),
        ("twilio", {"auth_token": "t"}, "twilio.account_sid"),
        ("twilio", {"account_sid": "AC123", "auth_token": "t"}, "twilio.account_sid"),
        ("twilio", {"account_sid": SID}, "twilio.auth_token"),
        ("twilio", {"account_sid": SID, "auth_token": ""}, "twilio.auth_token"),
        ("twilio", {"account_sid": SID, "auth_token": "t", "api_base": "http://api.twilio.com"}, "twilio.api_base"),
        ("twilio", {"account_sid": SID, "auth_token": "t", "api_base": "ftp://x"}, "twilio.api_base"),
        ("twilio", {"account_sid": SID, "auth_token": "t", "timeout": 0}, "twilio.timeout"),
        ("twilio", {"account_sid": SID, "auth_token": "t", "authToken": "t"}, "twilio.authToken"),
    ],
)
def test_config_errors_name_the_field_never_the_secret(kind: str, config: dict, field: str) -> None:
    with pytest.raises(CarrierConfigError) as e:
        carrier_from_config(kind, config)
    assert str(e.value).startswith(field + ":")
    assert "secret" not in str(e.value)


def test_http_api_base_is_only_for_a_loopback_double() -> None:
    carrier = carrier_from_config("twilio", {"account_sid": SID, "auth_token": "t", "api_base": "http://127.0.0.1:8/"})
    assert isinstance(carrier, TwilioCarrier) and carrier.api_base == "http://127.0.0.1:8"
