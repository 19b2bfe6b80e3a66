"""Phone calls from Twilio into Omni: the inbound-call webhook and the Media Streams bridge.

1. ``POST /v1/telephony/twilio/voice``: Twilio asks what to do with a call to one of the org's
   numbers. The request's ``X-Twilio-Signature`` is checked with the org's auth token; the answer
   is TwiML ``<Connect><Stream>`` to this server's stream endpoint, with a short-lived per-call
   token in a ``<Parameter>`` (Twilio sends no query string or subprotocol to a stream).
2. ``wss://…/v1/telephony/twilio/stream``: the Media Streams protocol (``connected``, ``start``,
   ``media`` base64 µ-law 8 kHz, ``dtmf``, ``mark``, ``stop``; back: ``media`` and ``clear``). The
   call runs the native Omni engine at 8 kHz (no resampling: µ-law is companding only), for the
   number's agent, billed on ``omni.minutes`` and ``telephony.minutes`` to the key that
   provisioned the number; barge-in sends ``clear`` so Twilio drops the audio it buffered; the
   stream closing ends the call (the TwiML has nothing after ``<Connect>``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from pyai.api.voices import base_url
from pyai.audio.g711 import g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16
from pyai.gateway.auth import gateway_of
from pyai.gateway.principal import Principal
from pyai.realtime.call_runner import serve
from pyai.realtime.phone_call import PhoneCall
from pyai.telephony import call_tokens, twiml
from pyai.telephony.carriers import carrier_from_config
from pyai.telephony.carriers.base import Carrier, CarrierError
from pyai.telephony.numbers import carrier_for, number_by_phone
from pyai.telephony.twilio_signature import validate

log = logging.getLogger("pyai.telephony")
router = APIRouter()

STREAM_PATH = "/v1/telephony/twilio/stream"
START_TIMEOUT_S = 10
NOT_IN_SERVICE = "The number you have called is not in service."


def _public_url(request: Request, path: str) -> str:
    return base_url(request).rstrip("/") + path


@router.post("/v1/telephony/twilio/voice", include_in_schema=False)
async def inbound_call(request: Request) -> Response:
    """Twilio's voice webhook for the org's numbers: connect the call to its agent."""
    services = request.app.state.services
    form = {k: str(v) for k, v in (await request.form()).items()}
    async with services.db.session() as s:
        number = await number_by_phone(s, form.get("To", ""))
        carrier = await carrier_for(s, services, number.org_id) if number is not None else None
    signature = request.headers.get("x-twilio-signature", "")
    url = _public_url(request, request.url.path)
    if number is None or carrier is None or carrier.kind != "twilio":
        return _twiml(twiml.say_and_hangup(NOT_IN_SERVICE))
    if not validate(carrier.secret("auth_token"), url, form, signature):
        log.warning("twilio voice webhook: bad X-Twilio-Signature for %s", form.get("To"))
        return Response(status_code=403)
    if number.agent_id is None:
        return _twiml(twiml.say_and_hangup(NOT_IN_SERVICE))
    claims = call_tokens.claims_for(
        number.org_id, number.id, number.agent_id, form.get("CallSid", ""), form.get("From", ""), form.get("To", "")
    )
    token = call_tokens.mint(services.settings.secret, claims)
    stream = _public_url(request, STREAM_PATH).replace("https://", "wss://").replace("http://", "ws://")
    return _twiml(twiml.connect_stream(stream, {"token": token}))


def _twiml(body: str) -> Response:
    return Response(body, media_type="application/xml")


class TwilioCall(PhoneCall):
    """One phone call over a Media Stream: the native engine, Twilio's frames."""

    def __init__(
        self,
        ws: WebSocket,
        services: Any,
        principal: Principal,
        release: Any,
        claims: call_tokens.CallClaims,
        start: dict,
    ) -> None:
        phone = {
            "from": claims.from_number,
            "to": claims.to_number,
            "carrier": "twilio",
            "carrier_call_id": claims.call_id,
        }
        super().__init__(ws, services, principal, release, claims.agent_id, phone)
        self.claims, self.stream_sid = claims, start["streamSid"]
        self.carrier: Carrier | None = None

    async def setup(self) -> None:
        await super().setup()
        async with self.services.db.session() as s:
            settings = await carrier_for(s, self.services, self.claims.org_id)
        if settings is not None:
            self.carrier = carrier_from_config(settings.kind, settings.opened())

    async def send_event(self, event: dict) -> None:
        if event["type"] == "interruption":  # barge-in: drop what Twilio still has queued
            await self.ws.send_json({"event": "clear", "streamSid": self.stream_sid})
        elif event["type"] == "transfer" and event.get("to") and self.tasks is not None:
            self.tasks.create_task(self._transfer(str(event["to"])))

    async def _transfer(self, to: str) -> None:
        """``transfer_to_human`` on a real call: once the announcement has played and the stream
        ends, Twilio dials the human (the call's TwiML is replaced)."""
        await self.hung_up.wait()
        if self.carrier is None:
            return
        try:
            await self.carrier.transfer(self.claims.call_id, to, caller_id=self.claims.to_number)
        except CarrierError as e:
            log.warning("call %s: transfer to a human failed: %s", self.call_id, e.message)

    async def send_audio(self, pcm: bytes) -> None:
        payload = base64.b64encode(ulaw_encode(np.frombuffer(pcm, dtype=np.int16))).decode()
        await self.ws.send_json({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})

    async def farewell(self, billed_seconds: float) -> None:
        """Nothing to say: closing the stream ends the call."""

    async def receive(self) -> None:
        assert self.conv is not None
        while True:
            try:
                frame = json.loads(await self.ws.receive_text())
            except (ValueError, KeyError):
                continue  # not a Twilio frame: nothing to do with it
            event = frame.get("event") if isinstance(frame, dict) else None
            if event == "media":
                try:
                    ulaw = base64.b64decode(frame["media"]["payload"], validate=True)
                except (KeyError, TypeError, binascii.Error):
                    continue
                pcm = float_to_pcm16(g711_decode(ulaw, "g711_ulaw")).tobytes()
                if self.recorder is not None:
                    self.recorder.on_caller_audio(pcm)
                await self.apply(self.conv.feed_caller(pcm))
            elif event == "dtmf":
                digit = str((frame.get("dtmf") or {}).get("digit", ""))[:1].upper()
                if digit:
                    await self.apply(self.conv.on_dtmf(digit))
            elif event == "stop":
                await self.apply(self.conv.end("caller_hangup"))
                return


async def _start(ws: WebSocket) -> dict | None:
    """Twilio's ``connected`` then ``start`` frames: the ``start`` body, or None."""
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                frame = json.loads(await ws.receive_text())
                if isinstance(frame, dict) and frame.get("event") == "start" and isinstance(frame.get("start"), dict):
                    return frame["start"]
    except (TimeoutError, ValueError, WebSocketDisconnect):
        return None


async def media_stream(ws: WebSocket) -> None:
    await ws.accept()
    services = ws.app.state.services
    start = await _start(ws)
    claims = call_tokens.verify(services.settings.secret, ((start or {}).get("customParameters") or {}).get("token"))
    if start is None or claims is None or not start.get("streamSid"):
        await ws.close(1008, "a Media Stream start with a valid call token is required")
        return
    async with services.db.session() as s:
        number = await number_by_phone(s, claims.to_number)
    principal = await gateway_of(ws).principal_for_key(number.key_id) if number is not None else None
    if principal is None or number.id != claims.number_id:
        await ws.close(1008, "this number is no longer in service")
        return
    await serve(ws, principal, lambda release: TwilioCall(ws, services, principal, release, claims, start))


router.add_api_websocket_route(STREAM_PATH, media_stream)
