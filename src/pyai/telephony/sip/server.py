"""A SIP user-agent server over UDP that answers calls for the bridge (``realtime/sip_bridge.py``).

Enough of RFC 3261 for a PBX or SIP trunk to place calls to us directly, with no AudioSocket in
between: ``INVITE`` (answered ``100 Trying``, then ``200 OK`` with an SDP answer, retransmitted
until the ``ACK``, §13.3.1.4), re-INVITEs (answered with the same media), ``BYE`` both ways,
``CANCEL``, ``OPTIONS`` (keep-alive pings) and ``INFO`` keypad presses (``Signal=``), besides RFC
4733 events in the RTP. Not built: registration, digest authentication, TCP/TLS, SRTP, ICE and
forking — so keep this listener on the PBX's private network, as for AudioSocket
(docs/telephony.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pyai.telephony.sip.message import (
    ALLOW,
    SipMessage,
    SipParseError,
    e164,
    new_branch,
    new_tag,
    parse,
    response,
    uri_of,
    user_of,
)
from pyai.telephony.sip.rtp import RtpLeg
from pyai.telephony.sip.sdp import Offer, SdpError, answer, parse_offer
from pyai.telephony.sip.udp import UdpEndpoint

log = logging.getLogger("pyai.telephony.sip")
T1, T2 = 0.5, 4.0  # RFC 3261 §17.1.1.1 retransmission timers
GIVE_UP_S = 64 * T1  # Timer H / B: 32 s


@dataclass
class Dialog:
    invite: SipMessage
    addr: tuple[str, int]
    tag: str
    offer: Offer
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # a final response went out
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    final: bytes = b""  # the final response to the INVITE, for retransmissions
    leg: RtpLeg | None = None
    bye_done: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False  # either side hung up

    @property
    def call_id(self) -> str:
        return self.invite.call_id


class IncomingCall:
    """An INVITE waiting for the bridge's decision: :meth:`accept` (a media leg) or :meth:`reject`."""

    def __init__(self, server: SipServer, dialog: Dialog) -> None:
        self.server, self.dialog = server, dialog
        invite = dialog.invite
        self.call_id = dialog.call_id
        self.to_number = e164(user_of(invite.uri)) or e164(user_of(uri_of(invite.get("to") or "")))
        self.from_number = e164(user_of(uri_of(invite.get("from") or "")))

    async def accept(self) -> RtpLeg:
        return await self.server.accept(self.dialog)

    def reject(self, status: int) -> None:
        self.server.final(self.dialog, status)


OnCall = Callable[[IncomingCall], Awaitable[None]]


