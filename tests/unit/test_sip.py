"""The SIP bridge's protocol pieces without a network: message parsing (compact and folded
headers, bodies cut at Content-Length), responses (Vias copied, our To tag), dialled numbers,
SDP offer/answer, RTP framing and keypad events, and the server's answers to requests that carry
no call (OPTIONS, unknown BYE, garbage, unsupported methods)."""

from __future__ import annotations

import asyncio
import struct

import pytest

from pyai.telephony.audiosocket import Dtmf
from pyai.telephony.sip import message, rtp, sdp
from pyai.telephony.sip.server import SipServer

INVITE = (
    b"INVITE sip:+14155550123@10.0.0.2:5060 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKb\r\n"
    b"f: <sip:2125550100@10.0.0.1>;tag=abc\r\n"
    b"t: <sip:+14155550123@10.0.0.2>\r\n"
    b"i: call-1@10.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Subject: a long\r\n  folded subject\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 5\r\n\r\n"
    b"v=0\r\nextra bytes past the length"
)
OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"
)


def test_a_request_parses_with_compact_and_folded_headers_and_its_body_cut_at_content_length() -> None:
    msg = message.parse(INVITE)
    assert (msg.method, msg.uri, msg.call_id, msg.cseq) == (
        "INVITE",
        "sip:+14155550123@10.0.0.2:5060",
        "call-1@10.0.0.1",
        (1, "INVITE"),
    )
    assert len(msg.all("via")) == 2 and msg.get("subject") == "a long folded subject"
    assert msg.body == b"v=0\r\n"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        INVITE.replace(b"l: 5", b"l: 500"),
        INVITE.replace(b"i: call-1@10.0.0.1\r\n", b""),
    ],
)
def test_what_is_not_sip_is_refused(data: bytes) -> None:
    with pytest.raises(message.SipParseError):
        message.parse(data)


def test_a_response_copies_the_vias_and_adds_our_to_tag_once() -> None:
    msg = message.parse(INVITE)
    ok = message.parse(message.response(msg, 200, to_tag="t1", body=b"x").encode())
    assert (ok.status, ok.reason, ok.all("via"), ok.body) == (200, "OK", msg.all("via"), b"x")
    assert message.tag_of(ok.get("to") or "") == "t1" and ok.get("from") == msg.get("from")
    again = message.response(ok_like(msg, ok), 200, to_tag="t2")
    assert message.tag_of(again.get("to") or "") == "t1"


def ok_like(request: message.SipMessage, answered: message.SipMessage) -> message.SipMessage:
    headers = [(k, answered.get("to") or "") if k == "to" else (k, v) for k, v in request.headers]
    return message.SipMessage(method=request.method, uri=request.uri, headers=headers)


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("sip:+14155550123@pbx", "+14155550123"),
        ("sip:4155550123@pbx", "+14155550123"),
        ("sips:442071234567@x;user=phone", "+442071234567"),
        ("sip:alice@pbx", None),
        ("tel:+1", None),
    ],
)
def test_the_dialled_number_is_the_uri_user_part(uri: str, number: str | None) -> None:
    assert message.e164(message.user_of(uri)) == number


def test_the_offer_picks_the_first_g711_codec_and_telephone_events_and_the_answer_mirrors_them() -> None:
    offer = sdp.parse_offer(OFFER)
    assert (offer.address, offer.port, offer.codec, offer.payload_type, offer.event_payload_type) == (
        "10.0.0.1",
        4000,
        "pcma",
        8,
        96,
    )
    answer = sdp.answer(offer, "10.0.0.2", 5004).decode()
    assert (
        "m=audio 5004 RTP/AVP 8 96" in answer
        and "c=IN IP4 10.0.0.2" in answer
        and "a=rtpmap:96 telephone-event/8000" in answer
    )


@pytest.mark.parametrize(
    "body",
    [
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n",
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\n",
        b"v=0\r\nm=video 4000 RTP/AVP 0\r\n",
        b"",
    ],
)
def test_an_offer_without_usable_audio_is_not_acceptable(body: bytes) -> None:
    with pytest.raises(sdp.SdpError):
        sdp.parse_offer(body)


def test_rtp_packets_round_trip_and_csrcs_extensions_and_padding_are_skipped() -> None:
    assert rtp.unpack(rtp.pack(0, 1, 160, 7, b"\xff" * 160)) == (0, 160, b"\xff" * 160)
    extended = (
        struct.pack("!BBHII", 0x80 | 0x10 | 0x20 | 1, 8, 1, 2, 3)
        + b"CSRC"
        + b"\xbe\xde\x00\x01"
        + b"EXT!"
        + b"ab"
        + b"\x00\x02"
    )
    assert rtp.unpack(extended) == (8, 2, b"ab")
    assert rtp.unpack(b"\x00" * 20) is None and rtp.unpack(b"\x80") is None


def test_a_key_press_is_reported_once_however_many_event_packets_carry_it() -> None:
    async def main() -> list:
        offer = sdp.parse_offer(OFFER)
        leg = rtp.RtpLeg(offer, lambda: None)
        for end in (0, 0, 0x80, 0x80):  # RFC 4733: updates, then the end packet sent three times
            leg.datagram_received(rtp.pack(96, 5, 800, 1, bytes([11, end, 0, 160])), ("10.0.0.1", 4000))
        leg.datagram_received(rtp.pack(8, 6, 960, 1, b"\xd5" * 160), ("10.0.0.1", 4000))
        leg.remote_hangup()
        return [e async for e in leg]

    events = asyncio.run(main())
    assert events[0] == Dtmf("#") and isinstance(events[1], bytes) and len(events[1]) == 320 and len(events) == 3


class Wire:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))

    def get_extra_info(self, name: str) -> tuple[str, int]:
        return ("127.0.0.1", 5060)


def test_requests_outside_a_call_get_their_answers_and_garbage_gets_none() -> None:
    async def never(call: object) -> None:
        raise AssertionError("no call should be routed")

    server = SipServer("127.0.0.1", "127.0.0.1", never)
    wire = Wire()
    server.connection_made(wire)  # type: ignore[arg-type]
    request = INVITE.split(b"\r\n\r\n")[0].replace(b"l: 5", b"l: 0") + b"\r\n\r\n"
    server.datagram_received(b"\x00\x01garbage", ("10.0.0.1", 5060))
    server.datagram_received(b"\r\n\r\n", ("10.0.0.1", 5060))
    for method in (b"OPTIONS", b"BYE", b"REGISTER"):
        server.datagram_received(request.replace(b"INVITE", method), ("10.0.0.1", 5060))
    statuses = [message.parse(data).status for data, _ in wire.sent]
    assert statuses == [200, 481, 405] and all(addr == ("10.0.0.1", 5060) for _, addr in wire.sent)
    assert message.parse(wire.sent[2][0]).get("allow") == message.ALLOW


def test_an_invite_without_g711_is_not_acceptable_here() -> None:
    async def never(call: object) -> None:
        raise AssertionError("no call should be routed")

    server = SipServer("127.0.0.1", "127.0.0.1", never)
    wire = Wire()
    server.connection_made(wire)  # type: ignore[arg-type]
    body = b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n"
    invite = INVITE.split(b"\r\n\r\n")[0].replace(b"l: 5", f"l: {len(body)}".encode()) + b"\r\n\r\n" + body
    server.datagram_received(invite, ("10.0.0.1", 5060))
    answers = [message.parse(data) for data, _ in wire.sent]
    assert [a.status for a in answers] == [100, 488] and "PCMU" in (answers[1].get("warning") or "")
    assert not server.dialogs
