"""One voice-agent conversation, sans I/O: caller audio and results in, events, work and agent
audio out. Every wire protocol (``/v1/omni``, ``/v1/realtime``, Twilio, AudioSocket) is a thin
adapter over this one engine (docs/omni-protocol.md describes the native one).

Listening is a Hear :class:`~pyai.hear.streaming.StreamSession` (VAD, end of turn, partials,
finals); the adapter runs its work exactly as the Hear adapter does and passes what each call
returns through :meth:`Conversation.heard`. Everything slow is work for the adapter, answered by
a method here, and nothing here ever waits:

- :class:`Think` — the caller's turn is final: ask the brain for the agent's reply to
  ``messages``; stream its sentences back with :meth:`Conversation.on_sentence`, then
  :meth:`Conversation.on_thought`.
- :class:`Synthesize` — speak one sentence; feed its audio with :meth:`Conversation.on_audio`
  (at the session's rate, piece by piece) and :meth:`Conversation.on_audio_done`.
- :class:`Cancel` — drop the brain and TTS work of a turn that was interrupted.
- :class:`RunTool` — run a server or hosted tool (and answer with :meth:`Conversation.on_tool_result`),
  or, for a client tool or ``collect``, wait for its answer until the tool's timeout. Either way,
  call :meth:`Conversation.on_tool_slow` once it has taken ``SLOW_TOOL_MS``: the agent then says a
  short filler instead of leaving dead air. Engine tools (end_call, transfer_to_human, send_dtmf,
  play_hold) act on the call here, at once.
- :class:`Hangup` — the call is over (after the goodbye has been played).

Agent audio waits in a queue the adapter drains at real time with :meth:`Conversation.pull`, so
what has been *pulled* is what the caller has heard (a client can report its own playback
position, :meth:`Conversation.on_played`). Barge-in: caller speech over agent audio pauses the
queue at once; a short backchannel ("mm-hm") resumes it unless ``ack_mode`` is ``off``; anything
else interrupts the turn — queued audio is dropped, the client is told to flush, and the agent's
memory keeps only the words the caller heard before the cut.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyai.engines.tts.sentences import split_sentences
from pyai.hear.streaming import RATE as LISTEN_RATE
from pyai.hear.streaming import Output as HeardOutput
from pyai.hear.streaming import StreamOptions, StreamSession
from pyai.hear.streaming import Work as ListenWork
from pyai.omni import tones
from pyai.omni.echo import EchoGate, barge_floor_dbfs, power_dbfs
from pyai.omni.steps import CallTool
from pyai.text.numerals import DIGIT_KEYS

#: Speech shorter than this can still be a backchannel; longer speech over the agent interrupts
#: it without waiting for the words.
BACKCHANNEL_MAX_MS = 700
#: Words a listener says to show they are listening ("mm-hm", "okay", "got it", "I see").
BACKCHANNEL_WORDS = frozenset(
    "mm mhm mm-hm mmhm hmm uh-huh uh huh uhhuh yeah yep yes ok okay right sure alright got it i see".split()
)
#: A caller this far behind real time (the pacer's pulls) stopped streaming audio for a while.
CALLER_GAP_MS = 500
#: The window over which the caller's level is judged against the barge-in floor.
LEVEL_WINDOW_MS = 200
#: A brisk speaking pace, for the words heard of a sentence cut before all of it was made.
WORDS_PER_SECOND = 3.0
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
#: A tool that has not answered after this long gets a filler sentence (no dead air).
SLOW_TOOL_MS = 1000
FILLER = "One moment."
#: Brain → tools → brain rounds in one agent turn; the last round is offered no tools, so a model
#: that keeps calling tools still has to answer.
MAX_TOOL_ROUNDS = 4
TRANSFER_ANNOUNCEMENT = "Connecting you to a member of our team now."
HOLD_MESSAGE = "Please hold."
DEFAULT_HOLD_CAP_S = 120


@dataclass(frozen=True)
class Synthesize:
    turn_id: str
    seq: int
    text: str


@dataclass(frozen=True)
class Cancel:
    turn_id: str


@dataclass(frozen=True)
class Hangup:
    reason: str


@dataclass(frozen=True)
class OfferedTool:
    """A tool this call's agent may use. ``kind``: ``server`` (a signed webhook), ``hosted`` (run by
    PyAI), ``client`` (the connected app runs it) or ``engine`` (call control, run here).
    ``source`` is the stored or prebuilt tool the executor runs."""

    name: str
    kind: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})
    timeout_ms: int = 5000
    side_effect: str = "read"
    config: dict = field(default_factory=dict)  # the agent's settings for it (its binding)
    source: object = None

    def spec(self) -> dict:
        """The tool as the chat-completions API offers it to a model."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class Think:
    turn_id: str
    messages: list[dict]  # OpenAI chat format: the conversation so far, the caller's turn last
    tools: list[dict] = field(default_factory=list)  # chat-completions tool specs the brain may call
    round: int = 0  # 0: the turn's first thought; n: after its n-th round of tool calls


