"""Speak benchmark: time-to-first-audio and real-time factor per format and per engine path,
and per-voice intelligibility (STT round trip of each stock voice's preview) and pitch.

Starts its own server. Usage: ``.venv/bin/python bench/speak.py [--voices]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server import Server  # noqa: E402

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.engines.voice.analysis import analyse_voice  # noqa: E402
from pyai.text.wer import wer  # noqa: E402

SENTENCE = "Thank you for calling, your order has shipped."
PARAGRAPH = (
    "Thank you for calling the support line. Your order number is being checked right now. "
    "The package left our warehouse this morning. It should arrive within two business days."
)
FORMATS = ("pcm", "wav", "mp3", "opus", "aac", "flac", "g711_ulaw")
VOICES = {
    "flite only (stock_emma_en_us)": "stock_emma_en_us",
    "flite + WORLD reshaping (stock_olivia_en_us)": "stock_olivia_en_us",
}


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


SPEECH_RMS = 0.0018 * 32768  # -55 dBFS, over 10 ms at 24 kHz


def speech_onset(pcm: bytes) -> int | None:
    """Index of the first 10 ms frame of s16le 24 kHz audio louder than -55 dBFS."""
    x = np.frombuffer(pcm[: len(pcm) // 480 * 480], dtype="<i2").astype(np.float64).reshape(-1, 240)
    loud = np.flatnonzero(np.sqrt(np.square(x).mean(axis=1)) > SPEECH_RMS)
    return int(loud[0]) if len(loud) else None


def ttfa(
    client: httpx.Client, text: str, fmt: str, voice: str, runs: int, speech: list[float] | None = None
) -> tuple[list[float], float]:
    """Seconds to the first body byte, and the real-time factor (wall time / audio seconds).

    For pcm, ``speech`` collects the seconds to the first byte of speech (past the sentence's
    leading silence), so the two can be told apart.
    """
    firsts, rtfs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        with client.stream(
            "POST", "/v1/audio/speech", json={"input": text, "response_format": fmt, "voice": voice}
        ) as resp:
            first = first_speech = None
            body = b""
            for chunk in resp.iter_raw():
                first = first or time.perf_counter() - t0
                body += chunk
                if speech is not None and first_speech is None and speech_onset(body) is not None:
                    first_speech = time.perf_counter() - t0
        wall = time.perf_counter() - t0
        seconds = (
            len(body) / 2 / 24000
            if fmt == "pcm"
            else len(body) / 8000
            if fmt == "g711_ulaw"
            else decode_audio(body).duration
        )
        firsts.append(first or wall)
        rtfs.append(wall / seconds)
        if speech is not None:
            speech.append(first_speech or wall)
    return firsts, statistics.median(rtfs)


def voice_table(client: httpx.Client) -> None:
    voices = client.get("/v1/voices", params={"source": "stock"}).json()["data"]
    print(f"\n## Stock voices: preview → /v1/audio/transcriptions WER, F0 ({len(voices)} voices)")
    print("| voice | gender | F0 median Hz | centroid Hz | WER |")
    print("| --- | --- | --- | --- | --- |")
    wers = []
    for v in voices:
        mp3 = client.get(v["preview_url"]).content
        text = client.post("/v1/audio/transcriptions", files={"file": ("p.mp3", mp3)}).json()["text"]
        w = wer(v["bio"], text)
        wers.append(w)
        audio = decode_audio(mp3, target_rate=16000)
        prof = analyse_voice(audio.samples, 16000)
        print(f"| {v['voice_id']} | {v['gender']} | {prof.f0_median:.0f} | {prof.spectral_centroid:.0f} | {w:.2f} |")
    print(
        f"WER over voices: mean {statistics.fmean(wers):.3f}, median {statistics.median(wers):.3f}, max {max(wers):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", action="store_true", help="also measure every stock voice")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "1000", "PYAI_RATE_LIMIT_BURST": "1000"}).start()
        try:
            key = srv.create_key()["api_key"]
            with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
                ttfa(c, SENTENCE, "pcm", "stock_emma_en_us", 3)  # warm-up
                print("## Time to first audio byte, one sentence (p50 / p95 ms) and RTF, per format")
                print("| format | p50 ms | p95 ms | RTF |")
                print("| --- | --- | --- | --- |")
                for fmt in FORMATS:
                    firsts, rtf = ttfa(c, SENTENCE, fmt, "stock_emma_en_us", args.runs)
                    print(f"| {fmt} | {pct(firsts, 50) * 1000:.0f} | {pct(firsts, 95) * 1000:.0f} | {rtf:.3f} |")
                print("\n## Per engine path (pcm)")
                print(
                    "| engine path | 1 sentence first byte p50 / p95 ms | first speech byte p50 / p95 ms "
                    "| paragraph first byte p50 ms | paragraph RTF |"
                )
                print("| --- | --- | --- | --- | --- |")
                for label, voice in VOICES.items():
                    speech: list[float] = []
                    one, _ = ttfa(c, SENTENCE, "pcm", voice, args.runs, speech)
                    para, rtf = ttfa(c, PARAGRAPH, "pcm", voice, max(5, args.runs // 4))
                    print(
                        f"| {label} | {pct(one, 50) * 1000:.0f} / {pct(one, 95) * 1000:.0f} | "
                        f"{pct(speech, 50) * 1000:.0f} / {pct(speech, 95) * 1000:.0f} | "
                        f"{pct(para, 50) * 1000:.0f} | {rtf:.3f} |"
                    )
                if args.voices:
                    voice_table(c)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
