"""The local SIP carrier: a pool of the operator's own numbers, searched without a network."""

from __future__ import annotations

import pytest

from pyai.telephony.carriers import CarrierConfigError, CarrierError, LocalSipCarrier, carrier_from_config
from pyai.telephony.carriers.local_sip import parse_pool

VOICE_URL = "https://pyai.example.com/voice"


def pool() -> LocalSipCarrier:
    built = carrier_from_config(
        "local_sip", {"numbers": ["+12125550100", "+14155550150"], "ranges": ["+14155550100-+14155550109"]}
    )
    assert isinstance(built, LocalSipCarrier)
    return built


def test_numbers_and_ranges_make_one_sorted_pool() -> None:
    carrier = pool()
    assert len(carrier.pool) == 12
    assert carrier.pool[0] == "+12125550100" and carrier.pool[-1] == "+14155550150"
    assert parse_pool(["+14155550100"], ["+14155550100-+14155550101"]) == ["+14155550100", "+14155550101"]


async def test_search_filters_by_area_code_pattern_and_numbers_in_use() -> None:
    carrier = pool()
    found = await carrier.search("415", None, 50, exclude={"+14155550100", "+14155550101"})
    assert [n.phone_number for n in found][:2] == ["+14155550102", "+14155550103"]
    assert len(found) == 9
    assert all(n.area_code == "415" and n.capabilities.voice and not n.capabilities.sms for n in found)
    assert [n.phone_number for n in await carrier.search(None, "0*50", 5)] == ["+14155550150"]
    assert [n.phone_number for n in await carrier.search(None, None, 2)] == ["+12125550100", "+14155550100"]
    assert await carrier.search("510", None, 5) == []
    assert (await carrier.search(None, None, 1))[0].to_dict()["monthly_cost_cents"] == 0


async def test_provision_and_release_need_no_network() -> None:
    carrier = pool()
    number = await carrier.provision("+14155550105", VOICE_URL)
    assert (number.carrier_number_id, number.phone_number, number.area_code) == ("+14155550105",) * 2 + ("415",)
    await carrier.set_voice_url(number.carrier_number_id, VOICE_URL)
    assert await carrier.release(number.carrier_number_id) is True
    assert await carrier.release(number.carrier_number_id) is True  # idempotent
    with pytest.raises(CarrierError) as e:
        await carrier.provision("+14155550199", VOICE_URL)
    assert (e.value.status, e.value.code) == (400, "not_in_pool")


async def test_call_control_is_reported_unsupported() -> None:
    carrier = pool()
    assert carrier.supports_call_control is False
    with pytest.raises(CarrierError) as e:
        await carrier.hangup("any")
    assert e.value.status == 501
    with pytest.raises(CarrierError) as e:
        await carrier.transfer("any", "+12125550100")
    assert e.value.status == 501


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "local_sip.numbers"),
        ({"numbers": "+14155550100"}, "local_sip.numbers"),
        ({"numbers": ["+4420718387"]}, "local_sip.numbers[0]"),
        ({"ranges": ["+14155550100"]}, "local_sip.ranges[0]"),
        ({"ranges": ["+14155550109-+14155550100"]}, "local_sip.ranges[0]"),
        ({"ranges": ["+14150000000-+14159999999"]}, "local_sip.ranges[0]"),
        ({"numbers": ["+14155550100"], "monthly_cost_cents": -1}, "local_sip.monthly_cost_cents"),
        ({"numbers": ["+14155550100"], "number": []}, "local_sip.number"),
    ],
)
def test_config_errors_name_the_field(config: dict, field: str) -> None:
    with pytest.raises(CarrierConfigError) as e:
        carrier_from_config("local_sip", config)
    assert str(e.value).startswith(field + ":")