@dataclass(frozen=True)
class RunTool:
    call_id: str
    tool: OfferedTool
    arguments: dict
    timeout_ms: int  # for a client tool or ``collect``: answer ``timeout`` after this long


Work = ListenWork | Think | Synthesize | Cancel | RunTool | Hangup


@dataclass
class Output:
    """What one input produced: events for the client, in order, and work for the adapter."""

    events: list[dict] = field(default_factory=list)
    work: list[Work] = field(default_factory=list)

    def __iadd__(self, other: Output | HeardOutput) -> Output:
        self.events += other.events
        self.work += other.work
        return self

    def __add__(self, other: Output) -> Output:
        return Output(self.events + other.events, self.work + other.work)


@dataclass
class ConversationOptions:
    rate: int = 24000  # caller and agent audio, both directions
    persona: str = "You are a helpful voice agent. Keep answers short."
    greeting: str | None = None
    #: The contract's conversational-acknowledgment mode: with ``auto`` or ``always`` a backchannel
    #: ("mm-hm") over the agent is an acknowledgment and the agent goes on; ``off`` treats it as
    #: any other speech (it interrupts).
    ack_mode: str = "auto"
    #: The contract's ``barge_sensitivity`` (low/normal/high or a dBFS level): caller speech over
    #: the agent quieter than its floor (a TV, a colleague) neither pauses nor interrupts it.
    barge_sensitivity: str | float | None = "normal"
    tools: list[OfferedTool] = field(default_factory=list)
    listen: StreamOptions = field(default_factory=StreamOptions)
    #: Answer each caller turn at once; False (OpenAI's ``create_response: false``): the caller's
    #: words join the conversation and the agent waits for :meth:`Conversation.respond`.
    auto_respond: bool = True
    #: Caller speech over the agent: ``pause`` it at onset and decide when the words are known
    #: (a backchannel resumes it), ``interrupt`` it at onset, or ``off`` (the agent talks on).
    barge_in: str = "pause"
    #: The most words one agent turn may say (OpenAI's ``max_output_tokens``); the brain's
    #: sentences past it are dropped and the turn ends ``truncated``. None: no limit.
    max_turn_words: int | None = None
    #: Trace's inline gate (``pyai.trace.gate.Gate``): every sentence is checked before it is
    #: spoken — passed, rewritten (redactions, disclosures), suppressed, or handed to a human.
    gate: Any = None


@dataclass
class _Sentence:
    seq: int
    text: str
    audio: deque[np.ndarray] = field(default_factory=deque)  # made, not yet pulled
    made: int = 0  # samples made so far
    pulled: int = 0  # samples the caller has heard
    done: bool = False  # all its audio has been made


@dataclass
class _ToolCall:
    call_id: str
    name: str
    arguments: dict
    tool: OfferedTool | None  # None: the brain named a tool it was not offered
    turn_id: str
    outcome: dict | None = None  # the ``tool`` message content once answered
    collected: str = ""  # ``collect``: the keys so far


