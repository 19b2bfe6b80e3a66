"""How many short utterances a second the server's Whisper engine finishes when many streams want
their finals at once, with and without window packing (engines/stt/window_packing.py).

``--callers`` threads (streams, calls) each decode short human utterances from the corpus
(tests/corpus.py, IVR prompts of 1-6 s) back to back through the server's engine, in-process:

- *one decode each*: every utterance gets its own 30 s window (the engine's ``_decode``, two at a
  time, as before packing);
- *packed*: ``WhisperSTT.transcribe``, where utterances that find both decoders busy share a window.

Printed per mode: utterances, wall time, utterances/s, mean and p95 wait of a caller (from asking
to having its words), and the corpus WER of what came back (word-weighted, Whisper's English
normaliser). Usage: ``bench/whisper_packing.py [--callers 1,4,8] [--utterances 48]``
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus import Score, Utterance, corpus, score  # noqa: E402

from pyai.engines.stt.whisper_engine import WhisperSTT  # noqa: E402
from pyai.engines.stt.whisper_models import resolve  # noqa: E402


def one_decode_each(stt: WhisperSTT, samples: np.ndarray) -> str:
    segments, _ = stt._decode(samples, "en", None)  # noqa: SLF001 - the engine without its packer
    return " ".join(w.word for seg in segments for w in seg)


def packed(stt: WhisperSTT, samples: np.ndarray) -> str:
    return stt.transcribe(samples, language="en").text


def run(stt: WhisperSTT, utts: list[Utterance], callers: int, decode) -> tuple[float, list[float], Score]:  # noqa: ANN001
    """Wall time, each caller's waits, and the WER of the results."""
    work = list(enumerate(utts))
    results: dict[int, str] = {}
    waits: list[float] = []
    lock = threading.Lock()
    slots = threading.Semaphore(2)  # one decode each: the engine runs two at once

    def caller() -> None:
        while True:
            with lock:
                if not work:
                    return
                i, utt = work.pop(0)
            asked = time.perf_counter()
            if decode is one_decode_each:
                with slots:
                    text = decode(stt, utt.samples)
            else:
                text = decode(stt, utt.samples)
            with lock:
                results[i] = text
                waits.append(time.perf_counter() - asked)

    started = time.perf_counter()
    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return wall, waits, sum((score(u, results[i]) for i, u in enumerate(utts)), Score(0, 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--callers", default="1,4,8", help="comma-separated numbers of concurrent callers")
    ap.add_argument("--utterances", type=int, default=48)
    args = ap.parse_args()
    random.seed(7)
    utts = [u for u in corpus(("ivr",)) if 1.0 <= u.seconds <= 6.0]
    random.shuffle(utts)
    utts = utts[: args.utterances]
    stt = WhisperSTT(resolve(None))
    stt.transcribe(utts[0].samples)  # load and warm
    load = os.getloadavg()[0]
    print(
        f"# Whisper window packing — {date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {load:.1f} at start"
    )
    print(f"{len(utts)} IVR utterances, {sum(u.seconds for u in utts):.0f} s of speech\n")
    print("| callers | mode | wall s | utterances/s | wait mean / p95 s | WER |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for callers in (int(c) for c in args.callers.split(",")):
        for name, decode in (("one decode each", one_decode_each), ("packed", packed)):
            wall, waits, wer = run(stt, utts, callers, decode)
            p95 = float(np.percentile(waits, 95))
            print(
                f"| {callers} | {name} | {wall:.1f} | {len(utts) / wall:.2f} | {np.mean(waits):.2f} / {p95:.2f} "
                f"| {wer.wer:.1%} ({wer.errors}/{wer.words}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
