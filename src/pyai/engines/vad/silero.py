"""Silero VAD v6 (the ONNX file faster-whisper ships) as a streaming endpointer for live audio.

WebRTC VAD calls almost any steady sound speech (white and pink noise, mains hum, synthetic music
and the alsa ``Noise.wav``: 94-100% of frames), so hiss or music on hold opened utterances.
Silero scores those below 0.35 and speech above 0.9, for ~0.1 ms per 32 ms window; gating it
with WebRTC would add nothing (WebRTC passes the noise anyway) and would delay onsets, so it
replaces WebRTC for streaming (docs/benchmarks.md, "Voice activity").

:class:`SileroEndpointer` is a drop-in for :class:`pyai.engines.vad.webrtc.Endpointer`: feed
16 kHz audio of any length to ``process`` and get ``speech_start`` / ``speech_end`` events in
audio time. Given a :class:`~pyai.engines.turn.TurnPolicy` it also reports a ``pause`` once the
speaker has been silent for ``policy.pause_ms``; the caller scores :meth:`turn_audio` with the
turn model (in a thread) and passes the verdict to :meth:`resolve`, which moves the end of turn
earlier (finished) or later (unfinished). Without a verdict the turn ends at the policy's
fallback silence. No I/O and no clocks: everything is counted in audio samples.
"""

from __future__ import annotations

import collections
import functools

import numpy as np
import onnxruntime as ort

from pyai.engines.packaged import PackagedFile
from pyai.engines.turn.policy import TurnPolicy
from pyai.engines.vad.webrtc import VadEvent

RATE = 16000
WINDOW = 512  # samples the model scores at a time (32 ms)
WINDOW_MS = WINDOW * 1000 // RATE
CONTEXT = 64  # trailing samples of the previous window the model sees in front of each window
SPEECH = 0.5  # a window at or above this is speech
SILENCE = 0.35  # ... below this is silence; in between continues whichever run is going
ONSET_WINDOWS = 2  # 64 ms of speech opens an utterance
TURN_AUDIO_WINDOWS = 8000 // WINDOW_MS  # the turn model hears at most 8 s
PREROLL_WINDOWS = 16  # ~0.5 s before the onset, as the turn model was trained with
# Non-speech such as music drifts the model's recurrent state so that the speech after it is heard
# late (~470 ms instead of ~70 ms after 3-10 s of music on hold). Like pipecat, reset the state
# every ~2 s of audio, but only in clear non-speech: outside an utterance, after 5 windows below
# 0.1. A state reset cold on music can score it as speech for a window or two (it opened one
# utterance in 30 s of hold music), so the fresh state first hears the last 256 ms again.
RESET_EVERY_WINDOWS = 2000 // WINDOW_MS
RESET_QUIET = 0.1
RESET_QUIET_WINDOWS = 5
WARMUP_WINDOWS = 8

SILERO = PackagedFile(
    package="faster_whisper",
    path="assets/silero_vad_v6.onnx",
    sha256="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
    install="faster-whisper==1.2.1",
)


@functools.cache
def _session() -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(SILERO.locate()), sess_options=options, providers=["CPUExecutionProvider"])


def load() -> None:
    """Load (and verify) the model now rather than on a stream's first audio."""
    _session()


class SileroVad:
    """Speech probability of consecutive 512-sample windows of one stream (16 kHz float).

    The model is recurrent: each stream keeps its own LSTM state and the last 64 samples; the
    ONNX session itself is shared by all streams.
    """

    def __init__(self) -> None:
        self.session = _session()
        self.reset()

    def reset(self) -> None:
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        x = np.concatenate([self.context, window.astype(np.float32, copy=False)])[None]
        prob, self.h, self.c = self.session.run(None, {"input": x, "h": self.h, "c": self.c})
        self.context = x[0, -CONTEXT:]
        return float(prob[0])


