"""Phone calls placed to PyAI over SIP by the operator's PBX or trunk (``telephony/sip/``).

Set ``PYAI_SIP_PORT`` and ``pyai serve`` also answers SIP over UDP: an ``INVITE`` to
``sip:+14155550123@host`` (the dialled number as the user part; 10 digits are taken as a US
number) is routed by ``pbx_bridge`` to that ``local_sip`` number's agent, answered ``200 OK`` with
G.711 media, and run on the native engine at 8 kHz; the agent ending the call sends ``BYE``. A
number with no agent is answered ``404 Not Found``, a key at its concurrent-session cap (or a
draining server) ``486 Busy Here``. No authentication: keep the port on the PBX's private network.
"""

from __future__ import annotations

from typing import Any

from pyai.realtime import pbx_bridge
from pyai.telephony.sip.rtp import RtpLeg
from pyai.telephony.sip.server import IncomingCall

REFUSALS = {"unrouted": 404, "busy": 486}


async def answer(services: Any, gateway: Any, incoming: IncomingCall) -> None:
    """``on_call`` of the SIP server."""

    async def turn_away(why: str) -> None:
        incoming.reject(REFUSALS[why])

    async def pick_up() -> RtpLeg:
        return await incoming.accept()

    call = pbx_bridge.PbxCall("sip", incoming.call_id, incoming.to_number, incoming.from_number)
    await pbx_bridge.answer(services, gateway, call, pick_up, turn_away)
