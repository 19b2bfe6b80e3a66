"""Phone calls from an Asterisk PBX into Omni over AudioSocket (``telephony/audiosocket.py``).

Set ``PYAI_AUDIOSOCKET_PORT`` and ``pyai serve`` also listens for Asterisk's
``AudioSocket(uuid,host:port)`` (TCP, 8 kHz signed-linear audio). AudioSocket carries no
credentials and nothing but a UUID, so the UUID names the call's number: its last 12 hex digits are
the dialled E.164 number's digits, zero-padded (``…-014155550123`` for +14155550123; the dialplan
builds it from ``${EXTEN}``, docs/telephony.md). That number must be an active number of a
``local_sip`` carrier assigned to an agent; the call runs that agent's Omni conversation at
8 kHz, billed like a Twilio call to the key that provisioned the number, and the socket is hung up
when the agent ends the call. The listener has no authentication of its own: bind it to the PBX's
private network only (``PYAI_AUDIOSOCKET_HOST``, default 127.0.0.1).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from pyai.realtime.admission import LeaseRefused, session_lease
from pyai.realtime.call_runner import Closed
from pyai.realtime.phone_call import PhoneCall
from pyai.telephony.audiosocket import AudioSocketCall, Dtmf, Hangup
from pyai.telephony.numbers import carrier_for, number_by_phone

log = logging.getLogger("pyai.telephony")
_DIGITS = re.compile(r"^[0-9]{12}$")


def number_of(call_uuid: uuid.UUID) -> str | None:
    """The E.164 number a call's UUID names (its last 12 hex digits, all decimal), or None."""
    tail = call_uuid.hex[-12:]
    return "+" + tail.lstrip("0") if _DIGITS.match(tail) and tail.strip("0") else None


class AudioSocketBridge(PhoneCall):
    """One PBX call: the native engine, AudioSocket's messages."""

    def __init__(self, conn: AudioSocketCall, services: Any, principal: Any, release: Any, agent_id: str) -> None:
        phone = {"from": None, "to": number_of(conn.uuid), "carrier": "local_sip", "carrier_call_id": str(conn.uuid)}
        super().__init__(None, services, principal, release, agent_id, phone)
        self.conn = conn

    def request_headers(self) -> Mapping[str, str]:
        return {}

    async def send_event(self, event: dict) -> None:
        """The phone hears only audio."""

    async def send_audio(self, pcm: bytes) -> None:
        await self.conn.send_audio(pcm)

    async def farewell(self, billed_seconds: float) -> None:
        await self.conn.hangup()

    async def refuse(self, code: str, message: str, close_code: int) -> None:
        log.warning("audiosocket call %s refused: %s", self.conn.uuid, message)
        await self.conn.hangup()

    async def receive(self) -> None:
        assert self.conv is not None
        async for event in self.conn:
            if isinstance(event, bytes):
                if self.recorder is not None:
                    self.recorder.on_caller_audio(event)
                await self.apply(self.conv.feed_caller(event))
            elif isinstance(event, Dtmf):
                await self.apply(self.conv.on_dtmf(event.digit.upper()))
            elif isinstance(event, Hangup):
                await self.apply(self.conv.end("caller_hangup"))
                return


async def answer(services: Any, gateway: Any, conn: AudioSocketCall) -> None:
    """``on_call`` of the AudioSocket server: route the call to its number's agent, or hang up."""
    phone = number_of(conn.uuid)
    async with services.db.session() as s:
        number = await number_by_phone(s, phone) if phone else None
        carrier = await carrier_for(s, services, number.org_id) if number is not None else None
    principal = await gateway.principal_for_key(number.key_id) if number is not None else None
    if number is None or carrier is None or carrier.kind != "local_sip" or number.agent_id is None or principal is None:
        log.warning("audiosocket call %s: no agent answers %s", conn.uuid, phone or "this UUID")
        await conn.hangup()
        return
    try:
        async with session_lease(gateway, principal, "audiosocket") as release:
            call = AudioSocketBridge(conn, services, principal, release, number.agent_id)
            graceful = False
            try:
                await call.run()
                graceful = True
            except* Closed:
                pass
            except* Exception:
                log.exception("audiosocket call %s failed", conn.uuid)
            finally:
                await call.finish(graceful)
                await conn.hangup()
    except LeaseRefused as e:
        log.warning("audiosocket call %s refused: %s", conn.uuid, e.message)
        await conn.hangup()
