"""The media of one SIP call: RTP (RFC 3550) with G.711 audio and RFC 4733 keypad events, over a
UDP socket of its own.

An :class:`RtpLeg` is a call leg as the PBX bridge uses it (``realtime/pbx_bridge.py``): iterate it
for caller audio (8 kHz PCM16), :class:`Dtmf` and finally :class:`Hangup`; ``send_audio`` sends
agent audio as 20 ms packets; ``hangup`` ends the call (the SIP server then sends ``BYE``). RTP is
symmetric: once the caller's first packet arrives, audio goes back to where it came from (which
survives a NAT between PBX and us better than the SDP's address).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import struct
from collections.abc import AsyncIterator, Callable

import numpy as np

from pyai.audio.g711 import alaw_encode, g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16
from pyai.telephony.audiosocket import CallEvent, Dtmf, Hangup
from pyai.telephony.sip.sdp import Offer
from pyai.telephony.sip.udp import UdpEndpoint

HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
EVENT_KEYS = "0123456789*#ABCD"  # RFC 4733 §3.2: events 0-15
MAX_BUFFERED = 10 * 8000 * 2  # caller audio held for a bridge that is not reading (10 s)
#: A live call sends a packet every 20 ms (silence included): this long without one is a dead peer.
SILENT_PEER_S = 30.0
log = logging.getLogger("pyai.telephony.sip")


def pack(payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    second = (0x80 if marker else 0) | payload_type
    return HEADER.pack(0x80, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


def unpack(packet: bytes) -> tuple[int, int, bytes] | None:
    """``(payload type, timestamp, payload)`` of an RTP packet, or None if it is not one."""
    if len(packet) < HEADER.size or packet[0] >> 6 != 2:
        return None
    first, second, _, timestamp, _ = HEADER.unpack_from(packet)
    start = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension: skip it
        if len(packet) < start + 4:
            return None
        start += 4 + 4 * struct.unpack_from("!H", packet, start + 2)[0]
    end = len(packet)
    if first & 0x20 and end > start:  # padding: its length is the last byte
        end -= packet[-1]
    return (second & 0x7F, timestamp, packet[start:end]) if end >= start else None


class RtpLeg(UdpEndpoint):
    """One call's RTP socket; made by :meth:`open`, closed by :meth:`close`."""

    def __init__(self, offer: Offer, on_hangup: Callable[[], None]) -> None:
        super().__init__()
        self.offer = offer
        self.remote = (offer.address, offer.port)
        self.on_hangup = on_hangup  # the SIP side: send BYE
        self._latched = False
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._first = True
        self._pending = b""
        self._inbox: collections.deque[bytes | Dtmf] = collections.deque()
        self._buffered = 0
        self._ready = asyncio.Event()
        self._end: Hangup | None = None
        self._last_event: int | None = None  # timestamp of the last keypad event reported

    @classmethod
    async def open(cls, offer: Offer, host: str, on_hangup: Callable[[], None]) -> RtpLeg:
        loop = asyncio.get_running_loop()
        _, leg = await loop.create_datagram_endpoint(lambda: cls(offer, on_hangup), local_addr=(host, 0))
        return leg

    # ---- the socket ---------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._end is not None:
            return
        packet = unpack(data)
        if packet is None:
            return
        if not self._latched:
            self.remote, self._latched = addr, True
        payload_type, timestamp, payload = packet
        if payload_type == self.offer.payload_type and payload:
            pcm = float_to_pcm16(g711_decode(payload, f"g711_{'ulaw' if self.offer.codec == 'pcmu' else 'alaw'}"))
            if self._buffered + len(pcm) * 2 <= MAX_BUFFERED:
                self._inbox.append(pcm.tobytes())
                self._buffered += len(pcm) * 2
        elif payload_type == self.offer.event_payload_type and len(payload) >= 4:
            if payload[0] < len(EVENT_KEYS) and timestamp != self._last_event:  # one report per key press
                self._last_event = timestamp
                self._inbox.append(Dtmf(EVENT_KEYS[payload[0]]))
        self._ready.set()

    def error_received(self, exc: Exception) -> None:
        log.debug("rtp socket error: %s", exc)

    # ---- the leg ------------------------------------------------------------------------------
    async def __aiter__(self) -> AsyncIterator[CallEvent]:
        while True:
            while self._inbox:
                event = self._inbox.popleft()
                if isinstance(event, bytes):
                    self._buffered -= len(event)
                yield event
            if self._end is not None:
                yield self._end
                return
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), SILENT_PEER_S)
            except TimeoutError:
                log.warning("rtp: no packet from %s:%d for %.0f s; hanging up", *self.remote, SILENT_PEER_S)
                await self.hangup()

    async def send_audio(self, pcm: bytes) -> None:
        """Agent audio (8 kHz PCM16) as 20 ms packets; a partial packet waits for the next call."""
        data = self._pending + pcm
        step = SAMPLES_PER_PACKET * 2
        whole = len(data) - len(data) % step
        self._pending = data[whole:]
        encode = ulaw_encode if self.offer.codec == "pcmu" else alaw_encode
        for i in range(0, whole, step):
            payload = encode(np.frombuffer(data[i : i + step], dtype=np.int16))
            if self.transport is not None and self._end is None:
                packet = pack(self.offer.payload_type, self._seq, self._timestamp, self._ssrc, payload, self._first)
                self.transport.sendto(packet, self.remote)
            self._seq, self._timestamp, self._first = self._seq + 1, self._timestamp + SAMPLES_PER_PACKET, False

    def press(self, key: str) -> None:
        """A keypad press signalled outside the RTP (a SIP ``INFO``)."""
        if self._end is None:
            self._inbox.append(Dtmf(key))
            self._ready.set()

    def remote_hangup(self, reason: str = "remote") -> None:
        """The caller hung up (``BYE``) or the dialog failed: the iterator ends with a Hangup."""
        if self._end is None:
            self._end = Hangup(reason)
            self._ready.set()

    async def hangup(self) -> None:
        """We end the call: the SIP side sends ``BYE``."""
        if self._end is None:
            self._end = Hangup("local")
            self._ready.set()
            self.on_hangup()
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
