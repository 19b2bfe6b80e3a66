"""``GET /v1/omni`` (and the deprecated ``/v2/omni/chat``): a voice-agent conversation over a
WebSocket, the native wire protocol of docs/omni-protocol.md.

A thin adapter over the sans-I/O :class:`~pyai.omni.conversation.Conversation`: it reads frames,
runs the conversation's work — listening (realtime/listening.py, shared with Hear streams), the
brain, and speech synthesis one sentence at a time — and sends the agent's audio paced at real
time, 20 ms a frame, so what has been sent is what the caller has heard. Metering is
``omni.minutes`` per second of session, held a minute at a time like every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pyai import safe_json
from pyai.audio.pcm import float_to_pcm16
from pyai.audio.resample import StreamResampler
from pyai.engines.tts.base import NATIVE_RATE, VoiceSpec
from pyai.gateway.auth import caller
from pyai.gateway.errors import ApiError, ProblemError
from pyai.gateway.principal import Principal
from pyai.gateway.streaming_hold import StreamingHold
from pyai.hear.engine import stt_engine
from pyai.hear.streaming import Output as HeardOutput
from pyai.hear.streaming import StreamOptions
from pyai.knowledge.grounding import GroundingConfig, ground, validate_grounding_config
from pyai.omni import tones
from pyai.omni.brain import Brain, CallTool, EndCall, Say
from pyai.omni.brains import build_brain
from pyai.omni.call_record import CallRecorder
from pyai.omni.call_tools import call_tools
from pyai.omni.conversation import (
    SLOW_TOOL_MS,
    Cancel,
    Conversation,
    ConversationOptions,
    Hangup,
    OfferedTool,
    Output,
    RunTool,
    Synthesize,
    Think,
)
from pyai.omni.tool_executor import execute, record_call
from pyai.realtime.admission import CLOSE_ENGINE_ERROR, CLOSE_NORMAL, CLOSE_POLICY, close_code_for, leased, reject
from pyai.realtime.listening import Listening
from pyai.speak.library import resolve_voice
from pyai.speak.synthesis import tts_engine
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent
from pyai.store.tenancy import owned

log = logging.getLogger("pyai.omni")
router = APIRouter()

RATES = (8000, 16000, 24000)
FRAME_MS = 20
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


class _Closed(Exception):
    """The session was already closed with an error frame."""


def parse_params(params: dict[str, str]) -> tuple[str | None, int]:
    """(session label, sample rate) from the URL; ValueError names the bad parameter."""
    label = params.get("session_label") or params.get("agent_id")
    if label is not None and (len(label) > 256 or any(ord(c) < 32 for c in label)):
        raise ValueError("session_label: at most 256 characters, no control characters")
    if params.get("format", "pcm16") != "pcm16":
        raise ValueError("format: must be pcm16")
    raw = params.get("rate", "24000")
    if not raw.isdigit() or int(raw) not in RATES:
        raise ValueError(f"rate: must be one of {', '.join(map(str, RATES))}")
    return label, int(raw)


class _Call:
    def __init__(
        self, ws: WebSocket, services: Any, principal: Principal, release: Any, rate: int, deprecated: bool
    ) -> None:
        self.ws, self.services, self.principal, self.release = ws, services, principal, release
        self.rate, self.deprecated = rate, deprecated
        self.label: str | None = None
        self.agent_id: str | None = None  # the profile the label named
        self.bindings: list[dict] = []  # the profile's tool bindings
        self.keyterms: list[str] = []  # the profile's: they bias the recogniser toward its words
        self.call_id: str | None = None  # the call record's id (tool calls are logged under it)
        self.recorder: CallRecorder | None = None  # the call record (and recording), once configured
        self.recordings_enabled = False
        self.tool_started: dict[str, tuple[float, int]] = {}  # client tool calls: (monotonic, unix ms)
        self.voice: VoiceSpec | None = None
        self.voice_id = ""
        self.seed: int | None = None
        self.grounding = GroundingConfig()
        self.conv: Conversation | None = None
        self.brain: Brain | None = None
        self.listening: Listening | None = None
        self.tasks: asyncio.TaskGroup | None = None
        self.speech: deque[Synthesize] = deque()
        self.speech_ready = asyncio.Event()
        self.cancelled: set[str] = set()
        self.thinking: dict[str, asyncio.Task] = {}
        self.hung_up = asyncio.Event()
        self.emit_lock = asyncio.Lock()
        self.budget = StreamingHold(services.billing, principal, "omni.minutes")
        self.started = time.monotonic()
        self.finished = False
        self.pending: dict | None = None  # a first frame that was not a configure
        self.out_of_credit = False

    # ---- output ---------------------------------------------------------------------------
    async def apply(self, out: Output) -> None:
        """Send the conversation's events in order and start its work."""
        if not out.events and not out.work:  # most pacer ticks
            return
        async with self.emit_lock:
            for event in out.events:
                if self.recorder is not None:
                    self.recorder.stamp(event)  # call.ended gets call_id and duration_ms
                await self.ws.send_json(event)
                if self.recorder is not None:
                    self.recorder.on_event(event)
        assert self.tasks is not None and self.listening is not None
        for work in out.work:
            if isinstance(work, Think):
                self.thinking[work.turn_id] = self.tasks.create_task(self._think(work))
            elif isinstance(work, Synthesize):
                self.speech.append(work)
                self.speech_ready.set()
            elif isinstance(work, Cancel):
                self.cancelled.add(work.turn_id)
                if task := self.thinking.pop(work.turn_id, None):
                    task.cancel()
            elif isinstance(work, RunTool):
                self.tasks.create_task(self._run_tool(work))
            elif isinstance(work, Hangup):
                self.hung_up.set()
            else:
                self.listening.submit(work)

    async def heard(self, out: HeardOutput) -> None:
        assert self.conv is not None
        await self.apply(self.conv.heard(out))

    # ---- work -----------------------------------------------------------------------------
    async def _think(self, work: Think) -> None:
        assert self.conv is not None and self.brain is not None
        end_call = False
        async for step in self.brain.reply(work.messages, work.tools):
            if isinstance(step, Say):
                await self.apply(self.conv.on_sentence(work.turn_id, step.text))
            elif isinstance(step, CallTool):
                await self.apply(self.conv.on_tool_call(work.turn_id, step))
            elif isinstance(step, EndCall):
                end_call = True
        self.thinking.pop(work.turn_id, None)
        await self.apply(self.conv.on_thought(work.turn_id, end_call=end_call))

    async def _run_tool(self, work: RunTool) -> None:
        """Run a server or hosted tool; for every kind, let the conversation fill dead air each
        ``SLOW_TOOL_MS`` it is still waiting; a client tool or ``collect`` times out when due."""
        assert self.conv is not None and self.tasks is not None
        runs_here = work.tool.kind in ("server", "hosted")
        if runs_here:
            self.tasks.create_task(self._execute(work))
        else:
            self.tool_started[work.call_id] = (time.monotonic(), now_ms())
        started = time.monotonic()
        deadline = started + work.timeout_ms / 1000
        next_slow = started + SLOW_TOOL_MS / 1000
        while self.conv.pending_tool(work.call_id) is not None:
            now = time.monotonic()
            if not runs_here and now >= deadline:
                error = f"no answer within timeout_ms ({work.timeout_ms} ms)"
                await self.apply(self.conv.on_tool_result(work.call_id, "timeout", error=error))
                await self._record_client_call(work.call_id, work.tool, error)
                return
            if now >= next_slow:
                next_slow = now + SLOW_TOOL_MS / 1000
                await self.apply(self.conv.on_tool_slow(work.call_id))
            wake = next_slow if runs_here else min(next_slow, deadline)
            await asyncio.sleep(max(0.0, wake - now))

    async def _execute(self, work: RunTool) -> None:
        assert self.conv is not None
        outcome = await execute(
            self.services,
            self.principal.org_id,
            work.tool.source,
            work.arguments,
            agent_id=self.agent_id,
            call_id=self.call_id,
        )
        status = "ok" if outcome.ok else "timeout" if outcome.timed_out else "error"
        await self.apply(self.conv.on_tool_result(work.call_id, status, outcome.result, outcome.error))

    async def _record_client_call(self, call_id: str, tool: OfferedTool, error: str | None) -> None:
        """A registered client tool's call goes in the audit log like a server tool's (inline
        client tools of a configure frame have no id to log under)."""
        started = self.tool_started.pop(call_id, None)
        if started is None or tool.source is None:
            return
        latency_ms = round((time.monotonic() - started[0]) * 1000)
        await record_call(
            self.services,
            self.principal.org_id,
            tool.source,
            new_id("tc"),
            started[1],
            error,
            latency_ms,
            agent_id=self.agent_id,
            call_id=self.call_id,
        )

    async def _speech_lane(self) -> None:
        """One sentence at a time, in order: TTS at 24 kHz → the session's rate → the queue."""
        assert self.conv is not None and self.voice is not None
        tts = tts_engine(self.services)
        done = object()
        while True:
            await self.speech_ready.wait()
            self.speech_ready.clear()
            while self.speech:
                work = self.speech.popleft()
                if work.turn_id in self.cancelled:
                    continue
                rendering = await asyncio.to_thread(tts.render, work.text, self.voice, 1.0, self.seed)
                pieces = rendering.pieces()
                resampler = StreamResampler(NATIVE_RATE, self.rate) if self.rate != NATIVE_RATE else None
                while work.turn_id not in self.cancelled:
                    piece = await asyncio.to_thread(next, pieces, done)
                    if piece is done:
                        break
                    samples = resampler.process(piece) if resampler else piece
                    self.conv.on_audio(work.turn_id, work.seq, samples)
                if resampler is not None:
                    self.conv.on_audio(work.turn_id, work.seq, resampler.flush())
                await self.apply(self.conv.on_audio_done(work.turn_id, work.seq))

    async def _pacer(self) -> None:
        """Send agent audio at real time, 20 ms a frame, and keep the session's units covered."""
        assert self.conv is not None
        frame = self.rate * FRAME_MS // 1000
        tick = FRAME_MS / 1000
        next_at = time.monotonic()
        next_check = next_at + 1.0
        while True:
            audio, out = self.conv.pull(frame)
            await self.apply(out)  # the events that go before this audio (agent.audio_start)
            if len(audio):
                pcm = float_to_pcm16(audio).tobytes()
                async with self.emit_lock:
                    await self.ws.send_bytes(pcm)
                if self.recorder is not None:
                    self.recorder.on_agent_audio(pcm)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                if not await self.budget.cover(self.elapsed) and not self.conv.ended:
                    await self._out_of_credit()
            next_at = max(next_at + tick, now - tick)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _out_of_credit(self) -> None:
        """End the call (``call.ended``); ``run`` then closes with the gateway's error."""
        assert self.conv is not None
        self.out_of_credit = True
        await self.apply(self.conv.end("credit_exhausted"))

    # ---- input ----------------------------------------------------------------------------
    async def _profile(self) -> dict:
        """The org's agent profile named by ``session_label`` as configure fields ({} when the label
        is not one of the org's agent ids: it is then an opaque tag)."""
        if not self.label:
            return {}
        async with self.services.db.session() as s:
            agent = await s.scalar(owned(Agent, self.principal.org_id).where(Agent.id == self.label))
        if agent is None:
            return {}
        self.agent_id = agent.id
        self.bindings = agent.tools or []
        self.keyterms = list(agent.keyterms or [])
        fields = {
            "voice": agent.voice_id,
            "persona": agent.persona_system_prompt,
            "greeting": agent.greeting,
            "ack_mode": agent.ack_mode,
            "kb_endpoint": agent.kb_endpoint,
            "knowledge_base_id": agent.knowledge_base_id,
            "recordings_enabled": agent.recordings_enabled,
            "consent_line": agent.consent_line,
            "brain_model": agent.brain_model,
            "barge_sensitivity": agent.barge_sensitivity,
        }
        return {k: v for k, v in fields.items() if v is not None}

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
                ("voice", self.ws.headers.get("x-pyai-voice")),
                ("persona", self.ws.headers.get("x-pyai-persona")),
            )
            if value
        }
        frame = {**await self._profile(), **headers, **frame}
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
        grounding = self.grounding
        temperature = frame.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2
        ):
            raise ValueError("temperature: expected a number from 0 to 2")
        self.brain = build_brain(
            self.services,
            model=frame.get("brain_model"),
            retrieve=lambda query: ground(self.services, self.principal.org_id, grounding, query),
            temperature=temperature,
            seed=seed,
            side_effects={tool.name: tool.side_effect for tool in tools},
        )

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
        await self._record_client_call(call_id, tool, error)

    async def _soft_error(self, code: str, message: str) -> None:
        async with self.emit_lock:
            await self.ws.send_json({"type": "error", "code": code, "message": message, "fatal": False})

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> None:
        try:
            await self.budget.open()
        except ApiError as e:
            await self.close_with(e.code, e.message, close_code_for(e))
            raise _Closed from None
        try:
            await self.configure(await self._first_frame())
        except (ValueError, LookupError) as e:
            await self.close_with("invalid_config", str(e), CLOSE_POLICY)
            raise _Closed from None
        except ProblemError as e:  # an unknown voice
            await self.close_with("invalid_config", e.detail, CLOSE_POLICY)
            raise _Closed from None
        assert self.conv is not None
        self.recorder = CallRecorder(
            self.services,
            self.principal.org_id,
            session_label=self.label,
            agent_id=self.agent_id,
            rate=self.rate,
            started=self.started,
            recording=self.recordings_enabled,
        )
        self.call_id = self.recorder.call_id
        await self.recorder.start()
        async with asyncio.TaskGroup() as tasks:
            self.tasks = tasks
            self.listening = Listening(self.conv.listener, self.services, self.heard, tasks)
            lanes = [
                tasks.create_task(self.listening.recognizer_lane()),
                tasks.create_task(self._speech_lane()),
                tasks.create_task(self._pacer()),
            ]
            ready = self.conv.start()
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
            await self.apply(ready)
            receiver = tasks.create_task(self.receive())
            hangup = tasks.create_task(self.hung_up.wait())
            await asyncio.wait({receiver, hangup}, return_when=asyncio.FIRST_COMPLETED)
            for task in [*lanes, receiver, hangup, *self.thinking.values()]:
                task.cancel()
        if self.out_of_credit and (refusal := self.budget.refusal) is not None:  # the units ran out mid-call
            await self.close_with(refusal.code, refusal.message, close_code_for(refusal))
            raise _Closed

    async def close_with(self, code: str, message: str, close_code: int) -> None:
        if self.recorder is not None and close_code == CLOSE_ENGINE_ERROR:
            self.recorder.fail(message)
        await self.finish(graceful=False)
        await reject(self.ws, code, message, close_code)

    async def finish(self, graceful: bool) -> None:
        """Bill the session's seconds (at most what was held); on a graceful end, close 1000."""
        if self.finished:
            return
        self.finished = True
        if self.listening is not None:
            self.listening.close()
        billed = await self.budget.close(self.elapsed)
        await self.release()
        if graceful:
            with contextlib.suppress(Exception):
                await self.ws.send_json(
                    {
                        "type": "usage",
                        "product": "omni",
                        "meter": "omni.minutes",
                        "seconds": round(billed, 3),
                        "minutes": round(billed / 60, 6),
                    }
                )
                await self.ws.close(CLOSE_NORMAL)
        if self.recorder is not None:  # after the close: the caller never waits for the record
            await self.recorder.finish()


