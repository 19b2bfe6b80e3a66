"""Voice activity and end-of-turn benchmark, at the engine level (no server):

- cost per frame: Silero VAD (32 ms window) and WebRTC VAD (20 ms frame);
- false openings on steady noise (hiss, hum, music on hold, alsa Noise.wav) for both;
- onset delay (when ``speech_start`` is emitted, after the speech's real onset) on clean and
  noisy speech, and speech missed;
- smart-turn latency (1 and 2 threads) and accuracy on labelled pauses in human and flite speech;
- each ``eagerness`` preset against plain silence endpointing: how long a finished turn waits for
  its ``speech_end`` and how often a mid-sentence pause cuts the speaker off.

Usage: ``.venv/bin/python bench/vad_turn.py`` (prints Markdown for docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import vad_audio as va  # noqa: E402

from pyai.engines.turn import EAGERNESS_LEVELS, TurnPolicy, turn_probability  # noqa: E402
from pyai.engines.vad.silero import WINDOW, SileroEndpointer, SileroVad  # noqa: E402
from pyai.engines.vad.webrtc import Endpointer  # noqa: E402

FRAME = va.RATE // 50
NOISY = [(None, None), ("pink noise", 10), ("white noise", 5), ("music on hold", 10), ("alsa Noise.wav", 10)]
AFTER_MUSIC_S = 10.0
TAIL_S = 3.5  # silence after the last word: longer than every preset's fallback


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


def per_call_ms(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """(wall, CPU) milliseconds per call; CPU time is what a busy machine cannot inflate."""
    fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n


# ---- VAD ---------------------------------------------------------------------------------------
def vad_cost() -> None:
    audio = np.concatenate(list(va.speech().values()))
    windows = [audio[i : i + WINDOW] for i in range(0, len(audio) - WINDOW + 1, WINDOW)]
    frames = len(audio) // FRAME
    vad = SileroVad()
    silero = per_call_ms(lambda: [vad(w) for w in windows], 3)
    webrtc = per_call_ms(lambda: Endpointer().process(audio), 3)
    print("## Voice activity: cost per frame (wall / CPU ms)")
    print("| VAD | frame | ms per frame | share of one core per stream |")
    print("| --- | --- | --- | --- |")
    for name, size, (wall, cpu), n in (
        ("Silero v6 (onnxruntime, 1 thread)", 32, silero, len(windows)),
        ("WebRTC (aggressiveness 2)", 20, webrtc, frames),
    ):
        print(f"| {name} | {size} ms | {wall / n:.4f} / {cpu / n:.4f} | {cpu / n / size:.2%} |")
    print()


def openings(make: Callable[[], object], x: np.ndarray) -> list[int]:
    """Audio time (ms) at which each ``speech_start`` was emitted, feeding 20 ms frames."""
    endpointer = make()
    out = []
    for i in range(0, len(x), FRAME):
        if any(e.kind == "speech_start" for e in endpointer.process(x[i : i + FRAME])):
            out.append((i + FRAME) * 1000 // va.RATE)
    return out


ENDPOINTERS = {"Silero": SileroEndpointer, "WebRTC": Endpointer}


def open_share(make: Callable[[], object], x: np.ndarray) -> tuple[int, float]:
    """Utterances opened while feeding ``x``, and the share of ``x`` spent inside one."""
    events = make().process(x)
    starts = [e.ms for e in events if e.kind == "speech_start"]
    ends = [e.ms for e in events if e.kind == "speech_end"] + [len(x) * 1000 // va.RATE]
    return len(starts), sum(end - start for start, end in zip(starts, ends, strict=False)) / (len(x) / va.RATE * 1000)


def false_openings() -> None:
    print("## Voice activity: 30 s of steady noise — utterances opened, share of the time inside one")
    print("| noise | Silero | WebRTC |")
    print("| --- | --- | --- |")
    for name, x in va.noises(30).items():
        cells = [f"{n} opened, {share:.0%}" for n, share in (open_share(make, x) for make in ENDPOINTERS.values())]
        print(f"| {name} | {' | '.join(cells)} |")
    print()


def onset_delays() -> None:
    print("## Voice activity: onset delay (`speech_start` emitted after the real onset), ms")
    print("Each clip follows 1 s of silence (or of the noise), noise mixed at the SNR given.")
    print()
    print("Missed: never opened, or opened on the background before the speech.")
    print()
    print("| condition | clips | Silero p50 / p95 / max | Silero missed | WebRTC p50 / p95 / max | WebRTC missed |")
    print("| --- | --- | --- | --- | --- | --- |")
    clips = va.speech()
    music = va.noises(AFTER_MUSIC_S)["music on hold"]
    for noise_name, snr in [*NOISY, ("after music", None)]:
        cells = []
        for make in ENDPOINTERS.values():
            delays, missed = [], 0
            for clip in clips.values():
                lead = music if noise_name == "after music" else va.silence(1.0)
                x = np.concatenate([lead, clip, va.silence(0.5)])
                if snr is not None:
                    x = va.mix(x, va.noises(len(x) / va.RATE + 1)[noise_name], snr)
                opened = openings(make, x)
                truth = len(lead) * 1000 / va.RATE + va.onset_s(clip) * 1000
                if opened and opened[0] >= truth - 100:
                    delays.append(opened[0] - truth)
                else:
                    missed += 1  # never opened, or opened on the noise before the speech
            stats = f"{pct(delays, 50):.0f} / {pct(delays, 95):.0f} / {max(delays):.0f}" if delays else "-"
            cells += [stats, str(missed)]
        if noise_name is None:
            label = "clean"
        elif snr is None:
            label = f"clean, after {AFTER_MUSIC_S:.0f} s of music on hold"
        else:
            label = f"{noise_name}, {snr} dB SNR"
        print(f"| {label} | {len(clips)} | {' | '.join(cells)} |")
    print()


# ---- end of turn -------------------------------------------------------------------------------
def turn_latency() -> None:
    audio = np.concatenate(list(va.speech().values()))[-8 * va.RATE :]
    print("## End of turn: smart-turn v3.2 latency (8 s window, features + inference)")
    print(f"Load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
    print()
    print("| intra-op threads | wall ms per call | CPU ms per call |")
    print("| --- | --- | --- |")
    for threads in (1, 2):
        wall, cpu = per_call_ms(lambda t=threads: turn_probability(audio, threads=t), 20)
        print(f"| {threads} | {wall:.1f} | {cpu:.1f} |")
    print()


@dataclass
class Case:
    """One stream: ``audio`` whose last word ends at ``end_s``; ``cut_s`` is where an inserted
    mid-sentence pause starts (None for a finished turn)."""

    name: str
    audio: np.ndarray
    words: list[tuple[str, float]]
    end_s: float
    cut_s: float | None = None


def human_recordings() -> list[Path]:
    return [*va.LIBRIVOX, *va.CARDS, *va.SPHINX_RAW, va.DIGITS, va.ARCTIC, *sorted(va.ALSA.glob("[FRS]*_*.wav"))]


FLITE = [
    "Can you tell me my account balance?",
    "What time do you open tomorrow?",
    "I would like to book a table for two people on Friday.",
    "My number is five five five one two three four.",
    "I need to change my flight because my meeting moved.",
]


def sources() -> list[tuple[str, np.ndarray]]:
    out = [(p.name, va.load(p)) for p in human_recordings()]
    out += [(f"flite {v}: {t}", va.flite(t, v)) for v in ("slt", "kal16", "awb", "rms") for t in FLITE]
    return out


def cases(pause_s: float) -> tuple[list[Case], list[Case]]:
    """Finished turns (each recording as it is) and interrupted ones (the same recording with a
    ``pause_s`` pause inserted after a word in the middle: up to 4 cuts per recording)."""
    finished, interrupted = [], []
    for name, x in sources():
        words = va.word_ends(x)
        if not words:
            continue
        end = words[-1][1]
        finished.append(Case(name, np.concatenate([x, va.noise_floor(x, TAIL_S)]), words, end))
        inner = [i for i in range(len(words) - 1) if 0.3 < words[i][1] < end - 0.2]
        for i in inner[:: max(1, len(inner) // 4)][:4]:
            word, cut = words[i]
            at = int(cut * va.RATE)
            audio = np.concatenate([x[:at], va.noise_floor(x, pause_s, seed=i), x[at:], va.noise_floor(x, TAIL_S)])
            shifted = [(w, e if e <= cut else e + pause_s) for w, e in words]
            interrupted.append(Case(f"{name} | after '{word}'", audio, shifted, end + pause_s, cut))
    return finished, interrupted


_SCORES: dict[bytes, float] = {}


def score(audio: np.ndarray) -> float:
    """turn_probability, memoised: the presets and rows below often ask about the same pause."""
    key = hashlib.sha256(audio.astype(np.float32).tobytes()).digest()
    if key not in _SCORES:
        _SCORES[key] = turn_probability(audio)
    return _SCORES[key]


MEASURE = TurnPolicy(pause_ms=200, threshold=2.0, complete_ms=200, incomplete_ms=10_000)  # never ends a turn


def turn_accuracy(finished: list[Case], interrupted: list[Case]) -> None:
    """Probability at 200 ms pauses: the end of each recording should score complete; its natural
    pauses and the pauses inserted mid-sentence, incomplete."""
    labelled: list[tuple[str, bool, float]] = []
    for case in finished + interrupted:
        group = "flite" if case.name.startswith("flite") else "human"
        for ms, p in va.stream_turns(case.audio, MEASURE, score=score).checks:
            if case.cut_s is None:
                labelled.append((group, ms >= case.end_s * 1000 - 150, p))
            elif abs(ms - case.cut_s * 1000) <= 150:
                labelled.append((group, False, p))
    print("## End of turn: smart-turn accuracy at 200 ms pauses")
    print("The end of each recording should score complete; a natural pause inside it, or one inserted")
    print("after a word mid-sentence, incomplete.")
    print()
    print("| speech | threshold | finished turns judged complete | pauses mid-turn judged incomplete |")
    print("| --- | --- | --- | --- |")
    for group in ("human", "flite"):
        done = [p for g, c, p in labelled if g == group and c]
        mid = [p for g, c, p in labelled if g == group and not c]
        for threshold in (0.5, 0.7, 0.9):
            hit = sum(p >= threshold for p in done)
            held = sum(p < threshold for p in mid)
            print(
                f"| {group} | {threshold} | {hit}/{len(done)} ({hit / len(done):.0%}) "
                f"| {held}/{len(mid)} ({held / len(mid):.0%}) |"
            )
    print()


def eagerness(finished: list[Case], by_pause: dict[float, list[Case]]) -> None:
    print("## End of turn: eagerness presets against silence endpointing")
    print("Finished turns: share whose `speech_end` came within 1 s of the last word, and the mean and p95")
    print("wait (ms; the waits are bimodal: ~complete_ms or ~incomplete_ms). Cut off: share")
    print("of mid-sentence pauses of 0.5 s / 1 s that ended the turn. With transcript: the words said")
    print("so far (as the recogniser would give them) overrule a 'complete' that ends in a digit or a")
    print("word that cannot end a sentence.")
    print()
    print("| endpointing | finished turn ended ≤ 1 s | wait mean / p95 | cut off, 0.5 s pause | cut off, 1 s pause |")
    print("| --- | --- | --- | --- | --- |")
    rows: list[tuple[str, TurnPolicy | None, int, bool]] = [
        ("silence 600 ms (today)", None, 600, False),
        ("silence 1000 ms", None, 1000, False),
    ]
    for level in EAGERNESS_LEVELS:
        policy = TurnPolicy.for_eagerness(level)
        rows.append((f"`{level}`, model only", policy, 0, False))
        rows.append((f"`{level}`, model + transcript", policy, 0, True))
    for label, policy, silence_ms, use_words in rows:
        waits = []
        for case in finished:
            run = va.stream_turns(case.audio, policy, case.words if use_words else None, silence_ms, score)
            ends = [at for at in run.emitted("speech_end") if at >= case.end_s * 1000 - 150]
            waits.append(ends[0] - case.end_s * 1000 if ends else TAIL_S * 1000)
        fast = sum(w <= 1000 for w in waits)
        cells = [f"{fast}/{len(waits)} ({fast / len(waits):.0%})"]
        cells.append(f"{statistics.mean(waits):.0f} / {pct(waits, 95):.0f}")
        for interrupted in by_pause.values():
            cut = 0
            for case in interrupted:
                run = va.stream_turns(case.audio, policy, case.words if use_words else None, silence_ms, score)
                cut += any(case.cut_s * 1000 - 150 <= m <= case.cut_s * 1000 + 100 for m in run.marks("speech_end"))
            cells.append(f"{cut}/{len(interrupted)} ({cut / len(interrupted):.0%})")
        print(f"| {label} | {' | '.join(cells)} |")
    print()


def main() -> None:
    print(f"# on {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"# {time.strftime('%Y-%m-%d')}")
    print()
    vad_cost()
    false_openings()
    onset_delays()
    turn_latency()
    finished, half = cases(0.5)
    _, one = cases(1.0)
    turn_accuracy(finished, one)
    eagerness(finished, {0.5: half, 1.0: one})
    print(f"({len(finished)} finished turns, {len(one)} interrupted ones per pause length; ", end="")
    print(f"{statistics.mean(len(c.words) for c in finished):.1f} words per turn on average)")


if __name__ == "__main__":
    main()
