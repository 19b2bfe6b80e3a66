"""What one Whisper decode costs on this machine, and what the ways to make it cheaper cost in accuracy.

The streaming ``final`` cannot arrive sooner after the end of speech than one decode takes
(docs/benchmarks.md, "Hear"), so this measures, in-process on the server's engine:

- decode wall time by utterance length (the server's settings, and with a forced prefix);
- where the time goes: the encoder of the fixed 30 s window, beam 1 vs 5, word timestamps, VAD;
- CTranslate2 compute types and threads;
- corpus WER when the encoder is given a shorter window than Whisper's 30 s (``--windows``),
  and with a narrower beam (``--beams``), on a spread of the human-speech corpus (tests/corpus.py).

Usage: ``bench/whisper_cost.py [--windows 30,15,10,fit] [--beams 5,1] [--per-source 40]``
(``--per-source 0``: every recording).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faster_whisper.transcribe as fwt  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402
from faster_whisper.audio import pad_or_trim  # noqa: E402
from tests import corpus  # noqa: E402

from pyai.engines.stt.whisper_engine import WhisperSTT  # noqa: E402
from pyai.engines.stt.whisper_models import resolve  # noqa: E402


def timed(fn, repeat: int = 3) -> list[float]:  # noqa: ANN001 - a zero-argument callable
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fmt(times: list[float]) -> str:
    return " / ".join(f"{t:.2f}" for t in times)


def by_length(stt: WhisperSTT, speech: np.ndarray) -> None:
    print("### Decode wall time by utterance length (s, 3 runs; the server's settings)\n")
    print("| audio | decode | decode with a 3-word forced prefix |\n| --- | --- | --- |")
    stt.transcribe(speech[:16000])  # load
    for seconds in (1, 2, 4, 7):
        x = speech[: seconds * 16000]
        prefix = " ".join(stt.transcribe(x).text.split()[:3])
        plain = fmt(timed(lambda x=x: stt.transcribe(x)))
        forced = fmt(timed(lambda x=x, p=prefix: stt.transcribe(x, prefix=p), 1))
        print(f"| {seconds} s | {plain} | {forced} |")


def breakdown(stt: WhisperSTT, x: np.ndarray) -> None:
    model = stt.model()
    base = {
        "language": "en",
        "beam_size": 5,
        "word_timestamps": True,
        "vad_filter": True,
        "temperature": 0.0,
        "condition_on_previous_text": False,
        "suppress_tokens": stt._suppress,
    }
    print("\n### Where a 4 s decode's time goes (s, 3 runs)\n")
    print("| variant | wall |\n| --- | --- |")
    for name, change in (
        ("as the server decodes (beam 5, word timestamps, VAD)", {}),
        ("beam 1", {"beam_size": 1}),
        ("no word timestamps", {"word_timestamps": False}),
        ("beam 1, no word timestamps", {"beam_size": 1, "word_timestamps": False}),
        ("no VAD", {"vad_filter": False}),
    ):
        options = {**base, **change}
        print(f"| {name} | {fmt(timed(lambda o=options: list(model.transcribe(x, **o)[0])))} |")
    features = pad_or_trim(model.feature_extractor(x))
    print(f"| the encoder alone (30 s window) | {fmt(timed(lambda: model.encode(features)))} |")


def compute_types(x: np.ndarray) -> None:
    spec = resolve(None)
    print("\n### CTranslate2 compute type and threads (s: encoder mean of 3, full decode mean of 2)\n")
    print("| compute type | threads | encoder | full decode |\n| --- | ---: | ---: | ---: |")
    for compute in ("int8", "int8_float32", "float32"):
        for threads in (2, 1):
            model = WhisperModel(str(spec.path), device="cpu", compute_type=compute, cpu_threads=threads, num_workers=1)
            features = pad_or_trim(model.feature_extractor(x))
            model.encode(features)
            enc = np.mean(timed(lambda m=model, f=features: m.encode(f)))
            options = {
                "language": "en",
                "beam_size": 5,
                "word_timestamps": True,
                "vad_filter": True,
                "temperature": 0.0,
            }
            full = np.mean(timed(lambda m=model, o=options: list(m.transcribe(x, **o)[0]), 2))
            print(f"| {compute} | {threads} | {enc:.3f} | {full:.3f} |")


def windows(stt: WhisperSTT, kinds: list[str], per_source: int) -> None:
    """Corpus WER with the encoder's window padded to less than 30 s (faster-whisper always pads to
    30 s: its ``pad_or_trim`` is replaced for the measurement)."""
    utts = [u for u in corpus.corpus(per_source=per_source or None) if u.seconds < 29]

    def padder(kind: str):  # noqa: ANN202
        def pad(array: np.ndarray, length: int = 3000, *, axis: int = -1) -> np.ndarray:
            fit = int(np.ceil(array.shape[axis] / 100) * 100) + 100  # the audio and 1 s more, in 10 ms frames
            target = {"30": 3000, "15": max(1500, fit), "10": max(1000, fit), "fit": fit}[kind]
            return pad_or_trim(array, min(3000, target), axis=axis)

        return pad

    print(f"\n### Corpus WER by encoder window ({len(utts)} recordings, 16 kHz, the server's settings)\n")
    print("| window | WER | errors / words | wall s |\n| --- | --- | --- | ---: |")
    original = fwt.pad_or_trim
    try:
        for kind in kinds:
            fwt.pad_or_trim = padder(kind)
            start = time.perf_counter()
            total = corpus.Score(0, 0)
            for u in utts:
                total = total + corpus.score(u, stt.transcribe(u.samples).text)
            label = {"30": "30 s (Whisper's)", "fit": "the audio + 1 s"}.get(kind, f"{kind} s, or the audio + 1 s")
            print(f"| {label} | {total.wer:.1%} | {total.errors} / {total.words} | {time.perf_counter() - start:.0f} |")
    finally:
        fwt.pad_or_trim = original


def beams(sizes: list[int], per_source: int) -> None:
    """Corpus WER and decode time per beam size, the server's other settings unchanged: whether
    greedy search buys back enough of a decode to be worth its errors."""
    utts = corpus.corpus(per_source=per_source or None)
    print(f"\n### Corpus WER by beam size ({len(utts)} recordings, 16 kHz, the server's other settings)\n")
    print("| beam | WER | errors / words | decode p50 / mean s |\n| --- | --- | --- | --- |")
    for size in sizes:
        stt = WhisperSTT(resolve(None), beam_size=size)
        stt.transcribe(utts[0].samples)  # load
        total, walls = corpus.Score(0, 0), []
        for u in utts:
            start = time.perf_counter()
            text = stt.transcribe(u.samples).text
            walls.append(time.perf_counter() - start)
            total = total + corpus.score(u, text)
        print(
            f"| {size} | {total.wer:.1%} | {total.errors} / {total.words} "
            f"| {np.median(walls):.2f} / {np.mean(walls):.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", default="30,15,10,fit", help="encoder windows to score (empty: skip)")
    ap.add_argument("--beams", default="", help="beam sizes to score on the corpus, e.g. 5,1 (empty: skip)")
    ap.add_argument("--per-source", type=int, default=40, help="recordings per corpus source for the WER tables")
    args = ap.parse_args()
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}\n")
    stt = WhisperSTT(resolve(None))
    speech = corpus.load("librivox")[0].samples
    by_length(stt, speech)
    breakdown(stt, speech[: 4 * 16000])
    compute_types(speech[: 4 * 16000])
    if args.windows:
        windows(stt, args.windows.split(","), args.per_source)
    if args.beams:
        beams([int(b) for b in args.beams.split(",")], args.per_source)


if __name__ == "__main__":
    main()
