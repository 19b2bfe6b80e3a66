"""Hear benchmark over HTTP/WebSocket against a local server:

- word error rate on human recordings (CMU ARCTIC in pysptk, ALSA test voices);
- batch real-time factor on ~60 s of speech;
- streaming: time to first partial (audio time after speech onset, and wall time) and
  final-after-endpoint latency, p50/p95, with audio sent in real time;
- how many concurrent real-time streams one machine sustains (p95 final lag under 1 s).

Usage: ``.venv/bin/python bench/hear.py``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import encode, flite_wav, pcm16, silence_pcm16  # noqa: E402
from tests.server import Server  # noqa: E402
from tests.speech_samples import HUMAN_RECORDINGS  # noqa: E402

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.text.wer import normalise_words, wer  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning about my order.",
    "Thank you for calling, your order has shipped.",
    "I would like to change the address on my account.",
]
CHUNK_MS = 100
LEAD_S, TAIL_S = 0.4, 1.0


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


def wer_table(c: httpx.Client) -> None:
    print("## WER on human recordings (batch, pyai-hear)")
    print("| recording | reference | hypothesis | WER |")
    print("| --- | --- | --- | --- |")
    errors = words = 0
    for path, ref in HUMAN_RECORDINGS:
        hyp = c.post("/v1/audio/transcriptions", files={"file": (path.name, path.read_bytes())}).json()["text"]
        w = wer(ref, hyp)
        n = len(normalise_words(ref))
        errors += w * n
        words += n
        print(f"| {path.name} | {ref} | {hyp} | {w:.2f} |")
    print(f"Corpus WER (word-weighted): {errors / words:.3f} over {words} words, {len(HUMAN_RECORDINGS)} recordings\n")


def batch_rtf(c: httpx.Client) -> None:
    pcm = np.concatenate([decode_audio(flite_wav(s), target_rate=16000).samples for s in SENTENCES * 5])
    data = encode(pcm.reshape(1, -1), 16000, "wav", "pcm_s16le")
    seconds = len(pcm) / 16000
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert c.post("/v1/audio/transcriptions", files={"file": ("a.wav", data)}).status_code == 200
        walls.append(time.perf_counter() - t0)
    print(
        f"## Batch real-time factor: {statistics.median(walls) / seconds:.3f} "
        f"({seconds:.0f} s of speech in {statistics.median(walls):.1f} s, median of 3)\n"
    )


def speech_onset_ms(pcm: bytes) -> int:
    """First 10 ms frame above -35 dBFS: where speech really starts (flite pads ~250 ms of silence)."""
    x = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    return int(np.argmax(level > -35)) * 10


async def stream_once(url: str, sentence: str) -> dict:
    """Stream one utterance in real time; returns latency measurements."""
    speech_pcm = pcm16(flite_wav(sentence))
    audio = silence_pcm16(LEAD_S) + speech_pcm + silence_pcm16(TAIL_S)
    step = 16000 * 2 * CHUNK_MS // 1000
    sent_at: list[tuple[int, float]] = []  # (audio ms at end of chunk, wall time sent)
    got: dict = {}

    async with connect(url) as ws:

        async def reader() -> None:
            async for msg in ws:
                frame = json.loads(msg)
                now = time.perf_counter()
                if frame["type"] == "partial" and "first_partial" not in got:
                    got["first_partial"] = (frame["t_ms"], now)
                if frame["type"] in ("speech_final", "final") and frame["type"] not in got:
                    got[frame["type"]] = (frame["t_ms"], now)

        task = asyncio.create_task(reader())
        start = time.perf_counter()
        for i in range(0, len(audio), step):
            await ws.send(audio[i : i + step])
            sent_at.append(((i + step) * 1000 // 32000, time.perf_counter()))
            await asyncio.sleep(max(0.0, start + (i + step) / 32000 - time.perf_counter()))
        await ws.send("EOF")
        await task

    def sent_time(t_ms: int) -> float:
        return next((t for ms, t in sent_at if ms >= t_ms), sent_at[-1][1])

    onset_ms = int(LEAD_S * 1000) + speech_onset_ms(speech_pcm)
    out = {}
    if "first_partial" in got:
        t_ms, recv = got["first_partial"]
        out["ttfp_audio_ms"] = t_ms - onset_ms
        out["ttfp_wall_ms"] = (recv - sent_time(onset_ms)) * 1000
    for kind in ("speech_final", "final"):
        if kind in got:
            t_ms, recv = got[kind]
            out[f"{kind}_latency_ms"] = (recv - sent_time(t_ms)) * 1000
    return out


async def streaming(base: str, key: str) -> None:
    url = f"{base}/v1/audio/transcriptions/stream?api_key={key}&endpointing_ms=600"
    results = [await stream_once(url, s) for s in SENTENCES * 3]
    print("## Streaming latency (one stream, audio sent in real time, endpointing_ms=600)")
    for name in ("ttfp_audio_ms", "ttfp_wall_ms", "speech_final_latency_ms", "final_latency_ms"):
        vals = [r[name] for r in results if name in r]
        print(f"- {name}: p50 {pct(vals, 50):.0f} ms, p95 {pct(vals, 95):.0f} ms (n={len(vals)})")
    print(
        "  (ttfp = first partial after speech onset; *_latency = from sending the audio at the endpoint "
        "to receiving the frame)\n"
    )
    print("## Concurrent real-time streams")
    print(
        "Sustained = the server keeps up with live audio: p95 speech_final latency under 300 ms and "
        "every full-context final within 2 s."
    )
    for n in (1, 2, 4, 6, 8, 12, 16):
        batches = await asyncio.gather(*(stream_once(url, SENTENCES[i % len(SENTENCES)]) for i in range(n)))
        sf = [r["speech_final_latency_ms"] for r in batches if "speech_final_latency_ms" in r]
        fin = [r["final_latency_ms"] for r in batches if "final_latency_ms" in r]
        p95_sf = pct(sf, 95) if sf else float("inf")
        p95_fin = pct(fin, 95) if fin else float("inf")
        ok = len(fin) == n and p95_sf < 300 and max(fin) < 2000
        print(
            f"- {n:>2} streams: p95 speech_final {p95_sf:.0f} ms, p95 final {p95_fin:.0f} ms, "
            f"max final {max(fin, default=float('inf')):.0f} ms -> {'sustained' if ok else 'NOT sustained'}"
        )
        if not ok:
            break


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(
            Path(tmp),
            {
                "PYAI_RATE_LIMIT_RPS": "1000",
                "PYAI_RATE_LIMIT_BURST": "1000",
                "PYAI_REALTIME_CONCURRENCY": "64",
                "PYAI_STT_DECODERS": "32",
            },
        ).start()
        try:
            key = srv.create_key()["api_key"]
            with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as c:
                wer_table(c)
                batch_rtf(c)
            asyncio.run(streaming(srv.ws_url, key))
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
