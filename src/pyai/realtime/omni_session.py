"""``GET /v1/omni`` (and the deprecated ``/v2/omni/chat``): a voice-agent conversation over a
WebSocket, the native wire protocol of docs/omni-protocol.md.

The thinnest adapter over the call engine (realtime/call_runner.py running the sans-I/O
:class:`~pyai.omni.conversation.Conversation`): the conversation's events go out as JSON as they
are, agent audio as binary PCM16 at the URL's rate; it reads the optional ``configure`` frame,
caller audio and the control frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pyai import safe_json
from pyai.gateway.auth import caller
from pyai.gateway.principal import Principal
from pyai.hear.engine import stt_engine
from pyai.hear.streaming import Output as HeardOutput
from pyai.hear.streaming import StreamOptions
from pyai.knowledge.grounding import GroundingConfig, validate_grounding_config
from pyai.omni import tones
from pyai.omni.call_tools import call_tools
from pyai.omni.conversation import Conversation, ConversationOptions, Output
from pyai.realtime.call_runner import CallRunner, serve, session_label
from pyai.speak.library import resolve_voice
from pyai.store.ids import new_id

router = APIRouter()

RATES = (8000, 16000, 24000)
MAX_FRAME_BYTES = 1 << 20
CONFIGURE_FIELDS = frozenset(
    {
        "type",
        "voice",
        "persona",
        "greeting",
        "kb_endpoint",
        "knowledge_base_id",
        "ack_mode",
        "barge_sensitivity",
        "tools",
        "recordings_enabled",
        "consent_line",
        "seed",
        "temperature",
    }
)
DEFAULT_GREETING = "Hello! How can I help you today?"
ACK_MODES = ("auto", "always", "off")
DEPRECATION_NOTICE = {
    "type": "deprecation",
    "message": "/v2/omni/chat is deprecated; connect to /v1/omni (same protocol).",
    "successor": "/v1/omni",
}


def parse_rate(params: dict[str, str]) -> int:
    """The sample rate from the URL; ValueError names the bad parameter."""
    if params.get("format", "pcm16") != "pcm16":
        raise ValueError("format: must be pcm16")
    raw = params.get("rate", "24000")
    if not raw.isdigit() or int(raw) not in RATES:
        raise ValueError(f"rate: must be one of {', '.join(map(str, RATES))}")
    return int(raw)


class NativeCall(CallRunner):
    """A call speaking the native protocol: JSON events as they are, agent audio as binary."""

    def __init__(
        self, ws: WebSocket, services: Any, principal: Principal, release: Any, rate: int, deprecated: bool
    ) -> None:
        super().__init__(ws, services, principal, release, rate)
        self.deprecated = deprecated
        self.grounding = GroundingConfig()
        self.pending: dict | None = None  # a first frame that was not a configure

    async def setup(self) -> None:
        await self.configure(await self._first_frame())

    def request_headers(self) -> Mapping[str, str]:
        """The upgrade's headers (``X-PyAI-Voice``, ``X-PyAI-Persona``); none on a raw socket."""
        return self.ws.headers

    def opening(self, ready: Output) -> Output:
        ready.events[0].update(
            session_id=new_id("omni"),
            call_id=self.call_id,
            agent_id=self.agent_id,
            voice=self.voice_id,
            format="pcm16",
            rate=self.rate,
            protocol=1,
        )
        if self.deprecated:
            ready.events.insert(1, DEPRECATION_NOTICE)
        return ready

    async def farewell(self, billed_seconds: float) -> None:
        await self.ws.send_json(
            {
                "type": "usage",
                "product": "omni",
                "meter": "omni.minutes",
                "seconds": round(billed_seconds, 3),
                "minutes": round(billed_seconds / 60, 6),
            }
        )

    async def configure(self, frame: dict | None) -> None:
        """Voice, persona, greeting and knowledge: the agent profile, then the headers, then the
        optional configure frame, each overriding the one before."""
        frame = frame or {}
        unknown = sorted(set(frame) - CONFIGURE_FIELDS)
        if unknown:
            raise ValueError(f"{unknown[0]}: not a configure field")
        headers = {
            name: value
            for name, value in (
                ("voice", self.request_headers().get("x-pyai-voice")),
                ("persona", self.request_headers().get("x-pyai-persona")),
            )
            if value
        }
        frame = {**await self.profile(), **headers, **frame}
        voice = await resolve_voice(self.services, self.principal.org_id, frame.get("voice"))
        self.voice, self.voice_id = voice.spec, voice.voice_id
        seed = frame.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed: expected an integer")
        self.seed = seed
        grounding = {k: frame[k] for k in ("kb_endpoint", "knowledge_base_id") if k in frame}
        self.grounding = validate_grounding_config(
            {**grounding, "session_label": self.label}, allow_loopback=self.services.settings.test_mode
        )
        greeting = frame.get("greeting", DEFAULT_GREETING)
        persona = frame.get("persona")
        ack_mode = frame.get("ack_mode") or "auto"
        if ack_mode not in ACK_MODES:
            raise ValueError(f"ack_mode: must be one of {', '.join(ACK_MODES)}")
        for name, value in (("greeting", greeting), ("persona", persona)):
            if value is not None and (not isinstance(value, str) or len(value) > 4000):
                raise ValueError(f"{name}: expected a string of at most 4000 characters")
        recording, consent = frame.get("recordings_enabled", False), frame.get("consent_line")
        if not isinstance(recording, bool):
            raise ValueError("recordings_enabled: expected true or false")
        if consent is not None and (not isinstance(consent, str) or len(consent) > 500):
            raise ValueError("consent_line: expected a string of at most 500 characters")
        self.recordings_enabled = recording
        if recording and consent and consent.strip():  # spoken first, before the greeting
            consent = consent.strip() if consent.strip()[-1] in ".!?" else consent.strip() + "."
            greeting = f"{consent} {greeting or ''}".strip()
        tools = await call_tools(self.services, self.principal.org_id, self.bindings, frame.get("tools"))
        options = ConversationOptions(
            rate=self.rate,
            greeting=greeting or None,
            ack_mode=ack_mode,
            barge_sensitivity=frame.get("barge_sensitivity", "normal"),
            tools=tools,
            listen=StreamOptions(
                sample_rate=self.rate, lookahead=stt_engine(self.services).forces_prefix, keyterms=self.keyterms
            ),
        )
        if persona:
            options.persona = persona
        self.conv = Conversation(options)
        temperature = frame.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2
        ):
            raise ValueError("temperature: expected a number from 0 to 2")
        self.brain = self.make_brain(self.grounding, tools, model=frame.get("brain_model"), temperature=temperature)

    async def _first_frame(self) -> dict | None:
        """A configure frame sent within 200 ms of the upgrade, else None; any other first frame is
        kept for the receive loop (``configure`` is optional)."""
        try:
            message = await asyncio.wait_for(self.ws.receive(), 0.2)
        except TimeoutError:
            return None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is not None and text.lstrip().startswith("{"):
            with contextlib.suppress(safe_json.InvalidJSON):
                frame = safe_json.loads(text)
                if isinstance(frame, dict) and frame.get("type") == "configure":
                    return frame
        self.pending = message
        return None

    async def receive(self) -> None:
        assert self.conv is not None
        while True:
            message, self.pending = self.pending or await self.ws.receive(), None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if (data := message.get("bytes")) is not None:
                if len(data) > MAX_FRAME_BYTES:
                    await self._soft_error("frame_too_large", f"audio frames must be at most {MAX_FRAME_BYTES} bytes")
                    continue
                try:
                    out = self.conv.feed_caller(data)
                except ValueError as e:
                    await self._soft_error("invalid_audio", str(e))
                    continue
                if self.recorder is not None:
                    self.recorder.on_caller_audio(data)
                await self.apply(out)
            elif (text := message.get("text")) is not None and not await self._control(text):
                return

    async def _control(self, text: str) -> bool:
        """A JSON control frame; False when the caller hung up."""
        assert self.conv is not None
        try:
            frame = safe_json.loads(text) if len(text) <= MAX_FRAME_BYTES else None
        except safe_json.InvalidJSON as e:
            await self._soft_error("invalid_json", f"Text frame {e}.")
            return True
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "end":
            await self.apply(self.conv.end("caller_hangup"))
            return False
        if kind == "text" and isinstance(frame.get("text"), str) and frame["text"].strip():
            typed = {"type": "final", "utterance_id": "typed", "text": frame["text"].strip()[:4000]}
            await self.heard(HeardOutput(events=[typed]))
        elif kind == "playback" and isinstance(frame.get("played_ms"), int):
            self.conv.on_played(frame["played_ms"])
        elif kind == "tool_result":
            await self._client_tool_result(frame)
        elif kind == "dtmf":
            digits = frame.get("digits")
            if not isinstance(digits, str) or not 0 < len(digits) <= 32 or not set(digits.upper()) <= tones.KEYS.keys():
                await self._soft_error("invalid_frame", "dtmf.digits: 1-32 keys of 0-9, *, #, A-D")
            else:
                await self.apply(self.conv.on_dtmf(digits.upper()))
        else:
            await self._soft_error(
                "invalid_frame",
                'text frames are JSON {"type": "text"|"playback"|"tool_result"|"dtmf"|"end"} (configure only first)',
            )
        return True

    async def _client_tool_result(self, frame: dict) -> None:
        """The app's answer to a ``tool_call`` of a client tool."""
        assert self.conv is not None
        call_id = frame.get("call_id")
        tool = self.conv.pending_tool(call_id) if isinstance(call_id, str) else None
        if tool is None or tool.kind != "client":
            await self._soft_error("unknown_call_id", "tool_result.call_id: no client tool call is waiting for it")
            return
        error = frame.get("error")
        if error is not None:
            error = (error if isinstance(error, str) else json.dumps(error))[:500]
            out = self.conv.on_tool_result(call_id, "error", error=error, from_app=True)
        else:
            out = self.conv.on_tool_result(call_id, "ok", frame.get("result"), from_app=True)
        await self.apply(out)
        if self.recorder is not None:  # the app's own answer is not echoed as a tool_result event
            self.recorder.on_tool_result(call_id, "ok" if error is None else "error")
        await self.record_client_call(call_id, tool, error)

    async def _soft_error(self, code: str, message: str) -> None:
        async with self.emit_lock:
            await self.ws.send_json({"type": "error", "code": code, "message": message, "fatal": False})


async def omni_session(ws: WebSocket, principal: Principal, *, deprecated: bool = False) -> None:
    def make(release: Any) -> NativeCall:
        params = dict(ws.query_params)
        call = NativeCall(ws, ws.app.state.services, principal, release, parse_rate(params), deprecated)
        call.label = session_label(params, principal)
        return call

    await serve(ws, principal, make)


@router.websocket("/v1/omni")
async def omni(ws: WebSocket, principal: Principal = caller()) -> None:
    await omni_session(ws, principal)


@router.websocket("/v2/omni/chat")
async def omni_chat_deprecated(ws: WebSocket, principal: Principal = caller()) -> None:
    """The deprecated alias: the same session, announced in-band as deprecated."""
    await omni_session(ws, principal, deprecated=True)
