"""Real-time streaming sessions against ``/v1/audio/transcriptions/stream`` (docs/hear-stream.md).

A session plays a programme of human recordings in real time (100 ms PCM16 chunks on the wall
clock), each prompt as lead silence, speech, gap silence, and records when every chunk left and
every frame arrived. Latencies are wall-clock, from sending the audio at a point of the speech to
receiving the frame:

- first partial: after the speech onset (also in audio time: the partial's ``t_ms`` − onset);
- ``speech_final`` / ``final``: after the end of speech (so they include the endpointing silence),
  and after the endpoint the server reports (``t_ms``), which is the decode and queueing cost alone.

Onset and end of speech are found by energy (10 ms frames within 30 dB of the loudest one). The
server may split a prompt at a long pause; latencies use the last utterance that ends in each
prompt, and a prompt with no ``final`` at all counts as missing.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from dataclasses import dataclass, field

import numpy as np
from tests.corpus import RATE, Utterance, pcm16
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

CHUNK_MS = 100
LEAD_S = 0.5
GAP_S = 1.5


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))] if data else float("nan")


def speech_span_ms(samples: np.ndarray) -> tuple[int, int]:
    """(onset, end) of the speech in ms: the first and last 10 ms frame within 30 dB of the loudest.

    Energy alone cannot tell a weak fricative from hiss: where a recording's hiss is within 30 dB
    of its peak (one CMU and two LibriVox recordings of the latency set), the onset is its first
    sample, 0.15-0.3 s early, which makes the first partial look later, never sooner. A noise-floor
    rule (15 dB above it) fixed those but also put "five"'s /f/ 90 ms late and cut a final /s/, so
    it was not adopted.
    """
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    active = np.flatnonzero(level > level.max() - 30)
    return int(active[0]) * 10, (int(active[-1]) + 1) * 10


@dataclass
class Prompt:
    utt: Utterance
    onset_ms: int  # on the session's audio timeline
    end_ms: int
    next_ms: int  # where the next prompt's audio starts


@dataclass
class Session:
    """What one streaming session sent and received."""

    prompts: list[Prompt]
    sent: list[tuple[int, float]] = field(default_factory=list)  # (audio ms at the end of a chunk, wall time)
    frames: list[tuple[dict, float]] = field(default_factory=list)  # (frame, wall time received)
    send_lag_s: float = 0.0  # how far the sender fell behind the real-time schedule
    close: str = "none"  # the close frame received, or what the client sent when none came

    def sent_at(self, ms: int) -> float:
        """When the chunk holding the audio just before ``ms`` was sent (for an end of speech: the
        chunk with its last sample)."""
        i = bisect.bisect_left(self.sent, (ms, float("-inf")))
        return self.sent[min(i, len(self.sent) - 1)][1]

    def sent_from(self, ms: int) -> float:
        """When the chunk holding the audio at ``ms`` was sent (for an onset: the chunk with its first
        sample, the next one when ``ms`` is a chunk's boundary)."""
        return self.sent_at(ms + 1)

    def prompt_of(self, ms: int) -> int | None:
        """Index of the prompt whose stretch of the timeline holds ``ms``."""
        starts = [p.next_ms for p in self.prompts]
        i = bisect.bisect_right(starts, ms)
        return i if i < len(self.prompts) else None

    def measure(self, endpointing_ms: int) -> tuple[dict[str, list[float]], int]:
        """Per-prompt latencies (ms), and how many prompts got no ``final``."""
        out: dict[str, list[float]] = {
            k: []
            for k in (
                "first_partial_audio_ms",
                "first_partial_wall_ms",
                "speech_final_ms",
                "final_ms",
                "final_after_endpoint_ms",
            )
        }
        first_partial: dict[int, tuple[int, float]] = {}
        ends: dict[str, dict[str, tuple[int, float]]] = {}  # utterance_id -> {type: (t_ms, recv)}
        for frame, recv in self.frames:
            kind = frame.get("type")
            if kind == "partial":
                k = self.prompt_of(frame["t_ms"])
                if k is not None and k not in first_partial:
                    first_partial[k] = (frame["t_ms"], recv)
            elif kind in ("speech_final", "final"):
                ends.setdefault(frame["utterance_id"], {}).setdefault(kind, (frame["t_ms"], recv))

        def endpoint(frames: dict[str, tuple[int, float]]) -> int:
            return frames.get("speech_final", frames.get("final", (0, 0.0)))[0]

        last: dict[int, dict[str, tuple[int, float]]] = {}  # prompt -> its last utterance's frames
        for frames in ends.values():
            k = self.prompt_of(max(0, endpoint(frames) - endpointing_ms))
            if k is not None and (k not in last or endpoint(frames) >= endpoint(last[k])):
                last[k] = frames
        for k, p in enumerate(self.prompts):
            if k in first_partial:
                t_ms, recv = first_partial[k]
                out["first_partial_audio_ms"].append(t_ms - p.onset_ms)
                out["first_partial_wall_ms"].append((recv - self.sent_from(p.onset_ms)) * 1000)
            frames = last.get(k, {})
            for kind in ("speech_final", "final"):
                if kind in frames:
                    out[f"{kind}_ms"].append((frames[kind][1] - self.sent_at(p.end_ms)) * 1000)
            if "final" in frames:
                t_ms, recv = frames["final"]
                out["final_after_endpoint_ms"].append((recv - self.sent_at(t_ms)) * 1000)
        return out, sum("final" not in last.get(k, {}) for k in range(len(self.prompts)))


def programme(utts: list[Utterance], seconds: float | None = None) -> tuple[bytes, list[Prompt]]:
    """PCM16 of ``utts`` in turn (looping until ``seconds`` of audio when given), with their spans."""
    pieces: list[np.ndarray] = []
    prompts: list[Prompt] = []
    pos = 0
    i = 0
    while i < len(utts) if seconds is None else pos < seconds * RATE:
        utt = utts[i % len(utts)]
        onset, end = speech_span_ms(utt.samples)
        lead = np.zeros(int(LEAD_S * RATE), np.float32)
        gap = np.zeros(int(GAP_S * RATE), np.float32)
        base_ms = pos * 1000 // RATE + int(LEAD_S * 1000)
        pieces += [lead, utt.samples, gap]
        pos += len(lead) + len(utt.samples) + len(gap)
        prompts.append(Prompt(utt, base_ms + onset, base_ms + end, pos * 1000 // RATE))
        i += 1
    return pcm16(np.concatenate(pieces)).tobytes(), prompts


async def run_session(url: str, utts: list[Utterance], seconds: float | None = None) -> Session:
    """Stream a programme in real time, then ``EOF``; returns everything measured."""
    audio, prompts = programme(utts, seconds)
    session = Session(prompts)
    step = RATE * 2 * CHUNK_MS // 1000
    try:
        async with connect(url, max_size=None) as ws:

            async def reader() -> None:
                async for msg in ws:
                    if isinstance(msg, str):
                        session.frames.append((json.loads(msg), time.perf_counter()))

            task = asyncio.create_task(reader())
            start = time.perf_counter()
            try:
                for i in range(0, len(audio), step):
                    due = start + i / (RATE * 2)
                    session.send_lag_s = max(session.send_lag_s, time.perf_counter() - due)
                    await ws.send(audio[i : i + step])
                    session.sent.append(((i + step) * 1000 // (RATE * 2), time.perf_counter()))
                    await asyncio.sleep(max(0.0, due + CHUNK_MS / 1000 - time.perf_counter()))
                await ws.send("EOF")
            except ConnectionClosed:
                pass
            try:
                await asyncio.wait_for(task, timeout=120)
            except (TimeoutError, ConnectionClosed):
                pass
            session.close = describe_close(ws.protocol.close_rcvd, ws.protocol.close_sent)
    except ConnectionClosed as exc:
        session.close = describe_close(exc.rcvd, exc.sent)
    return session


def describe_close(rcvd: Close | None, sent: Close | None) -> str:
    """``1000``, or e.g. ``1006 (client sent 1011 keepalive ping timeout)`` when the server sent no close frame."""
    if rcvd is not None:
        return f"{rcvd.code}" + (f" {rcvd.reason}" if rcvd.code != 1000 and rcvd.reason else "")
    return "1006 (" + (f"client sent {sent.code} {sent.reason}".strip() if sent else "no close frame") + ")"


async def latency(url: str, utts: list[Utterance], endpointing_ms: int) -> tuple[dict[str, list[float]], int]:
    """One session per recording, one at a time: latency with the server otherwise idle."""
    out: dict[str, list[float]] = {}
    missing = 0
    for utt in utts:
        m, lost = (await run_session(url, [utt])).measure(endpointing_ms)
        missing += lost
        for k, v in m.items():
            out.setdefault(k, []).extend(v)
    return out, missing


@dataclass
class ConcurrencyResult:
    streams: int
    seconds: float
    kept_real_time: int
    closes: dict[str, int]
    final_ms: list[float]
    speech_final_ms: list[float]
    first_partial_ms: list[float]
    missing_finals: int
    max_send_lag_s: float
    drift_ms: float  # mean final lag in the second half of the run minus the first half


async def concurrency(
    url: str, utts: list[Utterance], streams: int, seconds: float, endpointing_ms: int, max_final_lag_ms: float
) -> ConcurrencyResult:
    """``streams`` sessions at once, each playing the recordings (from a different start) for ``seconds``.

    A session kept real time when it closed with 1000 after ``EOF``, got a ``final`` for every
    prompt, its p95 ``final`` lag after the end of speech stayed within ``max_final_lag_ms``, and
    the client never fell more than a second behind sending.
    """
    starts = [i * len(utts) // streams for i in range(streams)]
    sessions = await asyncio.gather(*(run_session(url, utts[k:] + utts[:k], seconds) for k in starts))
    closes: dict[str, int] = {}
    kept = 0
    finals: list[float] = []
    early: list[float] = []
    late: list[float] = []
    speech_finals: list[float] = []
    partials: list[float] = []
    missing = 0
    for s in sessions:
        m, lost = s.measure(endpointing_ms)
        closes[s.close] = closes.get(s.close, 0) + 1
        half = len(m["final_ms"]) // 2
        early += m["final_ms"][:half]
        late += m["final_ms"][half:]
        finals += m["final_ms"]
        speech_finals += m["speech_final_ms"]
        partials += m["first_partial_wall_ms"]
        missing += lost
        if s.close == "1000" and not lost and pct(m["final_ms"], 95) <= max_final_lag_ms and s.send_lag_s < 1.0:
            kept += 1
    drift = (float(np.mean(late)) - float(np.mean(early))) if early and late else float("nan")
    return ConcurrencyResult(
        streams,
        seconds,
        kept,
        closes,
        finals,
        speech_finals,
        partials,
        missing,
        max(s.send_lag_s for s in sessions),
        drift,
    )
