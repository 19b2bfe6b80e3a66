"""Omni benchmark: a caller talks to an agent over ``/v1/omni`` and we time, as the caller hears it,

- connect → first greeting audio byte;
- voice-to-voice: end of the caller's speech → first byte of the agent's answer, and its parts:
  end of speech → the caller's final transcript (end of turn + STT), → the agent's first
  sentence (brain), → its first audio byte (TTS and pacing);
- barge-in: start of caller speech over the agent → the last agent audio byte before it stopped;

with the embedded brain answering from a small knowledge base. Starts its own server; caller
speech is flite's voice at real-time pace (20 ms frames).

Usage: ``.venv/bin/python bench/omni.py [--turns 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import flite_wav, pcm16, silence_pcm16  # noqa: E402
from tests.server import Server  # noqa: E402

RATE = 16000
FRAME = RATE * 2 // 50
FAQ = "# Hours\n\nOn Saturday the store opens at ten and closes at four. We are closed on Sunday.\n"
QUESTIONS = ["What time does the store open on Saturday?", "Are you open on Sunday?"]


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


async def one_call(srv: Server, key: str, kb: str, turns: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "greeting": [],
        "voice_to_voice": [],
        "  speech end → caller.final": [],
        "  speech end → agent.text": [],
        "barge_in": [],
    }
    url = f"{srv.ws_url}/v1/omni?rate={RATE}"
    clips = [pcm16(flite_wav(q), RATE) for q in QUESTIONS]
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
            for j in range(0, len(clips[i % 2]), FRAME):
                await ws.send(clips[i % 2][j : j + FRAME])
                await asyncio.sleep(0.02)
            spoken_end = time.monotonic()
            first_audio = None
            silence = silence_pcm16(0.02, RATE)
            while first_audio is None:  # keep the line open with silence, as a phone does
                await ws.send(silence)
                await asyncio.sleep(0.02)
            out["voice_to_voice"].append(first_audio - spoken_end)
            final = next(e for e in events[mark:] if e["type"] == "caller.final")
            text = next(e for e in events[mark:] if e["type"] == "agent.text")
            out["  speech end → caller.final"].append(final["at"] - spoken_end)
            out["  speech end → agent.text"].append(text["at"] - spoken_end)
            # barge in half a second into the answer
            await asyncio.sleep(0.5)
            mark = len(events)
            barge_start = time.monotonic()
            for j in range(0, len(clips[0]) // 2, FRAME):
                await ws.send(clips[0][j : j + FRAME])
                await asyncio.sleep(0.02)
            interrupted = [e for e in events[mark:] if e["type"] == "interruption"]
            if interrupted and last_audio is not None:
                out["barge_in"].append(max(0.0, last_audio - barge_start))
            for _ in range(100):  # let the interrupted caller's turn settle
                await ws.send(silence)
                await asyncio.sleep(0.02)
            await wait_for("agent.audio_end", mark)
        await ws.send(json.dumps({"type": "end"}))
        await task
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "1000", "PYAI_RATE_LIMIT_BURST": "1000"}).start()
        try:
            key = srv.create_key(scopes="omni:session,hear:*,voice:*")["api_key"]
            c = httpx.Client(base_url=srv.url, headers=srv.headers(key), timeout=60)
            kb = c.post("/v1/knowledge-bases", json={"name": "FAQ"}).json()["id"]
            c.post(f"/v1/knowledge-bases/{kb}/documents", files={"file": ("faq.md", FAQ.encode())})
            results = asyncio.run(one_call(srv, key, kb, args.turns))
        finally:
            srv.stop()
    print(f"# {date.today()}, {platform.machine()}, embedded brain, default voice, {args.turns} turns\n")
    print("| measure | n | p50 ms | p95 ms |\n| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        if values:
            print(f"| {name} | {len(values)} | {pct(values, 50) * 1000:.0f} | {pct(values, 95) * 1000:.0f} |")
    if results["voice_to_voice"]:
        print(f"\nvoice-to-voice mean {statistics.fmean(results['voice_to_voice']) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
