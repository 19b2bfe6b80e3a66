"""One streaming-transcription session, sans I/O: audio and commands in, events and work out.

Audio is cut into 20 ms frames at 16 kHz. Silero VAD opens an utterance at speech onset (with
300 ms of pre-roll so the first phone is not clipped; steady noise, hiss and hold music do not
open one). When the speaker pauses, the turn model judges whether the turn sounds finished and the
``eagerness`` policy sets how much more silence ends it (engines/turn/policy.py); the utterance
also ends on ``commit``/``EOF`` or at 30 s, and speech that goes on through a commit or the 30 s
cut opens the next utterance at once, so nothing said is dropped.

Recognition is slow work the session never does itself: it returns *work* for the adapter to run
and feed back, and it never waits for it, so reading audio never waits on a decode.

- :class:`Recognize` — more audio of an utterance for the incremental recogniser; the adapter
  answers :meth:`StreamSession.on_partial` with the hypothesis so far (→ ``partial``).
- :class:`Finish` — the utterance ended; answer :meth:`StreamSession.on_quick` with the
  recogniser's transcript (→ ``speech_final``, at once).
- :class:`Decode` — the whole utterance for the full-context engine; answer
  :meth:`StreamSession.on_final` (→ ``final``, after the utterance's ``speech_final``).
- :class:`LookAhead` — with an engine that can force a prefix (``options.lookahead``): the
  utterance *so far* for the full-context engine, ~0.1 s into each pause (and every 3 s of
  speech in an utterance longer than 4 s), run only when the engine has room
  (hear/decode_gate.py); answer :meth:`StreamSession.on_lookahead`. Two consecutive
  look-aheads that agree on their first words make those words ``stable_text``, and every later
  decode of the utterance is forced to begin with them, so ``stable_text`` only grows and is a
  prefix of the ``final``. A look-ahead that already covers all of the speech when the turn ends
  *is* the final, which is then sent without another decode. A decode takes ~0.5-1 s on 2 cores
  and one in flight when the turn ends delays the final (it waits for it, then for its own), so
  short utterances — most turns — get look-aheads only at pauses; running the one at a pause
  beside it instead starved the turn model and was slower still (in trial sessions).
- :class:`JudgeTurn` — the speaker paused: score the utterance audio with the turn model and
  answer :meth:`StreamSession.on_turn` (which may end the utterance).

Billing counts speech time from the final transcript's word timings, so silence and noise cost
nothing.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from pyai.audio.g711 import ENCODINGS as G711
from pyai.audio.g711 import g711_decode
from pyai.audio.opus import OpusPacketDecoder
from pyai.audio.pcm import float_to_pcm16, pcm16_to_float
from pyai.audio.resample import StreamResampler
from pyai.engines.stt.base import Transcript
from pyai.engines.turn.policy import TurnPolicy
from pyai.engines.vad.silero import SileroEndpointer
from pyai.engines.vad.webrtc import VadEvent
from pyai.text.numerals import to_numerals

RATE = 16000
FRAME = RATE // 50  # 20 ms
BLOCK_FRAMES = 5  # 100 ms per recogniser block / partial tick
PREROLL_FRAMES = 15  # 300 ms
MAX_UTTERANCE_FRAMES = 30 * 50  # 30 s
#: Silence inside an utterance after which the incremental recogniser is fed no more of it (until
#: speech resumes): its hypothesis has settled by then, and decoding the rest of a pause (up to the
#: turn's 1.5 s fallback) only took CPU from the Whisper decode running at that very moment.
PARTIALS_PAUSE_MS = 320


@dataclass
class StreamOptions:
    sample_rate: int = 16000
    encoding: str = "pcm16"
    interim_results: bool = True
    numerals: bool = False
    language: str = "en"
    endpointing_ms: int | None = None  # the longest pause within a turn (the policy's fallback)
    eagerness: str = "normal"
    keyterms: list[str] = field(default_factory=list)
    seed: int | None = None
    temperature: float | None = None
    lookahead: bool = False  # the full-context engine can force a prefix: stable words from look-aheads


@dataclass(frozen=True)
class Recognize:
    uid: str
    pcm: bytes  # PCM16 LE, 16 kHz
    t_ms: int  # audio time at the end of this audio: the position of the hypothesis it yields


@dataclass(frozen=True)
class Finish:
    uid: str


@dataclass(frozen=True)
class Decode:
    uid: str
    samples: np.ndarray  # float32, 16 kHz
    prefix: str = ""  # the stable words: the transcript must begin with them


@dataclass(frozen=True)
class LookAhead:
    uid: str
    samples: np.ndarray  # the utterance so far
    prefix: str
    frames: int  # how many 20 ms frames of the utterance it covers
    at_pause: bool = True  # asked at a pause (it may be the final) rather than mid-speech


@dataclass(frozen=True)
class JudgeTurn:
    uid: str
    pause: VadEvent
    audio: np.ndarray  # the utterance so far (at most the last 8 s), for the turn model


Work = Recognize | Finish | Decode | LookAhead | JudgeTurn

LOOKAHEAD_SILENCE_MS = 96  # a look-ahead as soon as the speaker falls silent (before the turn model is asked)
LOOKAHEAD_LONG_FRAMES = 200  # ... and in an utterance longer than 4 s, for its stable words,
LOOKAHEAD_EVERY_FRAMES = 150  # one per 3 s of audio while the speaker talks on
SPEECH_MARGIN_FRAMES = 2  # a look-ahead is the final if it covers the speech and 40 ms more
CUT_SHORT_S = 1.0  # ... and its words do not end more than this before the speech does
SENTENCE_END = ".?!…"


@dataclass
class _Utterance:
    uid: str
    audio: list[np.ndarray] = field(default_factory=list)
    pending: list[np.ndarray] = field(default_factory=list)
    stable: list[str] = field(default_factory=list)  # words every later decode must begin with
    last_words: list[str] = field(default_factory=list)  # the incremental recogniser's latest
    hypothesis: list[str] = field(default_factory=list)  # the latest look-ahead's words
    voiced_frames: int = 0  # frames up to the end of the latest speech the VAD heard
    looking_at: int | None = None  # frames the look-ahead in flight covers
    asked_at: int = 0  # frames covered by the latest look-ahead asked for
    ahead: tuple[int, Transcript] | None = None  # the latest look-ahead's frames and transcript
    decoding: bool = False  # the final decode was asked for
    unforced: bool = False  # ... again without the stable prefix, which had cut it short
    closed: bool = False
    t_ms: int = 0  # audio time at which it closed
    speech_seconds: float = 0.0  # what the VAD called speech (bills an utterance cut off by a hang-up)
    quick: Transcript | None = None
    quick_sent: bool = False
    final: Transcript | None = None
    final_failed: bool = False  # the full-context engine failed: the quick transcript stands in
    #: A pause the turn model called finished but whose words so far went on ("... return an"):
    #: the pause and the model's probability, so a fresher transcript can settle it.
    overruled: tuple[VadEvent, float] | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) * FRAME / RATE


@dataclass
class Output:
    """What one input produced: events for the client, in order, and work for the adapter."""

    events: list[dict] = field(default_factory=list)
    work: list[Work] = field(default_factory=list)

    def __iadd__(self, other: Output) -> Output:
        self.events += other.events
        self.work += other.work
        return self


def agreed_prefix(previous: list[str], current: list[str]) -> int:
    """How many leading words two consecutive hypotheses agree on (the newest word stays active)."""
    n = 0
    for a, b in zip(previous, current[:-1], strict=False):
        if a != b:
            break
        n += 1
    return n


class StreamSession:
    def __init__(self, options: StreamOptions) -> None:
        self.options = options
        self.product = "hear"
        policy = TurnPolicy.for_eagerness(options.eagerness)
        if options.endpointing_ms is not None:
            policy = dataclasses.replace(policy, incomplete_ms=max(options.endpointing_ms, policy.complete_ms))
        self.vad = SileroEndpointer(policy=policy)
        self.resampler = StreamResampler(options.sample_rate, RATE) if options.sample_rate != RATE else None
        self.opus = OpusPacketDecoder(RATE) if options.encoding == "opus" else None
        self.backlog = np.zeros(0, dtype=np.float32)
        self.samples_seen = 0
        self.preroll: collections.deque[np.ndarray] = collections.deque(maxlen=PREROLL_FRAMES)
        self.utterance: _Utterance | None = None
        self.unfinished: dict[str, _Utterance] = {}  # closed, awaiting speech_final and/or final
        self.resume_in_speech = False
        self.count = 0
        self.billed_seconds = 0.0
        self._grounding: dict[str, list[dict]] = {}

    # ---- input -------------------------------------------------------------------------
    def feed_bytes(self, data: bytes) -> Output:
        """Decode one binary frame (PCM16 LE or G.711 at the negotiated rate, or one Opus packet)."""
        if self.opus is not None:
            return self.feed(self.opus.decode(data))
        return self.feed_native(self.decode(data))

    def decode(self, data: bytes) -> np.ndarray:
        """One PCM16 or G.711 frame as float samples at the negotiated rate (ValueError if torn)."""
        if self.options.encoding in G711:
            return g711_decode(data, self.options.encoding)
        if len(data) % 2:
            raise ValueError(f"a PCM16 frame must hold whole 2-byte samples; got {len(data)} bytes (frame dropped)")
        return pcm16_to_float(data)

    def feed_native(self, samples: np.ndarray) -> Output:
        """Feed float samples at the negotiated rate (the Omni engine cleans them of echo first)."""
        if self.resampler is not None:
            samples = self.resampler.process(samples)
        return self.feed(samples)

    def feed(self, samples: np.ndarray) -> Output:
        """Feed 16 kHz float samples; returns the events and work they caused, in order."""
        self.backlog = np.concatenate([self.backlog, samples.astype(np.float32, copy=False)])
        out = Output()
        n_frames = len(self.backlog) // FRAME
        for i in range(n_frames):
            out += self._frame(self.backlog[i * FRAME : (i + 1) * FRAME])
        self.backlog = self.backlog[n_frames * FRAME :]
        return out

    def set_turn_detection(
        self, eagerness: str = "normal", silence_ms: int | None = None, threshold: float | None = None
    ) -> None:
        """How turns end from now on. ``silence_ms``: a fixed silence ends every turn (OpenAI's
        ``server_vad``; the turn model is then not asked), else the turn model's schedule for
        ``eagerness``; ``threshold``: the speech probability at which the VAD hears speech."""
        policy = TurnPolicy.for_eagerness(eagerness)
        if silence_ms is not None:
            never = silence_ms + 1000  # no pause is judged before the silence ends the turn
            policy = dataclasses.replace(policy, pause_ms=never, complete_ms=silence_ms, incomplete_ms=silence_ms)
        self.vad.policy = policy
        if threshold is not None:
            self.vad.set_threshold(threshold)

    def commit(self) -> Output:
        """``commit`` / ``EOF``: end the open utterance now; speech still going on starts the next."""
        if self.utterance is None:
            return Output()
        self.resume_in_speech = True
        return self._close_utterance()

    # ---- results of the adapter's work ----------------------------------------------------
    def on_partial(self, uid: str, hypothesis: str, t_ms: int) -> Output:
        """The incremental recogniser's hypothesis for an utterance → a ``partial`` (until its
        ``speech_final``: a client sending faster than real time may have ended it meanwhile).

        The partial's ``stable_text`` is the words the look-aheads settled (see
        :meth:`on_lookahead`); this hypothesis supplies the words after them.
        """
        utt = self._find(uid)
        if utt is None:
            return Output()
        words = hypothesis.split()
        if not words or words == utt.last_words:
            return Output()
        utt.last_words = words
        out = self._partial(utt, t_ms)
        out += self._reconsider(utt, words)
        return out

    def on_lookahead(self, work: LookAhead, transcript: Transcript | None) -> Output:
        """A look-ahead's transcript (``None``: it was not run, the engine being busy, or failed).

        The words two consecutive look-aheads agree on, up to but not including the newest word,
        become stable. Each look-ahead was forced to begin with the stable words it was given, so
        the stable words only grow.
        """
        utt = self._find(work.uid)
        if utt is None:
            return Output()
        if utt.looking_at == work.frames:
            utt.looking_at = None
        out = Output()
        if transcript is not None:
            words = transcript.text.split()
            grew = False
            if words[: len(utt.stable)] == utt.stable:
                agreed = agreed_prefix(utt.hypothesis, words)
                while agreed > len(utt.stable) and words[agreed - 1][-1] in SENTENCE_END:
                    agreed -= 1  # forced to end on a full stop, Whisper may stop there too
                if agreed > len(utt.stable):
                    utt.stable, grew = words[:agreed], True
            utt.hypothesis = words
            utt.ahead = (work.frames, transcript)  # one in flight at a time: each covers more
            if grew and not utt.closed:
                out += self._partial(utt, self._t_ms())
            if work.frames >= utt.voiced_frames:  # it heard all of the speech before this pause
                out += self._reconsider(utt, words)
        if utt.closed and not utt.decoding and utt.final is None:
            out += self._finalize(utt)
        elif not utt.closed and self._pausing:  # still pausing: look at what was said since
            out.work += self._look_ahead(utt, at_pause=True)
        return out

    def on_quick(self, uid: str, transcript: Transcript) -> Output:
        """The recogniser's own end-of-utterance transcript → ``speech_final`` (and a waiting ``final``)."""
        utt = self.unfinished.get(uid)
        if utt is None:
            return Output()
        utt.quick = transcript
        return self._settle()

    def on_final(self, uid: str, transcript: Transcript | None) -> Output:
        """The full-context transcript → ``final`` (sent after the utterance's ``speech_final``).

        ``None`` means the full-context engine failed: the quick transcript stands in for it.
        """
        utt = self.unfinished.get(uid)
        if utt is None:
            return Output()
        if transcript is not None and utt.stable and not utt.unforced and self._cut_short(utt, transcript):
            # Forced to begin with the stable words, Whisper ended early and dropped speech: losing
            # words is worse than breaking the prefix promise, so decode once more without it.
            utt.unforced = True
            return Output(work=[Decode(uid, np.concatenate(utt.audio))])
        utt.final, utt.final_failed = transcript, transcript is None
        return self._settle()

    def on_turn(self, uid: str, pause: VadEvent, probability: float) -> Output:
        """The turn model's probability that the speech before ``pause`` is a finished turn."""
        utt = self.utterance
        if utt is None or utt.uid != uid or self.vad.policy is None:
            return Output()
        ahead = utt.ahead
        heard_all = ahead is not None and ahead[0] >= utt.voiced_frames
        words = utt.hypothesis if heard_all else utt.last_words  # the freshest words of all the speech
        complete = self.vad.policy.is_complete(probability, " ".join(words))
        utt.overruled = (pause, probability) if not complete and probability >= self.vad.policy.threshold else None
        return self._resolve(pause, complete)

    def _resolve(self, pause: VadEvent, complete: bool) -> Output:
        if any(e.kind == "speech_end" for e in self.vad.resolve(pause, complete)):
            return self._close_utterance()
        return Output()

    def _reconsider(self, utt: _Utterance, words: list[str]) -> Output:
        """A fresher transcript during a pause whose finished-sounding speech was kept open only
        by the words then known (the incremental recogniser lags the audio: "... return an" for
        "... return an item"): if these words no longer go on, the turn is finished after all."""
        if utt.overruled is None or utt is not self.utterance or self.vad.policy is None:
            return Output()
        pause, probability = utt.overruled
        if pause != self.vad.pause:
            utt.overruled = None  # the speaker went on: a new pause gets its own verdict
            return Output()
        if not self.vad.policy.is_complete(probability, " ".join(words)):
            return Output()
        utt.overruled = None
        return self._resolve(pause, True)

    # ---- state the adapter reads -------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether an utterance is still open or awaiting its results."""
        return self.utterance is not None or bool(self.unfinished)

    @property
    def exposure_seconds(self) -> float:
        """An upper bound on what the session bills so far: billed utterances plus the audio of
        those still open or awaiting their final (their billed speech can only be shorter)."""
        pending = sum(u.seconds for u in self.unfinished.values())
        return self.billed_seconds + pending + (self.utterance.seconds if self.utterance else 0.0)

    def abandon(self) -> float:
        """The client went away: stop, and bill each utterance without a final by the speech the VAD
        heard in it (nothing can be sent, so nothing more is decoded). Returns the billed total."""
        cut = [*self.unfinished.values(), *([self.utterance] if self.utterance else [])]
        self.billed_seconds += sum(u.speech_seconds for u in cut)
        self.unfinished.clear()
        self.utterance = None
        return self.billed_seconds

    # ---- grounding bookkeeping (Cue) --------------------------------------------------------
    def remember_grounding(self, uid: str, passages: list[dict]) -> None:
        self._grounding[uid] = passages

    def grounding_for(self, uid: str) -> list[dict]:
        return self._grounding.pop(uid, [])

    # ---- internals ------------------------------------------------------------------------
    def _t_ms(self) -> int:
        return self.samples_seen * 1000 // RATE

    @property
    def _pausing(self) -> bool:
        """The speaker has been silent long enough to look ahead (they may be done)."""
        return self.vad.silence_ms >= LOOKAHEAD_SILENCE_MS

    def _find(self, uid: str) -> _Utterance | None:
        """The open utterance or an unfinished one (a fast client may have ended it meanwhile)."""
        return self.utterance if self.utterance is not None and self.utterance.uid == uid else self.unfinished.get(uid)

    def _partial(self, utt: _Utterance, t_ms: int) -> Output:
        """A ``partial``: the stable words, then the incremental recogniser's words after them
        (none once the utterance's ``speech_final`` went out)."""
        if utt.quick_sent or not self.options.interim_results:
            return Output()
        stable, active_text = " ".join(utt.stable), " ".join(utt.last_words[len(utt.stable) :])
        event = {
            "type": "partial",
            "text": self._text(" ".join([stable, active_text]).strip()),
            "stable_text": self._text(stable),
            "active_text": self._text(active_text),
            "utterance_id": utt.uid,
            "t_ms": t_ms,
        }
        return Output(events=[event])

    def _look_ahead(self, utt: _Utterance, *, at_pause: bool) -> list[Work]:
        """A look-ahead of the utterance so far, unless one is in flight (when it returns during a
        pause, the next is asked then) or nothing new was said since the last one."""
        frames = len(utt.audio)
        if not self.options.lookahead or utt.looking_at is not None or utt.voiced_frames <= utt.asked_at:
            return []
        utt.looking_at = utt.asked_at = frames
        return [LookAhead(utt.uid, np.concatenate(utt.audio), " ".join(utt.stable), frames, at_pause)]

    def _cut_short(self, utt: _Utterance, transcript: Transcript) -> bool:
        """Whether a transcript's words end well before the speech the VAD heard does."""
        spoken_until = utt.voiced_frames * FRAME / RATE
        return bool(transcript.words) and transcript.words[-1].end < spoken_until - CUT_SHORT_S

    def _finalize(self, utt: _Utterance) -> Output:
        """A closed utterance's final: the latest look-ahead if it heard all of the speech, else wait
        for the one in flight if it will have, else decode the whole utterance now."""
        needed = min(utt.voiced_frames + SPEECH_MARGIN_FRAMES, len(utt.audio))  # frames a look-ahead must cover
        ahead = utt.ahead
        if ahead is not None and ahead[0] >= needed and not self._cut_short(utt, ahead[1]):
            utt.final = ahead[1]
            return self._settle()
        if utt.looking_at is not None and utt.looking_at >= needed:
            return Output()  # on_lookahead finishes it
        utt.decoding = True
        return Output(work=[Decode(utt.uid, np.concatenate(utt.audio), " ".join(utt.stable))])

    def _frame(self, frame: np.ndarray) -> Output:
        self.samples_seen += FRAME
        speech_before = self.vad.speech_seconds
        events = self.vad.process(frame)
        kinds = {e.kind for e in events}
        utt = self.utterance
        if utt is None:
            resume = self.resume_in_speech and self.vad.in_speech
            self.resume_in_speech = False
            if "speech_start" not in kinds and not resume:
                self.preroll.append(frame)
                return Output()
            self.count += 1
            utt = self.utterance = _Utterance(f"utt_{self.count}")
            utt.audio = [*self.preroll, frame]
            utt.pending = list(utt.audio)
            self.preroll.clear()
        else:
            utt.audio.append(frame)
            utt.pending.append(frame)
        utt.speech_seconds += self.vad.speech_seconds - speech_before
        if self.vad.in_speech and self.vad.silence_windows == 0:
            utt.voiced_frames = len(utt.audio)
        if "speech_end" in kinds:
            return self._close_utterance()
        out = Output()
        if pause := next((e for e in events if e.kind == "pause"), None):
            out.work.append(JudgeTurn(utt.uid, pause, self.vad.turn_audio()))
        if self._pausing:
            out.work += self._look_ahead(utt, at_pause=True)  # the speaker may be done: it may be the final
        elif len(utt.audio) >= LOOKAHEAD_LONG_FRAMES and len(utt.audio) - utt.asked_at >= LOOKAHEAD_EVERY_FRAMES:
            out.work += self._look_ahead(utt, at_pause=False)
        if len(utt.audio) >= MAX_UTTERANCE_FRAMES:
            self.resume_in_speech = True
            return self._close_utterance()
        if len(utt.pending) >= BLOCK_FRAMES:
            if self.vad.silence_ms >= PARTIALS_PAUSE_MS:
                utt.pending = []
            else:
                out.work.append(self._recognize(utt))
        return out

    def _recognize(self, utt: _Utterance) -> Recognize:
        pcm = float_to_pcm16(np.concatenate(utt.pending)).tobytes()
        utt.pending = []
        return Recognize(utt.uid, pcm, self._t_ms())

    def _close_utterance(self) -> Output:
        utt = self.utterance
        assert utt is not None
        self.utterance = None
        utt.closed, utt.t_ms = True, self._t_ms()
        self.unfinished[utt.uid] = utt
        out = Output(work=[*([self._recognize(utt)] if utt.pending else []), Finish(utt.uid)])
        out += self._finalize(utt)
        return out

    def _settle(self) -> Output:
        """Send what the results allow, in utterance order: each ``speech_final`` once its quick
        transcript is in (or its full-context one, if that came first: then it carries that text),
        each ``final`` once its full-context one is in and every earlier utterance's ``final`` has
        gone (finals are decoded concurrently and may finish out of order)."""
        out = Output()
        for utt in self.unfinished.values():
            if utt.quick_sent:
                continue
            heard = utt.final if utt.final is not None else utt.quick
            if heard is None:
                break  # speech_finals go out in utterance order
            if heard.text:
                base = {"utterance_id": utt.uid, "t_ms": utt.t_ms}
                out.events.append(
                    {"type": "speech_final", "text": self._text(heard.text), **base, "audio_ms": _speech_ms(heard)}
                )
                utt.quick_sent = True
        while self.unfinished:
            utt = next(iter(self.unfinished.values()))
            final = utt.quick if utt.final_failed else utt.final
            if final is None:
                break
            del self.unfinished[utt.uid]
            out.events += self._final_events(utt, final)
        return out

    def _final_events(self, utt: _Utterance, final: Transcript) -> list[dict]:
        base = {"utterance_id": utt.uid, "t_ms": utt.t_ms}
        if not final.text:  # noise or breath: nothing said, nothing billed
            # if a speech_final went out, say the full-context pass heard nothing after all
            return [{"type": "final", "text": "", **base, "audio_ms": 0}] if utt.quick_sent else []
        audio_ms = _speech_ms(final)
        self.billed_seconds += audio_ms / 1000
        events = [{"type": "final", "text": self._text(final.text), **base, "audio_ms": audio_ms}]
        if not utt.quick_sent:  # the quick pass heard nothing: the final is also the speech_final
            events.insert(0, {**events[0], "type": "speech_final"})
        return events

    def _text(self, text: str) -> str:
        return to_numerals(text) if self.options.numerals else text


def _speech_ms(t: Transcript) -> int:
    """Active speech length from word timings: first word start to last word end."""
    if not t.words:
        return 0
    return int(round((t.words[-1].end - t.words[0].start) * 1000))
