"""Phone calls from an Asterisk PBX into Omni over AudioSocket (``telephony/audiosocket.py``).

Set ``PYAI_AUDIOSOCKET_PORT`` and ``pyai serve`` also listens for Asterisk's
``AudioSocket(uuid,host:port)`` (TCP, 8 kHz signed-linear audio). AudioSocket carries no
credentials and nothing but a UUID, so the UUID names the call's number: its last 12 hex digits are
the dialled E.164 number's digits, zero-padded (``…-014155550123`` for +14155550123; the dialplan
builds it from ``${EXTEN}``, docs/telephony.md). The call is routed and run by ``pbx_bridge``, and
the socket is hung up when the agent ends the call. The listener has no authentication of its own:
bind it to the PBX's private network only (``PYAI_AUDIOSOCKET_HOST``, default 127.0.0.1).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pyai.realtime import pbx_bridge
from pyai.telephony.audiosocket import AudioSocketCall

_DIGITS = re.compile(r"^[0-9]{12}$")


def number_of(call_uuid: uuid.UUID) -> str | None:
    """The E.164 number a call's UUID names (its last 12 hex digits, all decimal), or None."""
    tail = call_uuid.hex[-12:]
    return "+" + tail.lstrip("0") if _DIGITS.match(tail) and tail.strip("0") else None


async def answer(services: Any, gateway: Any, conn: AudioSocketCall) -> None:
    """``on_call`` of the AudioSocket server: the call runs on the connection, or is hung up."""

    async def pick_up() -> AudioSocketCall:
        return conn

    async def turn_away(why: str) -> None:
        await conn.hangup()

    call = pbx_bridge.PbxCall("audiosocket", str(conn.uuid), number_of(conn.uuid))
    await pbx_bridge.answer(services, gateway, call, pick_up, turn_away)
