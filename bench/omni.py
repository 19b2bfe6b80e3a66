"""Omni benchmark: a caller talks to an agent over ``/v1/omni`` and we time, as the caller hears it,

- connect → first greeting audio byte;
- voice-to-voice: end of the caller's speech → first byte of the agent's answer, and its parts:
  end of speech → the caller's final transcript (end of turn + STT), → the agent's first
  sentence (brain), → its first audio byte (TTS and pacing);
- barge-in: start of caller speech over the agent → the last agent audio byte before it stopped;

with the embedded brain answering from a small knowledge base. Starts its own server; caller
speech is flite's voice at real-time pace (20 ms frames).

Times count from the caller's speech itself (its first and last sample above -40 dBFS in the
clip), not from the clip's edges. ``--calls N`` holds N calls at once (staggered by a second) to
see how many one machine sustains with the latencies held. By default the caller barges into every
answer (the densest load: two utterances and two answers a turn); ``--barge-every K`` barges into
every K-th answer and lets the others play out, followed by a second of quiet, as a caller who
listens does. The run also prints the CPU the server and its worker processes used while the calls
were on, per call: what bounds how many calls two cores hold.

Usage: ``.venv/bin/python bench/omni.py [--turns 10] [--calls 1] [--barge-every 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import flite_wav, pcm16, silence_pcm16  # noqa: E402
from tests.server import Server  # noqa: E402

RATE = 16000
FRAME = RATE * 2 // 50
FAQ = """# Hours

On Saturday the store opens at ten and closes at four. We are closed on Sunday.

# Returns and shipping

You can return any item within thirty days with the receipt. Shipping costs five dollars, free over fifty.

# Finding us

