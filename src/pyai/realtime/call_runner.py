"""Running one voice-agent call over a WebSocket: the work of the sans-I/O
:class:`~pyai.omni.conversation.Conversation`, whatever the wire protocol.

A wire protocol (``/v1/omni``'s native frames in realtime/omni_session.py, OpenAI Realtime in
realtime/openai_session.py) subclasses :class:`CallRunner` and says only how it is configured, how
frames are read, and how events and audio are written. Everything else is here, once: listening
(realtime/listening.py, shared with Hear streams), the brain, tools, speech synthesis one sentence
at a time, agent audio paced at real time 20 ms a frame (so what has been sent is what the caller
has heard), the call record, and ``omni.minutes`` metering, held a minute at a time like every
stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.audio.pcm import float_to_pcm16
from pyai.audio.resample import StreamResampler
from pyai.engines.tts.base import NATIVE_RATE, VoiceSpec
from pyai.gateway.errors import ApiError, ProblemError
from pyai.gateway.principal import Principal
from pyai.gateway.streaming_hold import StreamingHold
from pyai.hear.streaming import Output as HeardOutput
from pyai.knowledge.grounding import GroundingConfig, ground
from pyai.omni.brain import Brain, CallTool, EndCall, Say
from pyai.omni.brains import build_brain
from pyai.omni.call_record import CallRecorder
from pyai.omni.conversation import (
    SLOW_TOOL_MS,
    Cancel,
    Conversation,
    Hangup,
    OfferedTool,
    Output,
    RunTool,
    Synthesize,
    Think,
)
from pyai.omni.tool_executor import execute, record_call
from pyai.ops.metrics import TurnLatency
from pyai.ops.tracing import bind_call, first_audio, span
from pyai.realtime.admission import CLOSE_ENGINE_ERROR, CLOSE_NORMAL, CLOSE_POLICY, close_code_for, leased, reject
from pyai.realtime.listening import Listening
from pyai.realtime.turn_spans import TurnSpans
from pyai.recap.jobs import recap_after_call
from pyai.speak.synthesis import tts_engine
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent
from pyai.store.tenancy import owned
from pyai.trace import configs as trace_configs
from pyai.trace.gate import Gate
from pyai.trace.packs_store import available_packs
from pyai.trace.scoring import enqueue_scoring

log = logging.getLogger("pyai.omni")

FRAME_MS = 20


class Closed(Exception):
    """The session was already closed with an error frame."""


class CallRunner:
    """One call. Subclasses set up ``conv``, ``brain`` and ``voice`` in :meth:`setup`, read the
    client in :meth:`receive`, and may change how events, audio and refusals are written."""

    def __init__(self, ws: WebSocket, services: Any, principal: Principal, release: Any, rate: int) -> None:
        self.ws, self.services, self.principal, self.release = ws, services, principal, release
        self.rate = rate  # the conversation's: agent audio is made and recorded at this rate
        self.label: str | None = None
        self.agent_id: str | None = None  # the profile the label named
        self.bindings: list[dict] = []  # the profile's tool bindings
        self.keyterms: list[str] = []  # the profile's: they bias the recogniser toward its words
        self.call_id: str | None = None  # the call record's id (tool calls are logged under it)
        self.recorder: CallRecorder | None = None  # the call record (and recording), once set up
        self.recordings_enabled = False
        self.tool_started: dict[str, tuple[float, int]] = {}  # client tool calls: (monotonic, unix ms)
        self.voice: VoiceSpec | None = None
        self.voice_id = ""
        self.seed: int | None = None
        self.speed = 1.0  # the agent's speaking rate
        self.silent = False  # text only: sentences are not synthesised (nothing is played)
        self.close_code = CLOSE_NORMAL  # a graceful end closes with this
        self.trace_config: dict | None = None  # Trace's config for this call, when it is enabled
        self.phone: dict | None = None  # a phone call's {from, to, carrier, carrier_call_id}
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
        self.extra_holds: list[StreamingHold] = []  # other meters the session runs on (a phone line's)
        self.started = time.monotonic()
        self.finished = False
        self.out_of_credit = False
        self.turn_latency = TurnLatency()
        self.turn_spans = TurnSpans()  # each turn's omni.turn span (tracing)

    # ---- what a wire protocol provides ------------------------------------------------------
    async def setup(self) -> None:
        """Configure the call (``conv``, ``brain``, ``voice``); ValueError, LookupError or a
        ProblemError refuse it with ``invalid_config``."""
        raise NotImplementedError

    async def receive(self) -> None:
        """Read the client until it hangs up (return) or goes away (WebSocketDisconnect)."""
        raise NotImplementedError

    async def send_event(self, event: dict) -> None:
        """One conversation event, written as the protocol says (called under ``emit_lock``)."""
        await self.ws.send_json(event)

    async def send_audio(self, pcm: bytes) -> None:
        """20 ms of agent audio, PCM16 at ``rate`` (called under ``emit_lock``)."""
        await self.ws.send_bytes(pcm)

    def opening(self, ready: Output) -> Output:
        """The conversation's first output (``session.ready``, the greeting), before it is sent."""
        return ready

    async def refuse(self, code: str, message: str, close_code: int) -> None:
        """Close the socket with an error the protocol's clients understand."""
        await reject(self.ws, code, message, close_code)

    def side_lanes(self) -> list[Coroutine[Any, Any, None]]:
        """Tasks of the protocol's own that run for the call's life (cancelled at its end)."""
        return []

    async def farewell(self, billed_seconds: float) -> None:
        """Last words on a graceful close, before the 1000 close (the native protocol's usage)."""

    async def think(self, work: Think) -> None:
        """Start the brain on ``work`` (a protocol may hold it until its client asks)."""
        assert self.tasks is not None
        self.thinking[work.turn_id] = self.tasks.create_task(self._think(work))

    async def await_client_tool(self, work: RunTool) -> None:
        """A client tool or ``collect`` waits for its answer until ``timeout_ms``, with a filler
        sentence when it is slow."""
        self.tool_started[work.call_id] = (time.monotonic(), now_ms())
        await self._watch_tool(work, runs_here=False)

    # ---- output ---------------------------------------------------------------------------
    async def apply(self, out: Output) -> None:
        """Send the conversation's events in order and start its work."""
        if not out.events and not out.work:  # most pacer ticks
            return
        self.turn_spans.observe(out)
        made = self.recorder.clock_ms() if self.recorder is not None else None
        async with self.emit_lock:
            for event in out.events:
                if self.recorder is not None:
                    self.recorder.stamp(event)  # call.ended gets call_id and duration_ms
                await self.send_event(event)
                self.turn_latency.on_event(event)  # pyai_omni_turn_latency_seconds
                if self.recorder is not None:
                    self.recorder.on_event(event, made)
        assert self.tasks is not None and self.listening is not None
        for work in out.work:
            if isinstance(work, Think):
                await self.think(work)
            elif isinstance(work, Synthesize):
                self.speech.append(work)
                self.speech_ready.set()
            elif isinstance(work, Cancel):
                self.cancelled.add(work.turn_id)
                if task := self.thinking.pop(work.turn_id, None):
                    task.cancel()
            elif isinstance(work, RunTool):
                if work.tool.kind in ("server", "hosted"):
                    self.tasks.create_task(self._execute(work))
                    self.tasks.create_task(self._watch_tool(work, runs_here=True))
                else:
                    self.tasks.create_task(self.await_client_tool(work))
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
        with span("brain", self.turn_spans.for_turn(work.turn_id), **{"pyai.brain.round": work.round}):
            async for step in self.brain.reply(work.messages, work.tools):
                if isinstance(step, Say):
                    await self.apply(self.conv.on_sentence(work.turn_id, step.text))
                elif isinstance(step, CallTool):
                    await self.apply(self.conv.on_tool_call(work.turn_id, step))
                elif isinstance(step, EndCall):
                    end_call = True
        self.thinking.pop(work.turn_id, None)
        await self.apply(self.conv.on_thought(work.turn_id, end_call=end_call))

    async def _watch_tool(self, work: RunTool, *, runs_here: bool) -> None:
        """While a tool is waited for, let the conversation fill dead air each ``SLOW_TOOL_MS``;
        a tool that does not run here (a client tool, ``collect``) times out when due."""
        assert self.conv is not None
        started = time.monotonic()
        deadline = started + work.timeout_ms / 1000
        next_slow = started + SLOW_TOOL_MS / 1000
        while self.conv.pending_tool(work.call_id) is not None:
            now = time.monotonic()
            if not runs_here and now >= deadline:
                error = f"no answer within timeout_ms ({work.timeout_ms} ms)"
                await self.apply(self.conv.on_tool_result(work.call_id, "timeout", error=error))
                await self.record_client_call(work.call_id, work.tool, error)
                return
            if now >= next_slow:
                next_slow = now + SLOW_TOOL_MS / 1000
                await self.apply(self.conv.on_tool_slow(work.call_id))
            wake = next_slow if runs_here else min(next_slow, deadline)
            await asyncio.sleep(max(0.0, wake - now))

    async def _execute(self, work: RunTool) -> None:
        assert self.conv is not None
        with span("tool", self.turn_spans.for_tool(work.call_id), **{"pyai.tool.name": work.tool.name}) as s:
            outcome = await execute(
                self.services,
                self.principal.org_id,
                work.tool.source,
                work.arguments,
                agent_id=self.agent_id,
                call_id=self.call_id,
            )
            status = "ok" if outcome.ok else "timeout" if outcome.timed_out else "error"
            s.set_attribute("pyai.tool.status", status)
        await self.apply(self.conv.on_tool_result(work.call_id, status, outcome.result, outcome.error))

    async def record_client_call(self, call_id: str, tool: OfferedTool, error: str | None) -> None:
        """A registered client tool's call goes in the audit log like a server tool's (inline
        client tools have no id to log under)."""
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
        """One sentence at a time, in order: TTS at 24 kHz → the call's rate → the queue."""
        assert self.conv is not None
        tts = tts_engine(self.services)
        done = object()
        while True:
            await self.speech_ready.wait()
            self.speech_ready.clear()
            while self.speech:
                work = self.speech.popleft()
                if work.turn_id in self.cancelled:
                    continue
                if self.silent:
                    await self.apply(self.conv.on_audio_done(work.turn_id, work.seq))
                    continue
                assert self.voice is not None
                with span("tts", self.turn_spans.for_turn(work.turn_id), **{"pyai.tts.voice": self.voice_id}) as s:
                    rendering = await asyncio.to_thread(tts.render, work.text, self.voice, self.speed, self.seed)
                    pieces = first_audio(s, rendering.pieces())
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
                    await self.send_audio(pcm)
                if self.recorder is not None:
                    self.recorder.on_agent_audio(pcm)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                covered = [await hold.cover(self.elapsed) for hold in (self.budget, *self.extra_holds)]
                if not all(covered) and not self.conv.ended:
                    await self._out_of_credit()
            next_at = max(next_at + tick, now - tick)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _out_of_credit(self) -> None:
        """End the call (``call.ended``); ``run`` then closes with the gateway's error."""
        assert self.conv is not None
        self.out_of_credit = True
        await self.apply(self.conv.end("credit_exhausted"))

    # ---- setup helpers --------------------------------------------------------------------
    async def profile(self) -> dict:
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

    def make_brain(
        self,
        grounding: GroundingConfig,
        tools: list[OfferedTool],
        *,
        model: str | None = None,
        temperature: float | None = None,
    ) -> Brain:
        """The call's brain (an LLM when one is configured, else the embedded one), grounded in
        ``grounding``'s knowledge."""
        return build_brain(
            self.services,
            model=model,
            retrieve=lambda query: ground(self.services, self.principal.org_id, grounding, query),
            temperature=temperature,
            seed=self.seed,
            side_effects={tool.name: tool.side_effect for tool in tools},
        )

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> None:
        try:
            for hold in (self.budget, *self.extra_holds):
                await hold.open()
        except ApiError as e:
            await self.close_with(e.code, e.message, close_code_for(e))
            raise Closed from None
        try:
            await self.setup()
        except (ValueError, LookupError) as e:
            await self.close_with("invalid_config", str(e), CLOSE_POLICY)
            raise Closed from None
        except ProblemError as e:  # an unknown voice
            await self.close_with("invalid_config", e.detail, CLOSE_POLICY)
            raise Closed from None
        assert self.conv is not None
        await self._trace_gate()
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
        bind_call(self.call_id, self.principal.org_id)  # logs from here on (and the session's span) name it
        self.recorder.phone = self.phone
        self.recorder.after_call += [self._recap, self._trace]
        await self.recorder.start()
        async with asyncio.TaskGroup() as tasks:
            self.tasks = tasks
            self.listening = Listening(self.conv.listener, self.services, self.heard, tasks)
            self.listening.span_parent = self.turn_spans.for_decode
            lanes = [
                tasks.create_task(self.listening.recognizer_lane()),
                tasks.create_task(self._speech_lane()),
                tasks.create_task(self._pacer()),
                *map(tasks.create_task, self.side_lanes()),
            ]
            await self.apply(self.opening(self.conv.start()))
            receiver = tasks.create_task(self.receive())
            hangup = tasks.create_task(self.hung_up.wait())
            await asyncio.wait({receiver, hangup}, return_when=asyncio.FIRST_COMPLETED)
            for task in [*lanes, receiver, hangup, *self.thinking.values()]:
                task.cancel()
        refusal = next((h.refusal for h in (self.budget, *self.extra_holds) if h.refusal is not None), None)
        if self.out_of_credit and refusal is not None:  # the units ran out mid-call
            await self.close_with(refusal.code, refusal.message, close_code_for(refusal))
            raise Closed

    async def _trace_gate(self) -> None:
        """With Trace enabled for the agent (or the org), every sentence passes its inline gate."""
        assert self.conv is not None
        async with self.services.db.session() as s:
            config, _, _ = await trace_configs.effective(s, self.principal.org_id, self.agent_id)
            if not config["enabled"] or "voice" not in config["channels"]:
                return
            packs = await available_packs(s, self.principal.org_id)
        self.trace_config = config
        self.conv.options.gate = Gate(config, packs)

    async def _trace(self, s: AsyncSession, status: str) -> None:
        """Queue the call's scorecard with what the gate saw (its redactions never reached the record)."""
        gate = self.conv.options.gate if self.conv is not None else None
        if gate is None or self.call_id is None:
            return
        gate.finish(self.conv.clock * 1000 // self.rate)
        report = gate.report()
        await enqueue_scoring(
            self.services, s, self.principal.org_id, self.call_id, self.agent_id, self.trace_config, report
        )

    async def _recap(self, s: AsyncSession, status: str) -> None:
        if status == "completed" and self.call_id is not None:
            await recap_after_call(self.services, s, self.principal.org_id, self.call_id)

    async def close_with(self, code: str, message: str, close_code: int) -> None:
        if self.recorder is not None and close_code == CLOSE_ENGINE_ERROR:
            self.recorder.fail(message)
        await self.finish(graceful=False)
        await self.refuse(code, message, close_code)

    async def finish(self, graceful: bool) -> None:
        """Bill the session's seconds (at most what was held); on a graceful end, close 1000."""
        if self.finished:
            return
        self.finished = True
        self.turn_spans.close()
        if self.listening is not None:
            self.listening.close()
        billed = await self.budget.close(self.elapsed)
        for hold in self.extra_holds:
            await hold.close(self.elapsed)
        await self.release()
        if graceful:
            with contextlib.suppress(Exception):
                await self.farewell(billed)
                await self.ws.close(self.close_code)
        if self.recorder is not None:  # after the close: the caller never waits for the record
            await self.recorder.finish()


def session_label(params: dict[str, str], principal: Principal) -> str | None:
    """The call's ``session_label`` (alias ``agent_id``) from the URL; a session token minted with
    a label is bound to it. ValueError names what is wrong."""
    label = params.get("session_label") or params.get("agent_id")
    if label is not None and (len(label) > 256 or any(ord(c) < 32 for c in label)):
        raise ValueError("session_label: at most 256 characters, no control characters")
    if principal.token_label is not None:
        if label not in (None, principal.token_label):
            raise ValueError("session_label: this session token was minted for another session_label")
        label = principal.token_label
    return label


async def serve(ws: WebSocket, principal: Principal, make: Callable[[Any], CallRunner]) -> None:
    """Admit a call (the realtime lease), build its runner with ``make(release)`` — a ValueError
    there is a bad URL parameter — and run it to the end."""
    async with leased(ws, principal) as release:
        if release is None:
            return
        try:
            call = make(release)
        except ValueError as e:
            await reject(ws, "invalid_request", str(e), CLOSE_POLICY)
            return
        graceful = False
        try:
            await call.run()
            graceful = True
        except* (WebSocketDisconnect, Closed):
            pass
        except* Exception:
            log.exception("omni session error")
            await call.close_with("server_error", "The agent failed; the call is closed.", CLOSE_ENGINE_ERROR)
        finally:
            await call.finish(graceful)
