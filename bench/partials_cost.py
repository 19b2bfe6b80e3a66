"""What the streams' incremental pocketsphinx decoder costs, and what pruning it costs in words.

Every stream's partials come from a pocketsphinx decoder fed 100 ms chunks
(engines/stt/pocketsphinx_partials.py), so its CPU per second of audio, times the streams, is a
share of the machine Whisper's finals cannot use. This decodes the human-speech corpus
(tests/corpus.py) the way a stream does, for each ``maxhmmpf`` (active HMMs a frame), and prints
CPU per second of audio, the WER of the utterance's last hypothesis and how much audio the
first hypothesis needed.

Usage: ``.venv/bin/python bench/partials_cost.py [--maxhmmpf 30000,3000,1000] [--per-source 60]``
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
from pocketsphinx import Decoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import corpus  # noqa: E402

from pyai.audio.pcm import float_to_pcm16  # noqa: E402
from pyai.engines.stt.pocketsphinx_partials import PartialWorkers, hypothesis_text  # noqa: E402

CHUNK = 3200  # 100 ms of s16le at 16 kHz, as a stream's partials are decoded


def decode(decoder: Decoder, utt: corpus.Utterance) -> tuple[str, float, int | None]:
    """The last hypothesis, the CPU seconds it took, and the audio ms the first words needed."""
    pcm = float_to_pcm16(utt.samples).tobytes()
    start, first = time.process_time(), None
    decoder.start_utt()
    for i in range(0, len(pcm), CHUNK):
        decoder.process_raw(pcm[i : i + CHUNK])
        if first is None and hypothesis_text(decoder):
            first = (i + CHUNK) // 32
    decoder.end_utt()
    return hypothesis_text(decoder), time.process_time() - start, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maxhmmpf", default="30000,3000,1000", help="active HMMs a frame to compare")
    ap.add_argument("--per-source", type=int, default=60, help="recordings per corpus source")
    args = ap.parse_args()
    utts = [u for u in corpus.corpus(per_source=args.per_source) if u.seconds < 12]
    audio = sum(u.seconds for u in utts)
    print(f"# {date.today()}, {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}\n")
    print(f"### Partials' decoder by maxhmmpf ({len(utts)} recordings, {audio:.0f} s, 100 ms chunks)\n")
    print("| maxhmmpf | CPU s per audio s | WER of the last hypothesis | first words after, audio ms p50 |")
    print("| ---: | ---: | --- | ---: |")
    base = PartialWorkers({}).config
    for limit in (int(v) for v in args.maxhmmpf.split(",")):
        decoder = Decoder(**{**base, "maxhmmpf": limit})
        cpu, total, firsts = 0.0, corpus.Score(0, 0), []
        for u in utts:
            text, seconds, first = decode(decoder, u)
            cpu += seconds
            total = total + corpus.score(u, text)
            if first is not None:
                firsts.append(first)
        print(
            f"| {limit} | {cpu / audio:.3f} | {total.wer:.1%} ({total.errors} / {total.words}) "
            f"| {np.median(firsts):.0f} |"
        )


if __name__ == "__main__":
    main()