The store is on Main Street, next to the library.
"""
#: Questions the caller asks in turn; the turn model judges some of flite's readings unfinished
#: (the 1.5 s fallback), so several are cycled rather than one.
QUESTIONS = [
    "What time does the store open on Saturday?",
    "Are you open on Sunday?",
    "How long do I have to return an item?",
    "How much does shipping cost?",
    "Where is the store?",
    "Can I return something without the receipt?",
]


def speech_span(clip: bytes) -> tuple[float, float]:
    """(first, last) second of the clip where the voice is above -40 dBFS."""
    samples = np.abs(np.frombuffer(clip, dtype=np.int16))
    loud = np.nonzero(samples > 32768 * 10 ** (-40 / 20))[0]
    return loud[0] / RATE, loud[-1] / RATE


async def send_clip(ws, clip: bytes, marks: tuple[float, float]) -> tuple[float, float]:  # noqa: ANN001
    """Send ``clip`` at real-time pace; the monotonic times its speech started and ended."""
    start = end = 0.0
    for j in range(0, len(clip), FRAME):
        at = j / 2 / RATE
        now = time.monotonic()
        if start == 0.0 and at + 0.02 > marks[0]:
            start = now
        if end == 0.0 and at + 0.02 > marks[1]:
            end = now
        await ws.send(clip[j : j + FRAME])
        await asyncio.sleep(0.02)
    return start, end or time.monotonic()


SILENCE = silence_pcm16(0.02, RATE)


async def send_silence(ws, frames: int) -> None:  # noqa: ANN001
    """``frames`` 20 ms frames of silence at real-time pace, as a phone line carries a quiet caller."""
    for _ in range(frames):
        await ws.send(SILENCE)
        await asyncio.sleep(0.02)


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


def tree_cpu_seconds(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) used so far by process ``pid`` itself and by its live
    descendants (the partials' worker processes), read from /proc; None where there is no /proc."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    except OSError:
        return None
    if pid not in stats:
        return None
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (ppid, _) in stats.items() if ppid == parent and p not in tree]
        tree.update(children)
        frontier += children
    tick = os.sysconf("SC_CLK_TCK")
    return stats[pid][1] / tick, sum(stats[p][1] for p in tree - {pid}) / tick


async def one_call(srv: Server, key: str, kb: str, turns: int, barge_every: int = 1) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "greeting": [],
        "voice_to_voice": [],
        "  speech end → caller.final": [],
        "  speech end → agent.text": [],
        "barge_in": [],
    }
    url = f"{srv.ws_url}/v1/omni?rate={RATE}"
    clips = [pcm16(flite_wav(q), RATE) for q in QUESTIONS]
    spans = [speech_span(c) for c in clips]
    t0 = time.monotonic()
    async with connect(url, subprotocols=[f"pyai-key.{key}"], max_size=None) as ws:
        await ws.send(json.dumps({"type": "configure", "knowledge_base_id": kb}))
        last_audio = first_audio = None
        events: list[dict] = []

        async def reader() -> None:
            nonlocal last_audio, first_audio
            async for message in ws:
                now = time.monotonic()
                if isinstance(message, bytes):
                    last_audio = now
                    first_audio = first_audio or now
                else:
                    events.append({**json.loads(message), "at": now})

        task = asyncio.create_task(reader())

        async def wait_for(kind: str, after: int) -> dict:
            while not (found := [e for e in events[after:] if e["type"] == kind]):
                await asyncio.sleep(0.005)
            return found[0]

        await wait_for("agent.audio_end", 0)
        out["greeting"].append(first_audio - t0)
        for i in range(turns):
            mark = len(events)
            first_audio = None
            _, spoken_end = await send_clip(ws, clips[i % len(clips)], spans[i % len(clips)])
            while first_audio is None:  # keep the line open with silence, as a phone does
                await send_silence(ws, 1)
            out["voice_to_voice"].append(first_audio - spoken_end)
            final = next(e for e in events[mark:] if e["type"] == "caller.final")
            text = next(e for e in events[mark:] if e["type"] == "agent.text")
            out["  speech end → caller.final"].append(final["at"] - spoken_end)
            out["  speech end → agent.text"].append(text["at"] - spoken_end)
            if (i + 1) % barge_every:  # listen to the whole answer, then a second of quiet
                await wait_for("agent.audio_end", mark)
                await send_silence(ws, 50)
                continue
            # barge in half a second into the answer
            await asyncio.sleep(0.5)
            mark = len(events)
            barge_start, _ = await send_clip(ws, clips[0][: len(clips[0]) // 2], (spans[0][0], 1e9))
            interrupted = [e for e in events[mark:] if e["type"] == "interruption"]
            if interrupted and last_audio is not None:
                out["barge_in"].append(max(0.0, last_audio - barge_start))
            await send_silence(ws, 100)  # let the interrupted caller's turn settle
            await wait_for("agent.audio_end", mark)
        await ws.send(json.dumps({"type": "end"}))
        await task
    return out


async def staggered_calls(calls: int, one: Callable[[], Awaitable[dict[str, list[float]]]]) -> dict[str, list[float]]:
    """``calls`` calls of ``one`` at once, each started a second after the one before; all their
    timings, merged by measure."""

    async def started(i: int) -> dict[str, list[float]]:
        await asyncio.sleep(i)
        return await one()

    merged: dict[str, list[float]] = {}
    for result in await asyncio.gather(*(started(i) for i in range(calls))):
        for name, values in result.items():
            merged.setdefault(name, []).extend(values)
    return merged


def engine_work(c: httpx.Client) -> list[str]:
    """What the server's engines did in the run, from its /metrics: per engine, how many decodes or
    sentences and their total and mean time (where a call's CPU goes)."""
    sums: dict[tuple[str, str], dict[str, float]] = {}
    for family in text_string_to_metric_families(c.get("/metrics").text):
        if family.name in ("pyai_stt_decode_seconds", "pyai_tts_synthesis_seconds"):
            for sample in family.samples:
                part = sample.name.removeprefix(family.name + "_")
                if part in ("count", "sum"):
                    sums.setdefault((family.name, sample.labels["engine"]), {})[part] = sample.value
    return [
        f"{family.removeprefix('pyai_').removesuffix('_seconds')} {engine}: {v['count']:.0f} in {v['sum']:.1f} s "
        f"(mean {v['sum'] / max(v['count'], 1) * 1000:.0f} ms)"
        for (family, engine), v in sorted(sums.items())
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--barge-every", type=int, default=1, help="barge into every K-th answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PYAI_RATE_LIMIT_RPS": "1000", "PYAI_RATE_LIMIT_BURST": "1000", "PYAI_METRICS_OPEN": "1"}
        srv = Server(Path(tmp), env).start()
        try:
            key = srv.create_key(scopes="omni:session,hear:*,voice:*")["api_key"]
            c = httpx.Client(base_url=srv.url, headers=srv.headers(key), timeout=60)
            kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
            c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", FAQ.encode())})
            cpu_before, wall_before = tree_cpu_seconds(srv.proc.pid), time.monotonic()
            results = asyncio.run(
                staggered_calls(args.calls, lambda: one_call(srv, key, kb, args.turns, args.barge_every))
            )
            cpu_after, wall = tree_cpu_seconds(srv.proc.pid), time.monotonic() - wall_before
            work = engine_work(c)
        finally:
            srv.stop()
    print(f"# {date.today()}, {platform.machine()}, embedded brain, default voice, {args.calls} call(s) at once, ")
    print(f"{args.turns} turns each, barging into every {args.barge_every} answer(s)\n")
    print("| measure | n | p50 ms | p95 ms |\n| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        if values:
            print(f"| {name} | {len(values)} | {pct(values, 50) * 1000:.0f} | {pct(values, 95) * 1000:.0f} |")
    if results["voice_to_voice"]:
        print(f"\nvoice-to-voice mean {statistics.fmean(results['voice_to_voice']) * 1000:.0f} ms")
    if cpu_before is not None and cpu_after is not None:
        server, workers = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
        cores = (server + workers) / wall
        print(
            f"\nServer CPU while the calls were on: {server + workers:.1f} s in {wall:.0f} s = {cores:.2f} cores, "
            f"{cores / args.calls:.2f} a call ({os.cpu_count()} cores here); the server process {server:.1f} s "
            f"(Whisper, speech synthesis, VAD, turn model, the event loop), the partials' workers {workers:.1f} s"
        )
    print("\nEngine work in the run (includes the greeting, barge-ins and look-aheads):")
    print("\n".join(f"- {line}" for line in work))


if __name__ == "__main__":
    main()
