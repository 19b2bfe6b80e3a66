"""TwiML built by escaping: caller- and tenant-supplied values can never change the document."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pyai.telephony import twiml


def test_connect_stream_carries_per_call_data_in_parameters() -> None:
    doc = twiml.connect_stream("wss://pyai.example.com/v1/telephony/twilio/stream", {"token": "t.1", "agent": "ag_1"})
    assert doc == (
        '<Response><Connect><Stream url="wss://pyai.example.com/v1/telephony/twilio/stream">'
        '<Parameter name="token" value="t.1"/><Parameter name="agent" value="ag_1"/>'
        "</Stream></Connect></Response>"
    )


def test_parameters_are_escaped() -> None:
    hostile = {'a"b': "<x/>&'\"\n\x00end", "n": "ok"}
    doc = twiml.connect_stream("wss://h/s", hostile, status_callback="https://h/cb?a=1&b=2")
    stream = ET.fromstring(doc).find("Connect/Stream")
    assert stream is not None and stream.get("statusCallback") == "https://h/cb?a=1&b=2"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {'a"b': "<x/>&'\"\nend", "n": "ok"}  # NUL cannot exist in XML, so it is dropped


@pytest.mark.parametrize("url", ["ws://h/s", "https://h/s", "wss://h/s?token=1", "wss://h/s#x", "wss:///s"])
def test_stream_url_must_be_wss_without_query(url: str) -> None:
    with pytest.raises(ValueError):
        twiml.connect_stream(url, {})


def test_dial_hangup_and_refusal() -> None:
    assert twiml.dial("+14155550123") == "<Response><Dial>+14155550123</Dial></Response>"
    assert twiml.dial("+14155550123", "+12125550100") == (
        '<Response><Dial callerId="+12125550100">+14155550123</Dial></Response>'
    )
    assert twiml.hangup() == "<Response><Hangup/></Response>"
    refusal = twiml.say_and_hangup("Sorry <b>&</b> goodbye")
    assert refusal == "<Response><Say>Sorry &lt;b&gt;&amp;&lt;/b&gt; goodbye</Say><Hangup/></Response>"
    assert ET.fromstring(refusal).findtext("Say") == "Sorry <b>&</b> goodbye"


@pytest.mark.parametrize("number", ["sip:a@b.com", "client:bob", "+1415</Dial><Play>x", "4155550123"])
def test_dial_takes_only_e164(number: str) -> None:
    with pytest.raises(ValueError):
        twiml.dial(number)
    with pytest.raises(ValueError):
        twiml.dial("+14155550123", caller_id=number)