@dataclass
class _Turn:
    turn_id: str
    sentences: list[_Sentence] = field(default_factory=list)
    thinking: bool = True  # the brain may still send sentences
    hangup_after: str | None = None  # end the call with this reason once the turn has been heard
    started: bool = False  # agent.audio_start sent
    calls: list[_ToolCall] = field(default_factory=list)  # this round's tool calls
    rounds: int = 0  # brain → tools rounds so far
    said_from: int = 0  # the first sentence of this round (earlier ones are in ``messages``)
    words: int = 0  # words said so far (against ``max_turn_words``)
    truncated: bool = False  # sentences were dropped at ``max_turn_words``
    handed_off: bool = False  # the gate asked for a human: the brain's further sentences are dropped
    filler_said: bool = False
    final_round: bool = False  # end_call or a transfer: no more thinking after this round
    waiting_said: bool = False  # agent.waiting sent for this round

    def waiting(self) -> bool:
        return any(c.outcome is None for c in self.calls)

    def played_ms(self, rate: int) -> int:
        return sum(s.pulled for s in self.sentences) * 1000 // rate

    def heard_text(self, rate: int) -> str:
        """What the caller heard: whole sentences played, and the played share of the one cut (of
        its length once made; while it is still being made, at a brisk speaking pace)."""
        words: list[str] = []
        for s in self.sentences[self.said_from :]:  # earlier rounds are already in the messages
            if s.done and s.pulled >= s.made:
                words += s.text.split()
                continue
            said = s.text.split()
            if s.done:
                words += said[: len(said) * s.pulled // max(s.made, 1)]
            else:
                words += said[: min(len(said) - 1, int(s.pulled / rate * WORDS_PER_SECOND))]
            break
        return " ".join(words)


class Conversation:
    def __init__(self, options: ConversationOptions) -> None:
        self.options = options
        options.listen.sample_rate = options.rate
        self.listener = StreamSession(options.listen)
        self.echo = EchoGate(options.rate)
        self.clock = 0  # samples of real time so far, counted by the adapter's pulls
        self.barge_floor = barge_floor_dbfs(options.barge_sensitivity)
        self.recent: deque[tuple[int, float]] = deque()  # the caller's latest chunks: (samples, energy)
        self.peak_dbfs = -math.inf  # the loudest LEVEL_WINDOW_MS of the caller's current utterance
        self.quiet_uid: str | None = None  # an utterance under the barge-in floor, over the agent
        self.messages: list[dict] = [{"role": "system", "content": options.persona}]
        self.turn: _Turn | None = None  # the agent turn being thought, made or played
        self.turns = 0
        self.paused_at_ms: int | None = None  # caller speech over the agent: the queue is held
        self.ended = False
        self.tools = {tool.name: tool for tool in options.tools}
        self.tool_specs = [tool.spec() for tool in options.tools]
        self.calls: dict[str, _ToolCall] = {}  # tool calls not answered yet, by call id
        self.collecting: _ToolCall | None = None  # a ``collect`` waiting for the caller's keys
        #: Messages an adapter may edit later, by key: a caller's by utterance id, the agent's by
        #: turn id, an app's by the key it gave (OpenAI Realtime items are deleted and truncated).
        self.tagged: dict[str, dict] = {}
        self.dropped: set[str] = set()  # utterances the app cleared: their words are not heard
        self.open_uid: str | None = None  # the utterance being heard, as last seen (see _stopped)
        self.gated: list[dict] = []  # the gate's decisions other than a plain pass, for the scorecard

    # ---- input -------------------------------------------------------------------------
    def start(self) -> Output:
        """The session opened: speak the greeting (it is the first assistant message)."""
        out = Output(events=[{"type": "session.ready", "t_ms": 0}])
        if self.options.greeting:
            turn = self._new_turn()
            turn.thinking = False
            for sentence in split_sentences(self.options.greeting):
                out += self._add_sentence(turn, sentence)
        return out

    def feed_caller(self, data: bytes) -> Output:
        """One binary frame of caller audio (PCM16 at the session's rate). The agent's own voice
        coming back (a speakerphone) is taken out first, so it is neither speech nor a barge-in."""
        behind = self.clock - self.echo.near_pos
        if behind > self.options.rate * CALLER_GAP_MS // 1000:
            self.echo.skip(behind)
        samples = self.echo.clean(self.listener.decode(data))
        before = self.open_uid
        if before is None:
            self.peak_dbfs = -math.inf
        level = self._level(samples)
        heard = self.listener.feed_native(samples)
        utterance = self.listener.utterance
        out = self.heard(heard)
        if utterance is None:
            return out
        self.peak_dbfs = max(self.peak_dbfs, level)
        loud = self.barge_floor is None or self.peak_dbfs >= self.barge_floor
        if utterance.uid != before:
            out.events.insert(0, self._event("caller.speech_started", utterance_id=utterance.uid))
            if self._agent_audible():
                if loud:
                    out += self._barge()
                else:
                    self.quiet_uid = utterance.uid
        elif self.quiet_uid == utterance.uid and loud:
            self.quiet_uid = None  # the caller raised their voice: now it counts
            if self._agent_audible():
                out += self._barge()
        if self.paused_at_ms is not None and self._t_ms() - self.paused_at_ms > BACKCHANNEL_MAX_MS:
            out += self._interrupt()
        return out

    def heard(self, result: HeardOutput) -> Output:
        """Translate what the listener produced (its events and work) into the conversation's."""
        out = Output(events=self._stopped(), work=list(result.work))
        for event in result.events:
            kind = event["type"]
            if event.get("utterance_id") in self.dropped:
                if kind == "final":
                    self.dropped.discard(event["utterance_id"])
                continue
            if kind == "partial":
                out.events.append(
                    self._event("caller.partial", **_fields(event, "utterance_id", "text", "stable_text"))
                )
            elif kind == "final":
                if event.get("utterance_id") == self.quiet_uid and self.quiet_uid is not None:
                    self.quiet_uid = None  # under the barge-in floor, over the agent: not the caller's turn
                    fields = _fields(event, "utterance_id", "text")
                    out.events.append(self._event("caller.final", **fields, ignored="below_barge_floor"))
                    continue
                out += self._caller_turn(event)
        return out

    def on_sentence(self, turn_id: str, text: str) -> Output:
        """The brain's next sentence for ``turn_id`` (ignored once the turn was interrupted)."""
        turn = self.turn
        if turn is None or turn.turn_id != turn_id or not text.strip() or turn.truncated or turn.handed_off:
            return Output()
        words = len(text.split())
        cap = self.options.max_turn_words
        if cap is not None and turn.words + words > cap:
            turn.truncated = True  # whole sentences only: the turn ends with what fits
            return Output()
        turn.words += words
        return self._add_sentence(turn, text.strip())

    def on_thought(self, turn_id: str, *, end_call: bool = False) -> Output:
        """The brain is done with this round of ``turn_id``; ``end_call`` hangs up once its last
        sentence is heard. With tool calls in the round, the brain is asked again once all of
        them have answered."""
        turn = self.turn
        if turn is None or turn.turn_id != turn_id:
            return Output()
        turn.thinking = False
        if end_call:
            turn.hangup_after = "agent_end_call"
        if turn.calls and not turn.waiting():
            return self._next_round(turn)
        return self._maybe_finish()

    def on_tool_call(self, turn_id: str, call: CallTool) -> Output:
        """The brain calls a tool in ``turn_id``'s current round."""
        turn = self.turn
        if turn is None or turn.turn_id != turn_id:
            return Output()
        tool = self.tools.get(call.name)
        tc = _ToolCall(call.call_id, call.name, call.arguments, tool, turn_id)
        turn.calls.append(tc)
        self.calls[tc.call_id] = tc
        out = Output(
            events=[
                self._event(
                    "tool_call",
                    turn_id=turn_id,
                    call_id=tc.call_id,
                    name=tc.name,
                    arguments=tc.arguments,
                    kind=tool.kind if tool else "unknown",
                )
            ]
        )
        if tool is None:
            out += self._answer(tc, "error", error=f"there is no tool named '{call.name}'")
        elif tool.kind == "engine":
            out += self._engine_tool(turn, tc)
        else:
            out.work.append(RunTool(tc.call_id, tool, tc.arguments, tool.timeout_ms))
        return out

    def on_tool_result(
        self, call_id: str, status: str, result: object = None, error: str | None = None, *, from_app: bool = False
    ) -> Output:
        """A tool's answer: ``status`` ``ok`` with ``result``, or ``error``/``timeout`` with
        ``error``. ``from_app``: the connected app sent it (a client tool), so it is not echoed."""
        tc = self.calls.get(call_id)
        if tc is None:
            return Output()
        if tc is self.collecting and status == "timeout" and tc.collected:
            return self._answer(tc, "ok", {"digits": tc.collected, "complete": False})
        return self._answer(tc, status, result, error, echo=not from_app)

    def pending_tool(self, call_id: str) -> OfferedTool | None:
        """The tool of a call still waiting for its answer (None once answered or unknown)."""
        tc = self.calls.get(call_id)
        return tc.tool if tc is not None else None

    def on_tool_slow(self, call_id: str) -> Output:
        """A tool is still running (the adapter asks every ``SLOW_TOOL_MS``): once the agent has
        nothing left to say, fill the silence once with a short sentence."""
        tc, turn = self.calls.get(call_id), self.turn
        if tc is None or tc is self.collecting or turn is None or tc not in turn.calls or turn.filler_said:
            return Output()
        if any(s.audio or not s.done for s in turn.sentences):
            return Output()  # the agent is still speaking: that is not dead air yet
        turn.filler_said = True
        return self._add_sentence(turn, FILLER)

    def on_dtmf(self, keys: str) -> Output:
        """Keypad presses from the caller: they answer a waiting ``collect``."""
        out = Output(events=[self._event("caller.dtmf", digits=keys)])
        tc = self.collecting
        if tc is None:
            return out
        terminator = tc.arguments.get("terminator", "#")
        want = tc.arguments.get("digits")
        for key in keys:
            if key == terminator:
                return out + self._answer(tc, "ok", {"digits": tc.collected, "complete": True})
            tc.collected += key
            if want and len(tc.collected) >= want:
                return out + self._answer(tc, "ok", {"digits": tc.collected, "complete": True})
        return out

    def on_audio(self, turn_id: str, seq: int, samples: np.ndarray) -> None:
        """A piece of a sentence's audio (float32 at the session's rate)."""
        sentence = self._sentence(turn_id, seq)
        if sentence is not None and len(samples):
            sentence.audio.append(samples.astype(np.float32, copy=False))
            sentence.made += len(samples)

    def on_audio_done(self, turn_id: str, seq: int) -> Output:
        sentence = self._sentence(turn_id, seq)
        if sentence is None:
            return Output()
        sentence.done = True
        return self._maybe_finish()

    def pull(self, n: int) -> tuple[np.ndarray, Output]:
        """Up to ``n`` samples of agent audio to send now (none while caller speech holds it), and
        the events to send *before* them: a turn's ``agent.audio_start`` comes with its first
        audio, its ``agent.audio_end`` with the pull after its last."""
        self.clock += n
        out = self._maybe_finish()  # a turn whose last audio went out on the previous pull ends first
        turn = self.turn
        if turn is None or self.paused_at_ms is not None:
            return np.zeros(0, dtype=np.float32), out
        pieces: list[np.ndarray] = []
        want = n
        for s in turn.sentences:
            while want and s.audio:
                head = s.audio[0]
                take = head[:want]
                if len(take) == len(head):
                    s.audio.popleft()
                else:
                    s.audio[0] = head[want:]
                pieces.append(take)
                s.pulled += len(take)
                want -= len(take)
            if want == 0 or not (s.done and not s.audio):
                break  # this sentence is still being made: nothing after it may play yet
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if len(audio):
            self.echo.played(audio)
        if len(audio) and not turn.started:
            turn.started = True
            out.events.append(self._event("agent.audio_start", turn_id=turn.turn_id))
        return audio, out

    def on_played(self, played_ms: int) -> None:
        """The client's own playback position in the current turn (more exact than pulled audio)."""
        turn = self.turn
        if turn is None:
            return
        left = played_ms * self.options.rate // 1000
        for s in turn.sentences:
            s.pulled = min(s.pulled, max(0, left))
            left -= s.made

    def commit(self) -> Output:
        """The app says the caller's turn is over: end the utterance being heard now. Empty (no
        events) when no speech is being heard."""
        if self.listener.utterance is None:
            return Output()
        return self.heard(self.listener.commit())

    def clear_input(self) -> Output:
        """The app discards the speech being heard: its words never reach the conversation (its
        work still runs, so the recogniser finishes the utterance, but what it hears is dropped)."""
        utterance = self.listener.utterance
        if utterance is None:
            return Output()
        self.dropped.add(utterance.uid)
        work = self.listener.commit().work
        self.open_uid = None  # dropped, not ended: no caller.speech_stopped
        return Output(work=work)

    def add_message(self, key: str, role: str, content: str) -> None:
        """A message the app adds to the conversation (no answer: see :meth:`respond`)."""
        self._remember(key, {"role": role, "content": content})

    def respond(self) -> Output:
        """Answer now: the app asks for the agent's turn (after adding messages, or when the
        caller's turns are not answered by themselves). Whatever the agent was saying stops."""
        out = self._stop_turn()
        turn = self._new_turn()
        out.work.append(Think(turn.turn_id, list(self.messages), self.tool_specs))
        return out

    def cancel(self) -> Output:
        """Stop the agent's turn (the app asked): what was heard of it is remembered."""
        return self._stop_turn()

    def forget(self, key: str) -> bool:
        """Drop a tagged message (with the answers to its tool calls); False if there is none."""
        message = self.tagged.pop(key, None)
        if message is None or not any(m is message for m in self.messages):
            return False
        ids = {c["id"] for c in message.get("tool_calls") or []}
        self.messages[:] = [
            m for m in self.messages if m is not message and not (m["role"] == "tool" and m["tool_call_id"] in ids)
        ]
        return True

    def revise(self, key: str, content: str) -> bool:
        """Replace a tagged message's words (the app knows better what the caller heard)."""
        message = self.tagged.get(key)
        if message is None:
            return False
        message["content"] = content or (None if message.get("tool_calls") else "")
        return True

    def set_persona(self, persona: str) -> None:
        self.options.persona = persona
        self.messages[0]["content"] = persona

    def set_tools(self, tools: list[OfferedTool]) -> None:
        """The tools offered from the next thought on (calls in flight keep their tool)."""
        self.options.tools = tools
        self.tools = {tool.name: tool for tool in tools}
        self.tool_specs = [tool.spec() for tool in tools]

    def end(self, reason: str = "caller_hangup") -> Output:
        if self.ended:
            return Output()
        self.ended = True
        out = self._stop_turn()
        out.events.append(self._event("call.ended", reason=reason))
        out.work.append(Hangup(reason))
        return out

    # ---- internals -----------------------------------------------------------------------
    def _level(self, samples: np.ndarray) -> float:
        """The caller's level (dBFS, as :func:`echo.level_dbfs`) over the last ``LEVEL_WINDOW_MS``,
        this chunk included: running sums, so each chunk is squared once."""
        self.recent.append((len(samples), float(np.dot(samples, samples))))
        keep = self.options.rate * LEVEL_WINDOW_MS // 1000
        while len(self.recent) > 1 and sum(n for n, _ in self.recent) - self.recent[0][0] >= keep:
            self.recent.popleft()
        n = sum(n for n, _ in self.recent)
        return power_dbfs(sum(e for _, e in self.recent) / n if n else 0.0)

    def _stopped(self) -> list[dict]:
        """``caller.speech_stopped`` once the utterance being heard has ended — by the VAD, the
        turn model's verdict or a commit — so before its final; and which one is heard now."""
        current = self.listener.utterance.uid if self.listener.utterance is not None else None
        ended, self.open_uid = self.open_uid, current
        if ended is None or ended == current:
            return []
        return [self._event("caller.speech_stopped", utterance_id=ended)]

    def _barge(self) -> Output:
        """Loud caller speech over the agent, as ``barge_in`` says."""
        if self.options.barge_in == "interrupt":
            return self._interrupt()
        if self.options.barge_in == "pause":
            self.paused_at_ms = self._t_ms()  # stop sending at once; decide when we know more
        return Output()

    def _remember(self, key: str, message: dict) -> None:
        self.messages.append(message)
        self.tagged[key] = message

    def _t_ms(self) -> int:
        return self.listener.samples_seen * 1000 // LISTEN_RATE

    def _event(self, event_type: str, /, **fields: object) -> dict:
        return {"type": event_type, **fields, "t_ms": self._t_ms()}

    def _new_turn(self) -> _Turn:
        self.turns += 1
        self.turn = _Turn(f"turn_{self.turns}")
        return self.turn

    def _add_sentence(self, turn: _Turn, text: str, *, gated: bool = True) -> Output:
        out = Output()
        if gated and self.options.gate is not None:
            out, text = self._gate(turn, text)
            if not text:
                return out
        seq = len(turn.sentences)
        turn.sentences.append(_Sentence(seq, text))
        out.events.append(self._event("agent.text", turn_id=turn.turn_id, seq=seq, text=text))
        out.work.append(Synthesize(turn.turn_id, seq, text))
        return out

    def _gate(self, turn: _Turn, text: str) -> tuple[Output, str]:
        """Trace's verdict on a sentence about to be spoken: (events, the text to speak, "" for
        none). A handoff transfers the call with the usual announcement instead."""
        decision = self.options.gate.check(text, self.clock * 1000 // self.options.rate, turn_id=turn.turn_id)
        if decision.action == "pass" and not decision.findings:
            return Output(), text
        findings = [dict(f) for f in decision.findings]
        seq = len(turn.sentences)
        self.gated.append({"turn_id": turn.turn_id, "seq": seq, "action": decision.action, "findings": findings})
        event = self._event("trace.gate", turn_id=turn.turn_id, action=decision.action, findings=findings)
        out = Output(events=[event])
        if decision.action == "block":
            return out, ""
        if decision.action == "handoff":
            turn.handed_off, turn.final_round, turn.hangup_after = True, True, "transfer"
            tool = self.tools.get("transfer_to_human")
            to = tool.config.get("human_number") if tool is not None else None
            reason = "compliance: " + "; ".join(f.get("reason", "") for f in findings)[:300]
            out.events.append(self._event("transfer", to=to, reason=reason, summary=""))
            return out + self._add_sentence(turn, TRANSFER_ANNOUNCEMENT, gated=False), ""
        return out, text if decision.text is None else decision.text

    def _sentence(self, turn_id: str, seq: int) -> _Sentence | None:
        turn = self.turn
        if turn is None or turn.turn_id != turn_id or seq >= len(turn.sentences):
            return None
        return turn.sentences[seq]

    def _agent_audible(self) -> bool:
        """The agent has audio playing or about to play (a turn waiting on a tool, all of its
        audio played, is not: caller speech then is simply the caller's next turn)."""
        turn = self.turn
        return turn is not None and any(s.audio or (turn.started and not s.done) for s in turn.sentences)

    def _add_audio(self, turn: _Turn, *pieces: np.ndarray) -> None:
        """Audio the agent plays that is not speech (keypad tones, hold audio), in sentence order."""
        sentence = _Sentence(len(turn.sentences), "", deque(pieces), made=sum(map(len, pieces)), done=True)
        turn.sentences.append(sentence)

    def _engine_tool(self, turn: _Turn, tc: _ToolCall) -> Output:
        """Call control, done here and at once (``collect`` waits for the caller's keys)."""
        assert tc.tool is not None
        args, config, rate = tc.arguments, tc.tool.config, self.options.rate
        out = Output()
        if tc.name == "end_call":
            turn.final_round, turn.hangup_after = True, "agent_end_call"
            if (farewell := config.get("farewell")) and not any(s.text for s in turn.sentences):
                out += self._add_sentence(turn, farewell)
            return out + self._answer(tc, "ok", {"ending": True})
        if tc.name == "transfer_to_human":
            to = config.get("human_number")
            turn.final_round, turn.hangup_after = True, "transfer"
            out.events.append(
                self._event("transfer", to=to, reason=args.get("reason", ""), summary=args.get("summary", ""))
            )
            out += self._add_sentence(turn, config.get("announcement") or TRANSFER_ANNOUNCEMENT)
            return out + self._answer(tc, "ok", {"transferred_to": to})
        if tc.name == "send_dtmf":
            keys = str(args.get("digits", ""))
            if not keys or any(k.upper() not in tones.KEYS and k not in tones.PAUSE_KEYS for k in keys):
                return self._answer(tc, "error", error="digits: only 0-9, *, #, A-D, w and commas")
            self._add_audio(turn, tones.dtmf(keys, rate, int(config.get("tone_ms") or 100)))
            return self._answer(tc, "ok", {"sent": keys})
        if tc.name == "play_hold":
            cap = int(config.get("max_hold_seconds") or DEFAULT_HOLD_CAP_S)
            seconds = max(1, min(int(args.get("seconds", 30)), cap))
            out += self._add_sentence(turn, args.get("message") or config.get("hold_message") or HOLD_MESSAGE)
            period = tones.hold_period(rate)
            whole, rest = divmod(seconds * rate, len(period))
            self._add_audio(turn, *([period] * whole), period[:rest])  # one period, referenced: no copies
            return out + self._answer(tc, "ok", {"held_seconds": seconds})
        if tc.name == "collect":
            if self.collecting is not None:
                out += self._answer(self.collecting, "error", error="a newer collect replaced this one")
            self.collecting = tc
            if prompt := args.get("prompt"):
                out += self._add_sentence(turn, prompt)
            timeout = int(args.get("timeout_ms") or tc.tool.timeout_ms)
            out.work.append(RunTool(tc.call_id, tc.tool, args, timeout))
            return out
        return self._answer(tc, "error", error=f"the call engine cannot run '{tc.name}'")

    def _answer(
        self, tc: _ToolCall, status: str, result: object = None, error: str | None = None, *, echo: bool = True
    ) -> Output:
        """Settle a tool call; when it was the last one of its round, the brain goes on."""
        if tc.outcome is not None:
            return Output()
        tc.outcome = {"status": status, "error": error} if error is not None else {"status": status, "result": result}
        self.calls.pop(tc.call_id, None)
        if self.collecting is tc:
            self.collecting = None
        out = Output()
        if echo:
            out.events.append(self._event("tool_result", call_id=tc.call_id, name=tc.name, **tc.outcome))
        turn = self.turn
        if turn is not None and tc in turn.calls:
            if not turn.thinking and not turn.waiting():
                out += self._next_round(turn)
        elif turn is None and not self.ended:  # a collect answered after the caller spoke over its prompt
            turn = self._new_turn()
            turn.thinking, turn.calls = False, [tc]
            out += self._next_round(turn)
        return out

    def _record_calls(self, calls: list[_ToolCall], said: str) -> dict:
        """The round's tool calls and answers in the messages, as the chat-completions API expects
        them: the assistant message with ``tool_calls`` (returned), then one ``tool`` message per call."""
        message = {
            "role": "assistant",
            "content": said or None,
            "tool_calls": [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in calls
            ],
        }
        self.messages.append(message)
        for c in calls:
            self.messages.append({"role": "tool", "tool_call_id": c.call_id, "content": json.dumps(c.outcome)})
        return message

    def _next_round(self, turn: _Turn) -> Output:
        """Every call of the round has answered: remember them, and ask the brain again."""
        said = " ".join(s.text for s in turn.sentences[turn.said_from :] if s.text)
        self._record_calls(turn.calls, said)
        turn.calls, turn.said_from, turn.waiting_said = [], len(turn.sentences), False
        if turn.final_round:
            return self._maybe_finish()
        turn.rounds += 1
        turn.thinking = True
        tools = self.tool_specs if turn.rounds < MAX_TOOL_ROUNDS else []
        return Output(work=[Think(turn.turn_id, list(self.messages), tools, turn.rounds)])

    def _caller_turn(self, event: dict) -> Output:
        """A final transcript: a backchannel over the agent, an interruption, or the caller's turn."""
        text = event.get("text", "").strip()
        out = Output(events=[self._event("caller.final", **_fields(event, "utterance_id", "text"))])
        if self.paused_at_ms is not None:
            if self.options.ack_mode != "off" and _is_backchannel(text):
                self.paused_at_ms = None  # the agent goes on where it paused
                return out
            out += self._interrupt()
        if not text:
            return out
        if (tc := self.collecting) is not None:
            if digits := spoken_digits(text):  # the caller said the keys instead of typing them
                return out + self._answer(tc, "ok", {"digits": digits, "complete": True, "spoken": True})
            tc.outcome = {"status": "error", "error": "the caller spoke instead of entering keys"}
            self.calls.pop(tc.call_id, None)
            self.collecting = None
            if self.turn is None or tc not in self.turn.calls:
                self._record_calls([tc], "")
        key = event.get("utterance_id") or f"said_{len(self.messages)}"
        if not self.options.auto_respond:
            self._remember(key, {"role": "user", "content": text})
            return out
        out += self._stop_turn()  # the agent had started (or was about to): the caller's words win
        self._remember(key, {"role": "user", "content": text})
        turn = self._new_turn()
        out.work.append(Think(turn.turn_id, list(self.messages), self.tool_specs))
        return out

    def _stop_turn(self) -> Output:
        """End the agent's turn early: interrupt it if it has audio out, else just drop it."""
        turn = self.turn
        if turn is None:
            return Output()
        if turn.started or self._agent_audible():
            return self._interrupt()
        self._close_turn()  # only thought of: nothing of it was heard (its tool calls are remembered)
        return Output(events=[self._turn_end(turn, "cancelled")], work=[Cancel(turn.turn_id)])

    def _interrupt(self) -> Output:
        """Caller speech over the agent: drop its queued audio, keep only what was heard."""
        self.paused_at_ms = None
        turn = self.turn
        if turn is None:
            return Output()
        played_ms = turn.played_ms(self.options.rate)
        heard = self._close_turn()
        return Output(
            events=[
                self._event("interruption", turn_id=turn.turn_id, played_ms=played_ms, heard_text=heard),
                self._turn_end(turn, "interrupted"),
            ],
            work=[Cancel(turn.turn_id)],
        )

    def _turn_end(self, turn: _Turn, status: str) -> dict:
        """The last event of every agent turn: ``completed``, ``interrupted`` (some of it was
        heard) or ``cancelled`` (stopped before any of it played)."""
        extra = {"truncated": True} if turn.truncated else {}
        return self._event("agent.turn_end", turn_id=turn.turn_id, status=status, **extra)

    def _close_turn(self) -> str:
        """Remember what the caller heard of the turn, end it, and return that text. Tool calls
        still running are remembered as cancelled (a ``collect`` keeps waiting for keys)."""
        turn, self.turn = self.turn, None
        if turn is None:
            return ""
        if self.options.gate is not None:
            self.options.gate.on_turn_end()
        heard = turn.heard_text(self.options.rate)
        calls = [c for c in turn.calls if c is not self.collecting]
        for c in calls:
            if c.outcome is None:
                c.outcome = {"status": "cancelled", "error": "the caller spoke before it answered"}
                self.calls.pop(c.call_id, None)
        if calls:
            self.tagged[turn.turn_id] = self._record_calls(calls, heard)
        elif heard:
            self._remember(turn.turn_id, {"role": "assistant", "content": heard})
        return heard

    def _maybe_finish(self) -> Output:
        """The turn is over once the brain is done and every sentence has been made and heard."""
        turn = self.turn
        if turn is None or turn.thinking or not all(s.done and not s.audio for s in turn.sentences):
            return Output()
        if turn.calls:  # all said: the round waits for its tools (once, so a UI can show it)
            if turn.waiting_said or not turn.waiting():
                return Output()
            turn.waiting_said = True
            waiting = [c.call_id for c in turn.calls if c.outcome is None]
            return Output(events=[self._event("agent.waiting", turn_id=turn.turn_id, call_ids=waiting)])
        out = Output()
        if turn.started:
            out.events.append(
                self._event("agent.audio_end", turn_id=turn.turn_id, audio_ms=turn.played_ms(self.options.rate))
            )
        reason = turn.hangup_after
        self._close_turn()
        out.events.append(self._turn_end(turn, "completed"))
        if reason:
            out += self.end(reason)
        return out


def _fields(event: dict, *names: str) -> dict:
    return {k: event[k] for k in names if k in event}


def spoken_digits(text: str) -> str:
    """The keys in a caller's words when they are nothing but digits ("one two three four",
    "1 2 3 4", "oh five"); "" otherwise, so a sentence that mentions a number is not taken as keys."""
    keys = []
    for word in re.findall(r"[a-z]+|\d+|[^\s\w]", text.lower().replace("'", "")):
        if word.isdigit():
            keys.append(word)
        elif word in DIGIT_KEYS:
            keys.append(DIGIT_KEYS[word])
        elif word not in {",", ".", "-", "and", "is", "it", "its", "my", "pound", "hash", "the"}:
            return ""
    return "".join(keys)


def _is_backchannel(text: str) -> bool:
    words = _WORD.findall(text.lower())
    return 0 < len(words) <= 3 and all(w in BACKCHANNEL_WORDS for w in words)
