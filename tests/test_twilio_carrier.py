"""The Twilio carrier adapter over real HTTP against the local double (tests/twilio_double.py):
exact requests (auth, paths, form fields, no recording ever), Twilio's answers mapped to our
types, and Twilio's errors surfaced as CarrierError with its status, code and message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyai.telephony import twiml
from pyai.telephony.carriers import CarrierError, TwilioCarrier, carrier_from_config
from tests.twilio_double import TwilioDouble

VOICE_URL = "https://pyai.example.com/v1/telephony/twilio/voice"


@pytest.fixture(scope="module")
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as d:
        yield d


@pytest.fixture
def tw(double: TwilioDouble) -> Iterator[TwilioDouble]:
    double.reset()
    yield double
    assert double.problems == []


@pytest.fixture
def carrier(tw: TwilioDouble) -> TwilioCarrier:
    built = carrier_from_config(
        "twilio", {"account_sid": tw.account_sid, "auth_token": tw.auth_token, "api_base": tw.url}
    )
    assert isinstance(built, TwilioCarrier)
    return built


async def test_search_maps_twilio_fields_and_sends_the_filters(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    found = await carrier.search("415", "555*1", 2)
    assert [n.phone_number for n in found] == ["+14155550123", "+14155550177"]
    first = found[0].to_dict()
    assert first == {
        "object": "telephony.available_number",
        "phone_number": "+14155550123",
        "area_code": "415",
        "locality": "San Francisco",
        "region": "CA",
        "capabilities": {"voice": True, "sms": True},
        "monthly_cost_cents": 115,
        "country": "US",
    }
    (request,) = tw.requests
    assert request.method == "GET"
    assert request.path == f"/2010-04-01/Accounts/{tw.account_sid}/AvailablePhoneNumbers/US/Local.json"
    assert request.query == {"AreaCode": ["415"], "Contains": ["555*1"], "PageSize": ["2"], "VoiceEnabled": ["true"]}


async def test_search_leaves_out_excluded_numbers_and_unset_filters(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    found = await carrier.search(None, None, 20, exclude={"+14155550123"})
    assert "+14155550123" not in [n.phone_number for n in found]
    assert len(found) == 4
    assert tw.requests[0].query == {"PageSize": ["20"], "VoiceEnabled": ["true"]}


async def test_search_input_is_checked_before_calling_twilio(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    for args, field in [(("41", None, 5), "area_code"), ((None, "12a", 5), "contains"), ((None, None, 51), "limit")]:
        with pytest.raises(CarrierError) as e:
            await carrier.search(*args)
        assert e.value.status == 400 and field in e.value.message
    assert tw.requests == []


async def test_provision_posts_the_exact_form_and_returns_the_pn_sid(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    number = await carrier.provision("+15105550142", VOICE_URL)
    assert number.carrier_number_id.startswith("PN") and len(number.carrier_number_id) == 34
    assert (number.phone_number, number.area_code, number.monthly_cost_cents) == ("+15105550142", "510", 115)
    assert (number.capabilities.voice, number.capabilities.sms) == (True, True)
    (request,) = tw.requests
    assert (request.method, request.path) == (
        "POST",
        f"/2010-04-01/Accounts/{tw.account_sid}/IncomingPhoneNumbers.json",
    )
    assert request.form == {"PhoneNumber": ["+15105550142"], "VoiceUrl": [VOICE_URL], "VoiceMethod": ["POST"]}
    assert tw.numbers[number.carrier_number_id]["voice_url"] == VOICE_URL


async def test_provision_of_a_taken_number_surfaces_twilios_error(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    await carrier.provision("+15105550142", VOICE_URL)
    with pytest.raises(CarrierError) as e:
        await carrier.provision("+15105550142", VOICE_URL)
    assert (e.value.status, e.value.code) == (400, 21422)
    assert e.value.message == "Twilio error 21422: PhoneNumber requested is not available"
    assert e.value.more_info == "https://www.twilio.com/docs/errors/21422"


async def test_provision_refuses_a_non_us_number_without_calling(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    for bad in ["+442071838750", "4155550123", "+1415555012", "+10155550123"]:
        with pytest.raises(CarrierError, match="phone_number"):
            await carrier.provision(bad, VOICE_URL)
    assert tw.requests == []


async def test_set_voice_url(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    number = await carrier.provision("+14155550123", VOICE_URL)
    await carrier.set_voice_url(number.carrier_number_id, "https://other.example.com/voice")
    request = tw.requests[-1]
    assert request.path.endswith(f"/IncomingPhoneNumbers/{number.carrier_number_id}.json")
    assert request.form == {"VoiceUrl": ["https://other.example.com/voice"], "VoiceMethod": ["POST"]}
    assert tw.numbers[number.carrier_number_id]["voice_url"] == "https://other.example.com/voice"


async def test_release_is_idempotent(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    number = await carrier.provision("+14155550123", VOICE_URL)
    assert await carrier.release(number.carrier_number_id) is True
    assert number.carrier_number_id not in tw.numbers
    assert await carrier.release(number.carrier_number_id) is False  # Twilio's 404: already gone
    deletes = tw.seen("DELETE")
    assert [r.path for r in deletes] == [
        f"/2010-04-01/Accounts/{tw.account_sid}/IncomingPhoneNumbers/{number.carrier_number_id}.json"
    ] * 2


async def test_an_id_that_is_not_a_sid_never_reaches_a_url(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    for call in (carrier.release("../Calls/CA1"), carrier.set_voice_url("PN1", VOICE_URL), carrier.hangup("x")):
        with pytest.raises(CarrierError) as e:
            await call
        assert e.value.status == 400
    assert tw.requests == []


async def test_hangup_completes_the_call_and_is_idempotent(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    sid = tw.add_call()
    assert await carrier.hangup(sid) is True
    assert tw.calls[sid]["status"] == "completed"
    assert tw.requests[-1].form == {"Status": ["completed"]}
    assert tw.requests[-1].path == f"/2010-04-01/Accounts/{tw.account_sid}/Calls/{sid}.json"
    assert await carrier.hangup(sid) is False  # Twilio 21220: the call already ended


async def test_transfer_updates_the_call_with_dial_twiml(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    sid = tw.add_call()
    await carrier.transfer(sid, "+12125550100", caller_id="+14155550123")
    expected = '<Response><Dial callerId="+14155550123">+12125550100</Dial></Response>'
    assert tw.calls[sid]["twiml"] == expected == twiml.dial("+12125550100", "+14155550123")
    assert tw.requests[-1].form == {"Twiml": [expected]}


async def test_transfer_of_an_ended_call_is_an_error(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    sid = tw.add_call(status="completed")
    with pytest.raises(CarrierError) as e:
        await carrier.transfer(sid, "+12125550100")
    assert (e.value.status, e.value.code) == (400, 21220)
    with pytest.raises(CarrierError, match="to_number"):
        await carrier.transfer(sid, "sip:alice@example.com")


async def test_bad_credentials_are_a_401_with_twilios_message(tw: TwilioDouble) -> None:
    wrong = TwilioCarrier(tw.account_sid, "not-the-token", api_base=tw.url)
    with pytest.raises(CarrierError) as e:
        await wrong.search(None, None, 5)
    assert (e.value.status, e.value.code) == (401, 20003)
    assert e.value.message == "Twilio error 20003: Authentication Error - invalid username"
    assert "not-the-token" not in repr(wrong) and "not-the-token" not in repr(e.value)


async def test_a_scripted_4xx_is_surfaced_without_the_account_sid(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    tw.fail_next(429, 20429, f"Too Many Requests for /Accounts/{tw.account_sid}/Calls")
    with pytest.raises(CarrierError) as e:
        await carrier.hangup(tw.add_call())
    assert (e.value.status, e.value.code) == (429, 20429)
    assert tw.account_sid not in e.value.message and "AC…" in e.value.message


async def test_an_unreachable_twilio_is_a_502() -> None:
    carrier = TwilioCarrier("AC" + "0" * 32, "token", api_base="http://127.0.0.1:9", timeout=2)
    with pytest.raises(CarrierError) as e:
        await carrier.search(None, None, 1)
    assert e.value.status == 502 and e.value.message == "could not reach Twilio"


def test_the_secret_stays_out_of_reprs(tw: TwilioDouble, carrier: TwilioCarrier) -> None:
    assert tw.auth_token not in repr(carrier) and tw.auth_token not in repr(vars(carrier))
