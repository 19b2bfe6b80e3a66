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
- :class:`Hangup` — the call is over (after the goodbye has been played).

Agent audio waits in a queue the adapter drains at real time with :meth:`Conversation.pull`, so
what has been *pulled* is what the caller has heard (a client can report its own playback
position, :meth:`Conversation.on_played`). Barge-in: caller speech over agent audio pauses the
queue at once; a short backchannel ("mm-hm") resumes it unless ``ack_mode`` is ``off``; anything
else interrupts the turn — queued audio is dropped, the client is told to flush, and the agent's
memory keeps only the words the caller heard before the cut.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pyai.engines.tts.sentences import split_sentences
from pyai.hear.streaming import RATE as LISTEN_RATE
from pyai.hear.streaming import Output as HeardOutput
from pyai.hear.streaming import StreamOptions, StreamSession
from pyai.hear.streaming import Work as ListenWork

#: Speech shorter than this can still be a backchannel; longer speech over the agent interrupts
#: it without waiting for the words.
BACKCHANNEL_MAX_MS = 700
#: Words a listener says to show they are listening ("mm-hm", "okay", "got it", "I see").
BACKCHANNEL_WORDS = frozenset(
    "mm mhm mm-hm mmhm hmm uh-huh uh huh uhhuh yeah yep yes ok okay right sure alright got it i see".split()
)
#: A brisk speaking pace, for the words heard of a sentence cut before all of it was made.
WORDS_PER_SECOND = 3.0
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")


@dataclass(frozen=True)
class Think:
    turn_id: str
    messages: list[dict]  # OpenAI chat format: the conversation so far, the caller's turn last


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


Work = ListenWork | Think | Synthesize | Cancel | Hangup


@dataclass
class Output:
    """What one input produced: events for the client, in order, and work for the adapter."""

    events: list[dict] = field(default_factory=list)
    work: list[Work] = field(default_factory=list)

    def __iadd__(self, other: Output | HeardOutput) -> Output:
        self.events += other.events
        self.work += other.work
        return self


@dataclass
class ConversationOptions:
    rate: int = 24000  # caller and agent audio, both directions
    persona: str = "You are a helpful voice agent. Keep answers short."
    greeting: str | None = None
    #: The contract's conversational-acknowledgment mode: with ``auto`` or ``always`` a backchannel
    #: ("mm-hm") over the agent is an acknowledgment and the agent goes on; ``off`` treats it as
    #: any other speech (it interrupts).
    ack_mode: str = "auto"
    listen: StreamOptions = field(default_factory=StreamOptions)


@dataclass
class _Sentence:
    seq: int
    text: str
    audio: deque[np.ndarray] = field(default_factory=deque)  # made, not yet pulled
    made: int = 0  # samples made so far
    pulled: int = 0  # samples the caller has heard
    done: bool = False  # all its audio has been made


