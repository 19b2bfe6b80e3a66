"""Hear benchmark, engine against engine, over HTTP and WebSocket against a local server.

For each engine in ``--engines`` a fresh server runs with ``PYAI_STT_ENGINE=<engine>`` and is measured on
the human-speech corpus of tests/corpus.py (every recording with a known transcript that ships
in a package here):

- corpus WER per source, on the 16 kHz recordings (PCM16 WAV) and as telephone audio (8 kHz
  G.711 µ-law in a WAV, what a telephony client uploads), word-weighted, after Whisper's English
  normaliser;
- batch real-time factor on ~60 s of speech in one request (median of 3);
- streaming (audio sent in real time, docs/hear-stream.md): first partial after the speech onset,
  ``speech_final`` and ``final`` after the end of speech, p50/p95, one session at a time;
- concurrency: N real-time sessions held for ``--hold`` seconds each N in ``--streams``:
  how many kept real time, close codes other than 1000, lag of the ``final``s.

Usage: ``.venv/bin/python bench/hear.py [--engines pocketsphinx,whisper] [--hold 300] [--streams 2,4,6,8]``.
An engine this build does not have is skipped with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus import SOURCES, Score, Utterance, corpus, score, telephone_wav, wav16k  # noqa: E402
from tests.server import Server  # noqa: E402

from bench.hear_streams import ConcurrencyResult, concurrency, latency, pct  # noqa: E402

URL = "/v1/audio/transcriptions"
SERVER_ENV = {
    "PYAI_RATE_LIMIT_RPS": "1000",
    "PYAI_RATE_LIMIT_BURST": "1000",
    "PYAI_REALTIME_CONCURRENCY": "64",
}
GOALS = {"wer16": 0.04, "wer8": 0.05, "rtf": 0.3, "first_partial_ms": 300, "final_p95_ms": 700, "streams": 6}
#: (row, goal, latency measure) of the goals table's latency rows.
LATENCY_ROWS = (
    ("first partial after onset, wall ms p50 / p95", f"≤ {GOALS['first_partial_ms']}", "first_partial_wall_ms"),
    ("first partial after onset, audio ms p50 / p95", "", "first_partial_audio_ms"),
    ("`speech_final` after end of speech, ms p50 / p95", "", "speech_final_ms"),
    ("`final` after end of speech, ms p50 / p95", f"p95 ≤ {GOALS['final_p95_ms']}", "final_ms"),
    ("`final` after the server's endpoint, ms p50 / p95", "", "final_after_endpoint_ms"),
)


@dataclass
class EngineReport:
    engine: str
    skipped: str | None = None
    wer: dict[str, tuple[Score, Score]] = field(default_factory=dict)  # source -> (16 kHz, telephone)
    hypotheses: list[dict] = field(default_factory=list)
    rtf: float = float("nan")
    latency: dict[str, list[float]] = field(default_factory=dict)
    missing_finals: int = 0
    streams: list[ConcurrencyResult] = field(default_factory=list)

    def total(self, i: int) -> Score:
        return sum((s[i] for s in self.wer.values()), Score(0, 0))


def unavailable(engine: str) -> str | None:
    """Why this build cannot run ``engine``, or None."""
    try:
        from pyai.engines.stt import registry
    except ImportError as exc:
        return f"no STT registry ({exc})"
    engines = getattr(registry, "ENGINES", None)
    if engines is not None and engine not in engines:
        return f"PYAI_STT_ENGINE={engine} is not in this build (engines: {', '.join(engines)})"
    return None


def transcribe(c: httpx.Client, data: bytes, name: str) -> str:
    r = c.post(URL, files={"file": (name, data)})
    r.raise_for_status()
    return r.json()["text"]


def measure_wer(c: httpx.Client, utts: list[Utterance], report: EngineReport, workers: int) -> None:
    """Both conditions for every utterance, ``workers`` requests in flight."""

    done = iter(range(1, len(utts) + 1))

    def one(utt: Utterance) -> dict:
        row = {
            "id": utt.id,
            "source": utt.source,
            "reference": utt.reference,
            "hyp16": transcribe(c, wav16k(utt.samples), "a.wav"),
            "hyp8": transcribe(c, telephone_wav(utt.samples), "call.wav"),
        }
        if (n := next(done)) % 50 == 0:
            log(f"  {n}/{len(utts)}")
        return row

    with ThreadPoolExecutor(workers) as pool:
        tally(report, list(pool.map(one, utts)), utts)


def tally(report: EngineReport, rows: list[dict], utts: list[Utterance]) -> None:
    """Score hypotheses (fresh, or saved by ``--save``) against the corpus utterances they belong to."""
    by_id = {(u.source, u.id): u for u in utts}
    for row in rows:
        utt = by_id.get((row["source"], row["id"]))
        if utt is None:
            continue
        s16, s8 = score(utt, row["hyp16"]), score(utt, row["hyp8"])
        row |= {"errors16": s16.errors, "errors8": s8.errors, "words": s16.words}
        old16, old8 = report.wer.get(utt.source, (Score(0, 0), Score(0, 0)))
        report.wer[utt.source] = (old16 + s16, old8 + s8)
    report.hypotheses = rows


def measure_rtf(c: httpx.Client, utts: list[Utterance]) -> float:
    """One ~60 s request of human speech (recordings joined with 0.3 s pauses), median of 3."""
    pause = np.zeros(4800, np.float32)
    pieces, total = [], 0
    for u in sorted(utts, key=lambda u: -u.seconds):
        if total >= 60 * 16000:
            break
        pieces += [u.samples, pause]
        total += len(u.samples) + len(pause)
    data = wav16k(np.concatenate(pieces))
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        transcribe(c, data, "long.wav")
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls) / (total / 16000)


def latency_set(utts: list[Utterance], n: int) -> list[Utterance]:
    """``n`` recordings of 1.5-10 s, spread over the sources."""
    usable = [u for u in utts if 1.5 <= u.seconds <= 10]
    by_source: dict[str, list[Utterance]] = {}
    for u in usable:
        by_source.setdefault(u.source, []).append(u)
    picked: list[Utterance] = []
    while len(picked) < n and any(by_source.values()):
        for items in by_source.values():
            if items and len(picked) < n:
                picked.append(items.pop(len(items) // 2))
    return picked


def run_engine(engine: str, utts: list[Utterance], args: argparse.Namespace) -> EngineReport:
    report = EngineReport(engine)
    if reason := unavailable(engine):
        report.skipped = reason
        return report
    with tempfile.TemporaryDirectory() as tmp:
        try:
            srv = Server(Path(tmp), {**SERVER_ENV, "PYAI_STT_ENGINE": engine}).start(timeout=300)
        except RuntimeError as exc:
            report.skipped = f"server did not start with PYAI_STT_ENGINE={engine}: {str(exc)[-400:]}"
            return report
        try:
            key = srv.create_key()["api_key"]
            with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=600) as c:
                if "wer" in args.parts:
                    log(f"[{engine}] WER over {len(utts)} recordings x 2 conditions")
                    measure_wer(c, utts, report, args.workers)
                if "rtf" in args.parts:
                    log(f"[{engine}] batch RTF")
                    report.rtf = measure_rtf(c, utts)
            ws = f"{srv.ws_url}{URL}/stream?api_key={key}"
            if args.endpointing_ms:
                ws += f"&endpointing_ms={args.endpointing_ms}"
            endpointing = args.endpointing_ms or 600
            if "latency" in args.parts:
                log(f"[{engine}] streaming latency, {args.latency_n} sessions")
                report.latency, report.missing_finals = asyncio.run(
                    latency(ws, latency_set(utts, args.latency_n), endpointing)
                )
            for n in args.streams if "streams" in args.parts else ():
                log(f"[{engine}] {n} concurrent real-time streams for {args.hold:g} s")
                result = asyncio.run(
                    concurrency(ws, latency_set(utts, 40), n, args.hold, endpointing, args.max_final_lag_ms)
                )
                report.streams.append(result)
        finally:
            srv.stop()
    return report


def log(msg: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# --- report ---------------------------------------------------------------------------------------


def fmt_wer(s: Score) -> str:
    return f"{100 * s.wer:.1f}%" if s.words else "n/a"


def p50_95(values: list[float]) -> str:
    return f"{pct(values, 50):.0f} / {pct(values, 95):.0f}" if values else "n/a"


def print_report(reports: list[EngineReport], utts: list[Utterance], args: argparse.Namespace) -> None:
    ran = [r for r in reports if not r.skipped]
    for r in reports:
        if r.skipped:
            print(f"**{r.engine}: skipped** — {r.skipped}\n")
    if not ran:
        return
    if any(r.wer for r in ran):
        print_wer(ran, utts)
    print_goals(ran, args)
    if any(r.streams for r in ran):
        print_streams(ran, args)


def print_wer(ran: list[EngineReport], utts: list[Utterance]) -> None:
    print("### Corpus WER (word-weighted, Whisper English normaliser on both sides)\n")
    head = " | ".join(f"{r.engine} 16 kHz | {r.engine} 8 kHz µ-law" for r in ran)
    print(f"| source | recordings | words | minutes | {head} |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in range(2 * len(ran))) + " |")
    for source in SOURCES:
        mine = [u for u in utts if u.source == source]
        if not mine:
            continue
        pairs = [r.wer.get(source, (Score(0, 0), Score(0, 0))) for r in ran]
        cells = " | ".join(f"{fmt_wer(wide)} | {fmt_wer(phone)}" for wide, phone in pairs)
        words = sum(len(u.words) for u in mine)
        print(f"| {source} | {len(mine)} | {words} | {sum(u.seconds for u in mine) / 60:.1f} | {cells} |")
    cells = " | ".join(f"**{fmt_wer(r.total(0))}** | **{fmt_wer(r.total(1))}**" for r in ran)
    words = sum(len(u.words) for u in utts)
    print(f"| **all** | {len(utts)} | {words} | {sum(u.seconds for u in utts) / 60:.1f} | {cells} |\n")


def print_goals(ran: list[EngineReport], args: argparse.Namespace) -> None:
    print("### Against the goals\n")
    print("| measure | goal | " + " | ".join(r.engine for r in ran) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in ran) + " |")
    rows = [
        ("corpus WER, 16 kHz", f"≤ {GOALS['wer16']:.0%}", lambda r: fmt_wer(r.total(0))),
        ("corpus WER, 8 kHz µ-law", f"≤ {GOALS['wer8']:.0%}", lambda r: fmt_wer(r.total(1))),
        ("batch RTF (60 s, one request)", f"≤ {GOALS['rtf']}", lambda r: f"{r.rtf:.3f}"),
        *((name, goal, lambda r, key=key: p50_95(r.latency.get(key, []))) for name, goal, key in LATENCY_ROWS),
        (
            "concurrent real-time streams kept",
            f"≥ {GOALS['streams']}",
            lambda r: ", ".join(f"{s.kept_real_time}/{s.streams}" for s in r.streams) or "n/a",
        ),
    ]
    for name, goal, cell in rows:
        print(f"| {name} | {goal} | " + " | ".join(cell(r) for r in ran) + " |")
    endpointing = args.endpointing_ms or "the server's default (eagerness normal)"
    print(
        f"\nLatency: {len(ran[0].latency.get('final_ms', []))} sessions one at a time, audio in real time, "
        f"`endpointing_ms` {endpointing}; prompts without a `final`: "
        + ", ".join(f"{r.engine} {r.missing_finals}" for r in ran)
        + ".\n"
    )


def print_streams(ran: list[EngineReport], args: argparse.Namespace) -> None:
    print(
        f"### Concurrent real-time streams ({args.hold:g} s each; kept = closed 1000, a `final` for every "
        f"prompt, p95 `final` lag ≤ {args.max_final_lag_ms:g} ms, sender never 1 s behind)\n"
    )
    print(
        "| engine | streams | kept real time | close codes | `final` lag p50 / p95 / max ms "
        "| `speech_final` p95 ms | first partial p95 ms | lag drift ms | prompts without `final` |"
    )
    print("| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for r in ran:
        for s in r.streams:
            closes = ", ".join(f"{code} ×{n}" for code, n in sorted(s.closes.items()))
            lag = f"{p50_95(s.final_ms)} / {max(s.final_ms, default=float('nan')):.0f}"
            print(
                f"| {r.engine} | {s.streams} | {s.kept_real_time}/{s.streams} | {closes} | {lag} | "
                f"{pct(s.speech_final_ms, 95):.0f} | {pct(s.first_partial_ms, 95):.0f} | {s.drift_ms:+.0f} | "
                f"{s.missing_finals} |"
            )
    print()


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="pocketsphinx,whisper", help="comma-separated PYAI_STT_ENGINE values")
    ap.add_argument("--sources", default=",".join(SOURCES), help="corpus sources (tests/corpus.py)")
    ap.add_argument("--per-source", type=int, default=None, help="at most this many recordings per source")
    ap.add_argument("--workers", type=int, default=2, help="batch requests in flight while measuring WER")
    ap.add_argument("--parts", default="wer,rtf,latency,streams", help="what to measure (comma-separated)")
    ap.add_argument("--latency-n", type=int, default=16, help="single sessions for the latency percentiles")
    ap.add_argument("--streams", default="2,4,6,8", help="concurrent stream counts (empty: skip)")
    ap.add_argument("--hold", type=float, default=30, help="seconds each concurrency level is held")
    ap.add_argument("--max-final-lag-ms", type=float, default=2000, help="p95 final lag a real-time stream may have")
    ap.add_argument("--endpointing-ms", type=int, default=None, help="stream endpointing_ms (server default if unset)")
    ap.add_argument("--save", type=Path, help="write every measurement and hypothesis to this JSON file")
    ap.add_argument(
        "--load", type=Path, nargs="+", help="no server: report (and re-score) what --save runs wrote, merged"
    )
    args = ap.parse_args()
    args.parts = set(args.parts.split(","))
    args.streams = [int(n) for n in args.streams.split(",") if n.strip()]
    return args


def main() -> None:
    args = parse_args()
    utts = corpus([s for s in args.sources.split(",") if s], args.per_source)
    if args.load:
        reports = load_reports(args.load, utts)
    else:
        reports = [run_engine(e.strip(), utts, args) for e in args.engines.split(",") if e.strip()]
    if args.save:
        args.save.write_text(json.dumps({r.engine: saved(r) for r in reports}, indent=1))
    print_report(reports, utts, args)


def saved(r: EngineReport) -> dict:
    return {
        "skipped": r.skipped,
        "hypotheses": r.hypotheses,
        "rtf": r.rtf,
        "latency": r.latency,
        "missing_finals": r.missing_finals,
        "streams": [asdict(s) for s in r.streams],
    }


def load_reports(paths: list[Path], utts: list[Utterance]) -> list[EngineReport]:
    """Reports from saved runs; a later file adds what an earlier one lacks (e.g. a WER run, then a timing run)."""
    reports: dict[str, EngineReport] = {}
    for path in paths:
        for engine, data in json.loads(path.read_text()).items():
            r = reports.setdefault(engine, EngineReport(engine))
            if data["skipped"] and not r.skipped:
                r.skipped = data["skipped"]
            if data["hypotheses"]:
                tally(r, data["hypotheses"], utts)
            if not np.isnan(data["rtf"]):
                r.rtf = data["rtf"]
            if data["latency"]:
                r.latency, r.missing_finals = data["latency"], data["missing_finals"]
            if data["streams"]:
                r.streams = [ConcurrencyResult(**s) for s in data["streams"]]
    for r in reports.values():
        if r.skipped and (r.hypotheses or r.latency):
            r.skipped = None
    return list(reports.values())


if __name__ == "__main__":
    main()
