"""What every phone call has in common, whichever bridge carries it (Twilio Media Streams,
Asterisk AudioSocket): the native engine at 8 kHz, configured by the agent profile of the number
called (a phone sends no configure frame), billed on ``telephony.minutes`` besides
``omni.minutes``, and a record carrying the call's numbers and carrier call id."""

from __future__ import annotations

from typing import Any

from pyai.gateway.streaming_hold import StreamingHold
from pyai.realtime.omni_session import NativeCall

RATE = 8000


class PhoneCall(NativeCall):
    def __init__(self, ws: Any, services: Any, principal: Any, release: Any, agent_id: str | None, phone: dict) -> None:
        super().__init__(ws, services, principal, release, RATE, deprecated=False)
        self.label = agent_id
        self.phone = phone  # {from, to, carrier, carrier_call_id}
        self.extra_holds.append(StreamingHold(services.billing, principal, "telephony.minutes"))

    async def setup(self) -> None:
        await self.configure(None)  # the number's agent profile configures the call
