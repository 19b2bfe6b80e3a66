"""Phone calls from the operator's own PBX or SIP trunk into Omni, whatever carries them.

A call *leg* is the PBX side of one call: iterate it for caller audio (8 kHz PCM16), keypad
presses (:class:`Dtmf`) and, last, a :class:`Hangup`; ``send_audio`` plays agent audio and
``hangup`` ends the call. Asterisk AudioSocket (``audiosocket_bridge.py``) and the SIP user-agent
server (``sip_bridge.py``) each make legs; this module routes a call to its number's agent and
runs the native engine on the leg at 8 kHz. The number must be an active number of the org's
``local_sip`` carrier, assigned to an agent; the call is billed like a Twilio call (``omni.minutes``
and ``telephony.minutes``) to the key that provisioned the number.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pyai.realtime.admission import LeaseRefused, session_lease
from pyai.realtime.call_runner import Closed
from pyai.realtime.phone_call import PhoneCall
from pyai.telephony.audiosocket import CallEvent, Dtmf, Hangup
from pyai.telephony.numbers import carrier_for, number_by_phone

log = logging.getLogger("pyai.telephony")


class Leg(Protocol):
    def __aiter__(self) -> AsyncIterator[CallEvent]: ...

    async def send_audio(self, pcm: bytes) -> None: ...

    async def hangup(self) -> None: ...


@dataclass(frozen=True)
class PbxCall:
    """What the carrying protocol knows of a call before it is answered."""

    kind: str  # "audiosocket" | "sip": the session kind it is counted under
    call_id: str  # the carrier call id on the record (AudioSocket UUID, SIP Call-ID)
    to_number: str | None
    from_number: str | None = None


class PbxBridge(PhoneCall):
    """One PBX call: the native engine on a leg's audio."""

    def __init__(self, leg: Leg, call: PbxCall, services: Any, principal: Any, release: Any, agent_id: str) -> None:
        phone = {"from": call.from_number, "to": call.to_number, "carrier": "local_sip"}
        phone["carrier_call_id"] = call.call_id
        super().__init__(None, services, principal, release, agent_id, phone)
        self.leg, self.pbx_call = leg, call

    def request_headers(self) -> Mapping[str, str]:
        return {}

    async def send_event(self, event: dict) -> None:
        """The phone hears only audio."""

    async def send_audio(self, pcm: bytes) -> None:
        await self.leg.send_audio(pcm)

    async def farewell(self, billed_seconds: float) -> None:
        await self.leg.hangup()

    async def refuse(self, code: str, message: str, close_code: int) -> None:
        log.warning("%s call %s refused: %s", self.pbx_call.kind, self.pbx_call.call_id, message)
        await self.leg.hangup()

    async def receive(self) -> None:
        assert self.conv is not None
        async for event in self.leg:
            if isinstance(event, bytes):
                if self.recorder is not None:
                    self.recorder.on_caller_audio(event)
                await self.apply(self.conv.feed_caller(event))
            elif isinstance(event, Dtmf):
                await self.apply(self.conv.on_dtmf(event.digit.upper()))
            elif isinstance(event, Hangup):
                await self.apply(self.conv.end("caller_hangup"))
                return


async def answer(
    services: Any,
    gateway: Any,
    call: PbxCall,
    pick_up: Callable[[], Awaitable[Leg]],
    turn_away: Callable[[str], Awaitable[None]],
) -> None:
    """Route ``call`` to its number's agent and run it on the leg ``pick_up`` answers with, or
    ``turn_away("unrouted" | "busy")`` (no agent for the number; no session can be had now)."""
    async with services.db.session() as s:
        number = await number_by_phone(s, call.to_number) if call.to_number else None
        carrier = await carrier_for(s, services, number.org_id) if number is not None else None
    principal = await gateway.principal_for_key(number.key_id) if number is not None else None
    if number is None or carrier is None or carrier.kind != "local_sip" or number.agent_id is None or principal is None:
        log.warning("%s call %s: no agent answers %s", call.kind, call.call_id, call.to_number or "this call")
        await turn_away("unrouted")
        return
    try:
        async with session_lease(gateway, principal, call.kind) as release:
            leg = await pick_up()
            bridge = PbxBridge(leg, call, services, principal, release, number.agent_id)
            graceful = False
            try:
                await bridge.run()
                graceful = True
            except* Closed:
                pass
            except* Exception:
                log.exception("%s call %s failed", call.kind, call.call_id)
            finally:
                await bridge.finish(graceful)
                await leg.hangup()
    except LeaseRefused as e:
        log.warning("%s call %s refused: %s", call.kind, call.call_id, e.message)
        await turn_away("busy")