class SileroEndpointer:
    """Utterance boundaries (and, with a policy, turn-model pauses) of a 16 kHz stream.

    Without ``policy`` an utterance ends after ``endpointing_ms`` of silence, like the WebRTC
    endpointer. With one, ``endpointing_ms`` is unused and the policy's schedule applies.
    """

    def __init__(self, sample_rate: int = RATE, endpointing_ms: int = 600, policy: TurnPolicy | None = None) -> None:
        if sample_rate != RATE:
            raise ValueError(f"sample_rate: Silero VAD runs at {RATE} Hz, got {sample_rate}")
        self.vad = SileroVad()
        self.policy = policy
        self.endpointing_ms = endpointing_ms
        self.speech_threshold, self.silence_threshold = SPEECH, SILENCE
        self.buffer = np.zeros(0, dtype=np.float32)
        self.windows_seen = 0
        self.speech_windows = 0
        self.in_speech = False
        self.run_speech = 0
        self.run_quiet = 0
        self.since_reset = 0
        self.silence_windows = 0  # silence since the utterance's last speech window
        self.pause: VadEvent | None = None  # the pause awaiting a verdict (or already judged)
        self.wait_ms = endpointing_ms
        self.recent: collections.deque[np.ndarray] = collections.deque(maxlen=TURN_AUDIO_WINDOWS)

    @property
    def silence_ms(self) -> int:
        """How long the speaker has been silent inside the open utterance (0 while speaking)."""
        return self.silence_windows * WINDOW_MS if self.in_speech else 0

    @property
    def speech_seconds(self) -> float:
        return self.speech_windows * WINDOW_MS / 1000

    def turn_audio(self) -> np.ndarray:
        """The utterance so far (from ~0.5 s before its onset, at most the last 8 s): what the
        turn model scores at a ``pause``."""
        return np.concatenate(self.recent) if self.recent else np.zeros(0, dtype=np.float32)

    def set_threshold(self, speech: float) -> None:
        """Hear speech at ``speech`` probability (0-1); silence stays the same distance below it."""
        self.speech_threshold = speech
        self.silence_threshold = max(0.0, speech - (SPEECH - SILENCE))

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        buf = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        events: list[VadEvent] = []
        usable = len(buf) - len(buf) % WINDOW
        for start in range(0, usable, WINDOW):
            events += self._window(buf[start : start + WINDOW])
        self.buffer = buf[usable:]
        return events

    def resolve(self, pause: VadEvent, complete: bool) -> list[VadEvent]:
        """The turn model's verdict on ``pause``: sets how long this silence may last. Returns
        ``speech_end`` at once if the silence already lasted that long; ignores a stale verdict
        (the speaker went on talking, or the utterance already ended)."""
        if pause != self.pause or not self.in_speech:
            return []
        assert self.policy is not None
        self.wait_ms = self.policy.complete_ms if complete else self.policy.incomplete_ms
        return self._maybe_end()

    # ---- internals ---------------------------------------------------------------------
    def _window(self, window: np.ndarray) -> list[VadEvent]:
        self.windows_seen += 1
        self.recent.append(window)
        p = self.vad(window)
        self._maybe_reset(p)
        speech = p >= self.speech_threshold
        self.speech_windows += speech
        self.run_speech = self.run_speech + 1 if speech else 0
        if not self.in_speech:
            if self.run_speech < ONSET_WINDOWS:
                return []
            self._open()
            return [VadEvent("speech_start", (self.windows_seen - ONSET_WINDOWS) * WINDOW_MS)]
        if speech:
            self.silence_windows = 0
            self.pause = None
            self.wait_ms = self._silence_limit()
            return []
        if self.silence_windows or p < self.silence_threshold:
            self.silence_windows += 1
        silence_ms = self.silence_windows * WINDOW_MS
        if self.policy is not None and self.pause is None and silence_ms >= self.policy.pause_ms:
            self.pause = VadEvent("pause", self._speech_end_ms())
            return [self.pause, *self._maybe_end()]
        return self._maybe_end()

    def _maybe_reset(self, p: float) -> None:
        self.since_reset += 1
        self.run_quiet = self.run_quiet + 1 if p < RESET_QUIET else 0
        quiet = not self.in_speech and self.run_quiet >= RESET_QUIET_WINDOWS
        if quiet and self.since_reset >= RESET_EVERY_WINDOWS:
            self.vad.reset()
            for window in list(self.recent)[-WARMUP_WINDOWS:]:
                self.vad(window)
            self.since_reset = 0

    def _open(self) -> None:
        self.in_speech = True
        self.silence_windows = 0
        self.pause = None
        self.wait_ms = self._silence_limit()
        while len(self.recent) > ONSET_WINDOWS + PREROLL_WINDOWS:
            self.recent.popleft()

    def _silence_limit(self) -> int:
        return self.policy.incomplete_ms if self.policy is not None else self.endpointing_ms

    def _speech_end_ms(self) -> int:
        return (self.windows_seen - self.silence_windows) * WINDOW_MS

    def _maybe_end(self) -> list[VadEvent]:
        if self.silence_windows * WINDOW_MS < self.wait_ms:
            return []
        self.in_speech = False
        self.pause = None
        return [VadEvent("speech_end", self._speech_end_ms())]
