"""SDP offer/answer for one audio stream (RFC 4566, RFC 3264): read the caller's offer, pick G.711
(PCMU, else PCMA: the phone network's own codecs at 8 kHz, so no transcoding beyond companding)
and RFC 4733 telephone-events when offered, and write the answer."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

STATIC = {0: "pcmu", 8: "pcma"}  # RFC 3551 static payload types


class SdpError(ValueError):
    """The offer has no usable audio stream (answered ``488 Not Acceptable Here``)."""


@dataclass(frozen=True)
class Offer:
    address: str  # where the caller wants our RTP
    port: int
    codec: str  # "pcmu" | "pcma"
    payload_type: int
    event_payload_type: int | None  # telephone-event, when offered


def parse_offer(body: bytes) -> Offer:
    address, port, formats = None, None, []
    rtpmap: dict[int, str] = {}
    in_audio = False
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("c=") and (address is None or in_audio):
            parts = line[2:].split()
            if len(parts) == 3 and parts[0] == "IN" and parts[1] == "IP4":
                address = parts[2].split("/")[0]
        elif line.startswith("m="):
            parts = line[2:].split()
            in_audio = parts[:1] == ["audio"] and port is None
            if in_audio and len(parts) >= 4 and parts[1].isdigit() and parts[2].startswith("RTP/AVP"):
                port, formats = int(parts[1]), [int(f) for f in parts[3:] if f.isdigit()]
        elif line.startswith("a=rtpmap:") and in_audio:
            pt, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            if pt.isdigit():
                rtpmap[int(pt)] = encoding.lower()
    if address is None or port is None:
        raise SdpError("the offer has no IPv4 audio stream")
    if port == 0:
        raise SdpError("the offer's audio stream is disabled (port 0)")
    named = {pt: rtpmap.get(pt, STATIC.get(pt, "")).split("/")[0] for pt in formats}
    codec_pt = next((pt for pt in formats if named[pt] in ("pcmu", "pcma")), None)
    if codec_pt is None:
        raise SdpError("the offer has neither PCMU nor PCMA")
    events = next((pt for pt in formats if named[pt] == "telephone-event"), None)
    return Offer(address, port, named[codec_pt], codec_pt, events)


def answer(offer: Offer, address: str, port: int) -> bytes:
    session = secrets.randbelow(2**31)
    formats = [offer.payload_type] + ([offer.event_payload_type] if offer.event_payload_type is not None else [])
    lines = [
        "v=0",
        f"o=pyai {session} {session} IN IP4 {address}",
        "s=pyai",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, formats))}",
        f"a=rtpmap:{offer.payload_type} {offer.codec.upper()}/8000",
    ]
    if (events := offer.event_payload_type) is not None:
        lines += [f"a=rtpmap:{events} telephone-event/8000", f"a=fmtp:{events} 0-15"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()
