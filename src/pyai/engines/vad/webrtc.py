"""WebRTC VAD on 20 ms frames, with hysteresis so a click is not speech and a breath is not a turn end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import webrtcvad

from pyai.audio.pcm import float_to_pcm16

FRAME_MS = 20
ONSET_FRAMES = 3  # 60 ms of speech opens an utterance


def _frames(samples: np.ndarray, rate: int) -> list[bytes]:
    n = rate * FRAME_MS // 1000
    pcm = float_to_pcm16(samples)
    return [pcm[i : i + n].tobytes() for i in range(0, len(pcm) - n + 1, n)]


@dataclass(frozen=True)
class VadEvent:
    kind: str  # speech_start | speech_end
    ms: int


class Endpointer:
    """Feed audio of any length; get ``speech_start`` / ``speech_end`` events in audio time.

    ``speech_end`` fires after ``endpointing_ms`` of continuous non-speech following speech.
    """

    def __init__(self, sample_rate: int = 16000, endpointing_ms: int = 600, aggressiveness: int = 2) -> None:
        self.rate = sample_rate
        self.vad = webrtcvad.Vad(aggressiveness)
        self.frame_len = sample_rate * FRAME_MS // 1000
        self.silence_frames_to_end = max(1, endpointing_ms // FRAME_MS)
        self.buffer = np.zeros(0, dtype=np.float32)
        self.frames_seen = 0
        self.in_speech = False
        self.run_speech = 0
        self.run_silence = 0
        self.speech_frames = 0

    @property
    def speech_seconds(self) -> float:
        return self.speech_frames * FRAME_MS / 1000

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        buf = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        events: list[VadEvent] = []
        usable = len(buf) - len(buf) % self.frame_len
        for frame in _frames(buf[:usable], self.rate):
            self.frames_seen += 1
            speech = self.vad.is_speech(frame, self.rate)
            if speech:
                self.speech_frames += 1
                self.run_speech += 1
                self.run_silence = 0
            else:
                self.run_silence += 1
                self.run_speech = 0
            ms = self.frames_seen * FRAME_MS
            if not self.in_speech and self.run_speech >= ONSET_FRAMES:
                self.in_speech = True
                events.append(VadEvent("speech_start", ms - ONSET_FRAMES * FRAME_MS))
            elif self.in_speech and self.run_silence >= self.silence_frames_to_end:
                self.in_speech = False
                events.append(VadEvent("speech_end", ms - self.run_silence * FRAME_MS))
        self.buffer = buf[usable:]
        return events


def split_on_silence(
    samples: np.ndarray, rate: int = 16000, *, min_silence_ms: int = 400, max_segment_s: float = 25.0, pad_ms: int = 200
) -> list[tuple[float, float]]:
    """Speech regions ``(start_s, end_s)`` of a whole recording, cut at pauses, none longer than
    ``max_segment_s`` (long monologues are cut at their quietest frame)."""
    ep = Endpointer(rate, min_silence_ms)
    bounds: list[tuple[float, float]] = []
    start = None
    for ev in ep.process(samples):
        if ev.kind == "speech_start":
            start = ev.ms / 1000
        elif start is not None:
            bounds.append((start, ev.ms / 1000))
            start = None
    total = len(samples) / rate
    if start is not None:
        bounds.append((start, total))
    pad = pad_ms / 1000
    padded = [(max(0.0, s - pad), min(total, e + pad)) for s, e in bounds]
    out: list[tuple[float, float]] = []
    for s, e in padded:
        while e - s > max_segment_s:
            cut = _quietest(samples, rate, s + max_segment_s / 2, s + max_segment_s)
            out.append((s, cut))
            s = cut
        out.append((s, e))
    return out


def _quietest(samples: np.ndarray, rate: int, lo: float, hi: float) -> float:
    seg = samples[int(lo * rate) : int(hi * rate)]
    win = rate // 50
    if len(seg) < win:
        return hi
    energy = np.convolve(seg**2, np.ones(win), mode="valid")
    return lo + int(np.argmin(energy)) / rate


def speech_seconds(samples: np.ndarray, rate: int = 16000) -> float:
    """Seconds of voiced speech in a recording (what clone enrolment requires)."""
    ep = Endpointer(rate)
    ep.process(samples)
    return ep.speech_seconds
