"""One streaming-transcription session: audio in, protocol events out (no I/O here).

Audio is cut into 20 ms frames at 16 kHz. A VAD endpointer opens an utterance at speech onset
(with 300 ms of pre-roll so the first phone is not clipped) and closes it after
``endpointing_ms`` of trailing silence, on ``commit``/``EOF``, or at 30 s. While an utterance is
open, audio goes to the incremental recogniser in 100 ms blocks and each block yields an eager
``partial``. Closing yields ``speech_final`` (the incremental result) and then ``final``, a
full-context re-decode of the whole utterance. Billing counts speech time from the final
transcript's word timings, so silence and noise cost nothing.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np

from pyai.audio.g711 import ENCODINGS as G711
from pyai.audio.g711 import g711_decode
from pyai.audio.opus import OpusPacketDecoder
from pyai.audio.pcm import pcm16_to_float
from pyai.audio.resample import StreamResampler
from pyai.engines.stt.base import SpeechToText, Transcript
from pyai.engines.vad.webrtc import Endpointer
from pyai.text.numerals import to_numerals

RATE = 16000
FRAME = RATE // 50  # 20 ms
BLOCK_FRAMES = 5  # 100 ms per recogniser block / partial tick
PREROLL_FRAMES = 15  # 300 ms
MAX_UTTERANCE_FRAMES = 30 * 50  # 30 s
DEFAULT_ENDPOINTING_MS = 600


@dataclass
class StreamOptions:
    sample_rate: int = 16000
    encoding: str = "pcm16"
    interim_results: bool = True
    numerals: bool = False
    language: str = "en"
    endpointing_ms: int | None = None
    seed: int | None = None
    temperature: float | None = None


@dataclass
class _Utterance:
    uid: str
    audio: list[np.ndarray] = field(default_factory=list)
    pending: list[np.ndarray] = field(default_factory=list)
    last_partial_words: list[str] = field(default_factory=list)


def stable_prefix(previous: list[str], current: list[str]) -> int:
    """How many leading words the last two hypotheses agree on (the last word stays active)."""
    n = 0
    for a, b in zip(previous, current[:-1], strict=False):
        if a != b:
            break
        n += 1
    return n


class StreamSession:
    def __init__(self, stt: SpeechToText, options: StreamOptions) -> None:
        self.stt = stt
        self.options = options
        self.product = "hear"
        self.recognizer = stt.open_stream()
        self.vad = Endpointer(sample_rate=RATE, endpointing_ms=options.endpointing_ms or DEFAULT_ENDPOINTING_MS)
        self.resampler = StreamResampler(options.sample_rate, RATE) if options.sample_rate != RATE else None
        self.opus = OpusPacketDecoder(RATE) if options.encoding == "opus" else None
        self.backlog = np.zeros(0, dtype=np.float32)
        self._pending: tuple[_Utterance, Transcript] | None = None
        self.samples_seen = 0
        self.preroll: collections.deque[np.ndarray] = collections.deque(maxlen=PREROLL_FRAMES)
        self.utterance: _Utterance | None = None
        self.count = 0
        self.billed_seconds = 0.0
        self._grounding: dict[str, list[dict]] = {}

    # ---- input -------------------------------------------------------------------------
    def feed_bytes(self, data: bytes) -> list[dict]:
        """Decode one binary frame (PCM16 LE or G.711 at the negotiated rate, or one Opus packet)."""
        if self.opus is not None:
            return self.feed(self.opus.decode(data))
        if self.options.encoding in G711:
            samples = g711_decode(data, self.options.encoding)
        elif len(data) % 2:
            raise ValueError(f"a PCM16 frame must hold whole 2-byte samples; got {len(data)} bytes (frame dropped)")
        else:
            samples = pcm16_to_float(data)
        if self.resampler is not None:
            samples = self.resampler.process(samples)
        return self.feed(samples)

    def feed(self, samples: np.ndarray) -> list[dict]:
        """Feed 16 kHz float samples; returns the events they caused, in order.

        Processing pauses after an utterance's ``speech_final`` (``has_pending_final``) so the
        caller can send it at once; :meth:`finalize` then re-decodes and resumes.
        """
        self.backlog = np.concatenate([self.backlog, samples.astype(np.float32, copy=False)])
        return self._drain()

    @property
    def exposure_seconds(self) -> float:
        """An upper bound on what the session bills so far: billed utterances plus the audio of the
        utterance still open or awaiting its final (its billed speech can only be shorter)."""
        frames = len(self.utterance.audio) if self.utterance else 0
        frames += len(self._pending[0].audio) if self._pending else 0
        return self.billed_seconds + frames * FRAME / RATE

    @property
    def has_pending_final(self) -> bool:
        return self._pending is not None

    def finalize(self) -> list[dict]:
        """The pending utterance's ``final`` (full-context re-decode), then any further events."""
        return self._final_event() + self._drain()

    def flush(self) -> list[dict]:
        """commit / EOF: end the open utterance now (its final stays pending, as at an endpoint)."""
        events = self.finalize() if self._pending is not None else []
        if self.utterance is not None:
            events += self._close_utterance()
        return events

    def end_of_stream(self) -> list[dict]:
        """The client went away: hear out and finalise everything already received."""
        events: list[dict] = []
        while self._pending is not None or self.utterance is not None:
            events += self.finalize() if self._pending is not None else self._close_utterance()
        return events

    def close(self) -> None:
        self.recognizer.close()

    # ---- grounding bookkeeping (Cue) --------------------------------------------------------
    def remember_grounding(self, uid: str, passages: list[dict]) -> None:
        self._grounding[uid] = passages

    def grounding_for(self, uid: str) -> list[dict]:
        return self._grounding.pop(uid, [])

    # ---- internals ------------------------------------------------------------------------
    def _drain(self) -> list[dict]:
        events: list[dict] = []
        n_frames = len(self.backlog) // FRAME
        used = 0
        while used < n_frames and self._pending is None:
            events += self._frame(self.backlog[used * FRAME : (used + 1) * FRAME])
            used += 1
        self.backlog = self.backlog[used * FRAME :]
        return events

    def _t_ms(self) -> int:
        return self.samples_seen * 1000 // RATE

    def _frame(self, frame: np.ndarray) -> list[dict]:
        self.samples_seen += FRAME
        kinds = {e.kind for e in self.vad.process(frame)}
        utt = self.utterance
        if utt is None:
            self.preroll.append(frame)
            if "speech_start" not in kinds:
                return []
            self.count += 1
            utt = self.utterance = _Utterance(f"utt_{self.count}")
            utt.audio = list(self.preroll)
            utt.pending = list(self.preroll)
            self.preroll.clear()
        else:
            utt.audio.append(frame)
            utt.pending.append(frame)
        if "speech_end" in kinds or len(utt.audio) >= MAX_UTTERANCE_FRAMES:
            return self._close_utterance()
        if len(utt.pending) >= BLOCK_FRAMES:
            return self._tick(utt)
        return []

    def _push_pending(self, utt: _Utterance) -> None:
        if utt.pending:
            self.recognizer.accept(np.concatenate(utt.pending))
            utt.pending = []

    def _text(self, text: str) -> str:
        return to_numerals(text) if self.options.numerals else text

    def _tick(self, utt: _Utterance) -> list[dict]:
        self._push_pending(utt)
        if not self.options.interim_results:
            return []
        words = self.recognizer.partial().split()
        if not words or words == utt.last_partial_words:
            return []
        n = stable_prefix(utt.last_partial_words, words)
        utt.last_partial_words = words
        stable, active = " ".join(words[:n]), " ".join(words[n:])
        return [
            {
                "type": "partial",
                "text": self._text(" ".join(words)),
                "stable_text": self._text(stable),
                "active_text": self._text(active),
                "utterance_id": utt.uid,
                "t_ms": self._t_ms(),
            }
        ]

    def _close_utterance(self) -> list[dict]:
        """End the utterance: ``speech_final`` from the incremental pass, final decode pending."""
        utt = self.utterance
        assert utt is not None
        self.utterance = None
        self._push_pending(utt)
        quick = self.recognizer.finish()
        self._pending = (utt, quick)
        if not quick.text:
            return []
        return [
            {
                "type": "speech_final",
                "text": self._text(quick.text),
                "utterance_id": utt.uid,
                "t_ms": self._t_ms(),
                "audio_ms": _speech_ms(quick),
            }
        ]

    def _final_event(self) -> list[dict]:
        if self._pending is None:
            return []
        utt, quick = self._pending
        self._pending = None
        final = self.recognizer.redecode(np.concatenate(utt.audio)) if utt.audio else quick
        if not final.text and not quick.text:
            return []  # noise or breath: nothing said, nothing billed
        audio_ms = _speech_ms(final) or _speech_ms(quick)
        self.billed_seconds += audio_ms / 1000
        base = {"utterance_id": utt.uid, "t_ms": self._t_ms(), "audio_ms": audio_ms}
        events = [] if quick.text else [{"type": "speech_final", "text": self._text(final.text), **base}]
        return events + [{"type": "final", "text": self._text(final.text or quick.text), **base}]


def _speech_ms(t: Transcript) -> int:
    """Active speech length from word timings: first word start to last word end."""
    if not t.words:
        return 0
    return int(round((t.words[-1].end - t.words[0].start) * 1000))