@dataclass
class _Turn:
    turn_id: str
    sentences: list[_Sentence] = field(default_factory=list)
    thinking: bool = True  # the brain may still send sentences
    hangup_after: str | None = None  # end the call with this reason once the turn has been heard
    started: bool = False  # agent.audio_start sent

    def played_ms(self, rate: int) -> int:
        return sum(s.pulled for s in self.sentences) * 1000 // rate

    def heard_text(self, rate: int) -> str:
        """What the caller heard: whole sentences played, and the played share of the one cut (of
        its length once made; while it is still being made, at a brisk speaking pace)."""
        words: list[str] = []
        for s in self.sentences:
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
        self.messages: list[dict] = [{"role": "system", "content": options.persona}]
        self.turn: _Turn | None = None  # the agent turn being thought, made or played
        self.turns = 0
        self.paused_at_ms: int | None = None  # caller speech over the agent: the queue is held
        self.ended = False

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
        """One binary frame of caller audio (PCM16 at the session's rate)."""
        was_speaking = self.listener.utterance is not None
        out = self.heard(self.listener.feed_bytes(data))
        if not was_speaking and self.listener.utterance is not None:
            out.events.insert(0, self._event("caller.speech_started", utterance_id=self.listener.utterance.uid))
            if self._agent_audible():
                self.paused_at_ms = self._t_ms()  # stop sending at once; decide when we know more
        if self.paused_at_ms is not None and self.listener.utterance is not None:
            if self._t_ms() - self.paused_at_ms > BACKCHANNEL_MAX_MS:
                out += self._interrupt()
        return out

    def heard(self, result: HeardOutput) -> Output:
        """Translate what the listener produced (its events and work) into the conversation's."""
        out = Output(work=list(result.work))
        for event in result.events:
            kind = event["type"]
            if kind == "partial":
                out.events.append(
                    self._event("caller.partial", **_fields(event, "utterance_id", "text", "stable_text"))
                )
            elif kind == "final":
                out += self._caller_turn(event)
        return out

    def on_sentence(self, turn_id: str, text: str) -> Output:
        """The brain's next sentence for ``turn_id`` (ignored once the turn was interrupted)."""
        turn = self.turn
        if turn is None or turn.turn_id != turn_id or not text.strip():
            return Output()
        return self._add_sentence(turn, text.strip())

    def on_thought(self, turn_id: str, *, end_call: bool = False) -> Output:
        """The brain is done with ``turn_id``; ``end_call`` hangs up once its last sentence is heard."""
        turn = self.turn
        if turn is None or turn.turn_id != turn_id:
            return Output()
        turn.thinking = False
        if end_call:
            turn.hangup_after = "agent_end_call"
        return self._maybe_finish()

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

    def end(self, reason: str = "caller_hangup") -> Output:
        if self.ended:
            return Output()
        self.ended = True
        out = self._stop_turn()
        out.events.append(self._event("call.ended", reason=reason))
        out.work.append(Hangup(reason))
        return out

    # ---- internals -----------------------------------------------------------------------
    def _t_ms(self) -> int:
        return self.listener.samples_seen * 1000 // LISTEN_RATE

    def _event(self, kind: str, **fields: object) -> dict:
        return {"type": kind, **fields, "t_ms": self._t_ms()}

    def _new_turn(self) -> _Turn:
        self.turns += 1
        self.turn = _Turn(f"turn_{self.turns}")
        return self.turn

    def _add_sentence(self, turn: _Turn, text: str) -> Output:
        seq = len(turn.sentences)
        turn.sentences.append(_Sentence(seq, text))
        return Output(
            events=[self._event("agent.text", turn_id=turn.turn_id, seq=seq, text=text)],
            work=[Synthesize(turn.turn_id, seq, text)],
        )

    def _sentence(self, turn_id: str, seq: int) -> _Sentence | None:
        turn = self.turn
        if turn is None or turn.turn_id != turn_id or seq >= len(turn.sentences):
            return None
        return turn.sentences[seq]

    def _agent_audible(self) -> bool:
        """The agent has audio playing or about to play."""
        turn = self.turn
        return turn is not None and (turn.started or any(s.audio for s in turn.sentences))

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
        out += self._stop_turn()  # the agent had started (or was about to): the caller's words win
        self.messages.append({"role": "user", "content": text})
        turn = self._new_turn()
        out.work.append(Think(turn.turn_id, list(self.messages)))
        return out

    def _stop_turn(self) -> Output:
        """End the agent's turn early: interrupt it if it has audio out, else just drop it."""
        turn = self.turn
        if turn is None:
            return Output()
        if self._agent_audible():
            return self._interrupt()
        self.turn = None  # only thought of: nothing of it was heard
        return Output(work=[Cancel(turn.turn_id)])

    def _interrupt(self) -> Output:
        """Caller speech over the agent: drop its queued audio, keep only what was heard."""
        self.paused_at_ms = None
        turn = self.turn
        if turn is None:
            return Output()
        played_ms = turn.played_ms(self.options.rate)
        heard = self._close_turn()
        return Output(
            events=[self._event("interruption", turn_id=turn.turn_id, played_ms=played_ms, heard_text=heard)],
            work=[Cancel(turn.turn_id)],
        )

    def _close_turn(self) -> str:
        """Remember what the caller heard of the turn, end it, and return that text."""
        turn, self.turn = self.turn, None
        heard = turn.heard_text(self.options.rate) if turn else ""
        if heard:
            self.messages.append({"role": "assistant", "content": heard})
        return heard

    def _maybe_finish(self) -> Output:
        """The turn is over once the brain is done and every sentence has been made and heard."""
        turn = self.turn
        if turn is None or turn.thinking or not all(s.done and not s.audio for s in turn.sentences):
            return Output()
        out = Output()
        if turn.started:
            out.events.append(
                self._event("agent.audio_end", turn_id=turn.turn_id, audio_ms=turn.played_ms(self.options.rate))
            )
        reason = turn.hangup_after
        self._close_turn()
        if reason:
            out += self.end(reason)
        return out


def _fields(event: dict, *names: str) -> dict:
    return {k: event[k] for k in names if k in event}


def _is_backchannel(text: str) -> bool:
    words = _WORD.findall(text.lower())
    return 0 < len(words) <= 3 and all(w in BACKCHANNEL_WORDS for w in words)