async def omni_session(ws: WebSocket, principal: Principal, *, deprecated: bool = False) -> None:
    services = ws.app.state.services
    async with leased(ws, principal) as release:
        if release is None:
            return
        try:
            label, rate = parse_params(dict(ws.query_params))
            if principal.token_label is not None:  # a session token minted with a label is bound to it
                if label not in (None, principal.token_label):
                    raise ValueError("session_label: this session token was minted for another session_label")
                label = principal.token_label
        except ValueError as e:
            await reject(ws, "invalid_request", str(e), CLOSE_POLICY)
            return
        call = _Call(ws, services, principal, release, rate, deprecated)
        call.label = label
        graceful = False
        try:
            await call.run()
            graceful = True
        except* (WebSocketDisconnect, _Closed):
            pass
        except* Exception:
            log.exception("omni session error")
            await call.close_with("server_error", "The agent failed; the call is closed.", CLOSE_ENGINE_ERROR)
        finally:
            await call.finish(graceful)


@router.websocket("/v1/omni")
async def omni(ws: WebSocket, principal: Principal = caller()) -> None:
    await omni_session(ws, principal)


@router.websocket("/v2/omni/chat")
async def omni_chat_deprecated(ws: WebSocket, principal: Principal = caller()) -> None:
    """The deprecated alias: the same session, announced in-band as deprecated."""
    await omni_session(ws, principal, deprecated=True)