class SipServer(UdpEndpoint):
    def __init__(self, host: str, advertised: str, on_call: OnCall) -> None:
        super().__init__()
        self.host, self.advertised, self.on_call = host, advertised, on_call
        self.dialogs: dict[str, Dialog] = {}
        self.tasks: set[asyncio.Task] = set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _send(self, message: SipMessage | bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            self.transport.sendto(message if isinstance(message, bytes) else message.encode(), addr)

    # ---- requests -----------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # a CRLF keep-alive
        try:
            msg = parse(data)
        except SipParseError as e:
            log.debug("sip: dropped a datagram from %s: %s", addr, e)
            return
        if not msg.is_request:
            dialog = self.dialogs.get(msg.call_id)
            if dialog is not None and msg.cseq[1] == "BYE" and msg.status >= 200:
                dialog.bye_done.set()
            return
        dialog = self.dialogs.get(msg.call_id)
        if msg.method == "INVITE":
            self._invite(msg, addr, dialog)
        elif msg.method == "ACK":
            if dialog is not None:
                dialog.acked.set()
        elif msg.method == "BYE":
            self._send(response(msg, 200 if dialog else 481), addr)
            if dialog is not None and not dialog.ended:
                self._end(dialog, "remote")
        elif msg.method == "CANCEL":
            self._send(response(msg, 200 if dialog else 481), addr)
            if dialog is not None and not dialog.answered.is_set():
                self.final(dialog, 487)
        elif msg.method == "OPTIONS":
            self._send(response(msg, 200, extra=[("allow", ALLOW), ("accept", "application/sdp")]), addr)
        elif msg.method == "INFO":
            self._send(response(msg, 200 if dialog else 481), addr)
            signal = _info_signal(msg)
            if dialog is not None and dialog.leg is not None and signal:
                dialog.leg.press(signal)
        else:
            self._send(response(msg, 405, extra=[("allow", ALLOW)]), addr)

    def _invite(self, msg: SipMessage, addr: tuple[str, int], dialog: Dialog | None) -> None:
        if dialog is not None:
            if msg.cseq[0] == dialog.invite.cseq[0]:  # a retransmission: repeat where we are
                self._send(dialog.final or response(msg, 100), addr)
            elif dialog.leg is not None:  # a re-INVITE (refresh, hold): the same media
                body = answer(dialog.offer, self.advertised, dialog.leg.port)
                self._send(self._ok(msg, dialog, body), addr)
            else:
                self._send(response(msg, 500, extra=[("retry-after", "1")]), addr)
            return
        self._send(response(msg, 100), addr)
        try:
            offer = parse_offer(msg.body)
        except SdpError as e:
            log.warning("sip call %s refused: %s", msg.call_id, e)
            self._send(response(msg, 488, to_tag=new_tag(), extra=[("warning", f'399 pyai "{e}"')]), addr)
            return
        dialog = Dialog(msg, addr, new_tag(), offer)
        self.dialogs[msg.call_id] = dialog
        self._spawn(self._route(dialog))

    async def _route(self, dialog: Dialog) -> None:
        try:
            await self.on_call(IncomingCall(self, dialog))
        except Exception:
            log.exception("sip call %s failed", dialog.call_id)
        finally:
            if not dialog.answered.is_set():
                self.final(dialog, 500)
            elif dialog.leg is not None:
                await dialog.leg.hangup()

    def _ok(self, invite: SipMessage, dialog: Dialog, body: bytes) -> SipMessage:
        contact = ("contact", f"<sip:pyai@{self.advertised}:{self.port}>")
        extra = [contact, ("allow", ALLOW), ("content-type", "application/sdp")]
        return response(invite, 200, to_tag=dialog.tag, extra=extra, body=body)

    # ---- answers ------------------------------------------------------------------------------
    async def accept(self, dialog: Dialog) -> RtpLeg:
        leg = await RtpLeg.open(dialog.offer, self.host, lambda: self._bye(dialog))
        dialog.leg = leg
        ok = self._ok(dialog.invite, dialog, answer(dialog.offer, self.advertised, leg.port))
        dialog.final = ok.encode()
        dialog.answered.set()
        self._spawn(self._until_acked(dialog))
        return leg

    def final(self, dialog: Dialog, status: int) -> None:
        """A failure answer to the INVITE (no dialog follows)."""
        if dialog.answered.is_set():
            return
        dialog.final = response(dialog.invite, status, to_tag=dialog.tag).encode()
        dialog.answered.set()
        self._send(dialog.final, dialog.addr)
        self.dialogs.pop(dialog.call_id, None)

    async def _until_acked(self, dialog: Dialog) -> None:
        """Send the 200 OK until the ACK comes (§13.3.1.4); no ACK in 32 s ends the call."""
        interval, waited = T1, 0.0
        while not dialog.acked.is_set() and waited < GIVE_UP_S:
            self._send(dialog.final, dialog.addr)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dialog.acked.wait(), interval)
            waited += interval
            interval = min(interval * 2, T2)
        if not dialog.acked.is_set():
            log.warning("sip call %s: no ACK for the 200 OK; hanging up", dialog.call_id)
            self._bye(dialog)

    def _bye(self, dialog: Dialog) -> None:
        """We hang up: ``BYE`` to the caller, retransmitted until answered (or 32 s)."""
        if dialog.ended:
            return  # over already (the caller's BYE)
        dialog.ended = True
        if dialog.leg is not None:
            dialog.leg.remote_hangup("local")
        invite = dialog.invite
        target = uri_of(invite.get("contact") or "") or uri_of(invite.get("from") or "")
        via = f"SIP/2.0/UDP {self.advertised}:{self.port};branch={new_branch()};rport"
        headers = [
            ("via", via),
            ("max-forwards", "70"),
            ("from", f"{invite.get('to')};tag={dialog.tag}"),
            ("to", invite.get("from") or ""),
            ("call-id", dialog.call_id),
            ("cseq", "1 BYE"),
        ]
        bye = SipMessage(method="BYE", uri=target, headers=headers).encode()
        self._spawn(self._retransmit_bye(dialog, bye))

    async def _retransmit_bye(self, dialog: Dialog, bye: bytes) -> None:
        interval, waited = T1, 0.0
        while not dialog.bye_done.is_set() and waited < GIVE_UP_S:
            self._send(bye, dialog.addr)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dialog.bye_done.wait(), interval)
            waited += interval
            interval = min(interval * 2, T2)
        if self.dialogs.get(dialog.call_id) is dialog:
            del self.dialogs[dialog.call_id]

    def _end(self, dialog: Dialog, reason: str) -> None:
        dialog.ended = True
        self.dialogs.pop(dialog.call_id, None)
        if dialog.leg is not None:
            dialog.leg.remote_hangup(reason)
        if not dialog.answered.is_set():
            self.final(dialog, 487)

    async def close(self) -> None:
        for dialog in list(self.dialogs.values()):
            if dialog.leg is not None:
                await dialog.leg.hangup()
        for task in list(self.tasks):
            task.cancel()
        if self.transport is not None:
            self.transport.close()


def _info_signal(msg: SipMessage) -> str | None:
    """The key of an ``application/dtmf-relay`` INFO (``Signal=5``), as many PBXs send keypad presses."""
    for line in msg.body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and len(value.strip()) == 1:
            return value.strip().upper()
    return None


async def start_sip_server(host: str, port: int, advertised: str | None, on_call: OnCall) -> SipServer:
    loop = asyncio.get_running_loop()
    _, server = await loop.create_datagram_endpoint(
        lambda: SipServer(host, advertised or host, on_call), local_addr=(host, port)
    )
    log.info("sip: answering calls on udp %s:%d", host, server.port)
    return server
