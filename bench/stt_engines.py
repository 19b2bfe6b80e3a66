"""STT engines side by side, in-process (issue #9): what the decoding choices in
``pyai/engines/stt/whisper_engine.py`` and the telephony model rest on.

- WER of Whisper (the engine as configured) and pocketsphinx on human recordings with known
  transcripts, at 16 kHz and as 8 kHz µ-law telephone audio (resampled to 8 kHz with soxr,
  G.711-encoded into a WAV and decoded by the server's own decoder, which upsamples with soxr),
  each with and without the telephone band filter of ``pyai-hear-telephony``;
- Whisper's batch real-time factor per beam size, and per thread/worker split under concurrency;
- what Whisper says over silence and noise (must be nothing).

Recordings: CMU ARCTIC (pysptk), the ALSA voices, the LibriVox and card-game recordings of
Debian's pocketsphinx-testdata, and a deterministic sample of Asterisk's Allison IVR prompts
(asterisk-core-sounds-en: G.722 wideband as the 16 kHz source). Prompts whose transcript holds
digits or bracketed notes are skipped: the engines answer in spoken form.

Usage: ``.venv/bin/python bench/stt_engines.py [--sections wer,silence,beam,threads]`` (prints
Markdown for docs/benchmarks.md). The machine must be otherwise idle for the timing sections.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soxr
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import decode, encode  # noqa: E402
from tests.speech_samples import HUMAN_RECORDINGS  # noqa: E402

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT  # noqa: E402
from pyai.engines.stt.whisper_engine import WhisperSTT  # noqa: E402
from pyai.engines.stt.whisper_models import resolve  # noqa: E402
from pyai.text.wer import normalise_words, wer  # noqa: E402

TESTDATA = Path("/usr/share/pocketsphinx/test/data")
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
ASTERISK_EVERY = 4  # every 4th usable prompt, in name order (~48 of 190)
RATE = 16000


def _transcription_file(path: Path) -> dict[str, str]:
    """Sphinx ``<s> words </s> (id)`` lines → {id: words}."""
    out = {}
    for line in path.read_text().splitlines():
        if "(" in line:
            text, ident = line.rsplit("(", 1)
            out[ident.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return out


def recordings() -> list[tuple[str, str, np.ndarray]]:
    """(set, reference, 16 kHz samples) for every recording found."""
    out = [("arctic+alsa", ref, to_16k(path.read_bytes())) for path, ref in HUMAN_RECORDINGS]
    for folder, name in (("librivox", "transcription"), ("cards", "cards.transcription")):
        if (TESTDATA / folder / name).exists():
            for ident, ref in _transcription_file(TESTDATA / folder / name).items():
                wav = TESTDATA / folder / f"{ident}.wav"
                if wav.exists():
                    out.append((folder, ref, to_16k(wav.read_bytes())))
    if ASTERISK_TEXT.exists():
        usable = []
        for line in gzip.decompress(ASTERISK_TEXT.read_bytes()).decode().splitlines():
            name, _, text = line.partition(":")
            text = text.strip()
            if line.startswith(";") or not text or re.search(r"[0-9\[\]<>#*/]", text) or len(text.split()) < 4:
                continue
            if (ASTERISK / f"{name.strip()}.g722").exists():
                usable.append((name.strip(), text))
        for name, text in sorted(usable)[::ASTERISK_EVERY]:
            pcm, rate, _ = decode((ASTERISK / f"{name}.g722").read_bytes(), "g722")  # raw G.722: no header
            out.append(("asterisk-ivr", text, soxr.resample(pcm[0], rate, RATE).astype(np.float32)))
    return out


@functools.cache
def _band() -> np.ndarray:
    return signal.butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")


def telephone_band(samples: np.ndarray) -> np.ndarray:
    """The G.712 telephone channel (300-3400 Hz), zero-phase so word timings do not move: the
    candidate meaning of ``pyai-hear-telephony`` (make 16 kHz and 8 kHz sources look alike)."""
    return signal.sosfiltfilt(_band(), samples).astype(np.float32)


def to_16k(data: bytes) -> np.ndarray:
    return decode_audio(data, target_rate=RATE).samples


def ulaw_8k(samples: np.ndarray) -> np.ndarray:
    """The telephone path: 8 kHz µ-law WAV, decoded (and upsampled to 16 kHz) by the server's decoder."""
    narrow = soxr.resample(samples, RATE, 8000, quality="HQ").astype(np.float32)
    return decode_audio(encode(narrow.reshape(1, -1), 8000, "wav", "pcm_mulaw"), target_rate=RATE).samples


CONDITIONS = {
    "16 kHz": lambda a: a,
    "16 kHz, telephone band": telephone_band,
    "8 kHz µ-law": ulaw_8k,
    "8 kHz µ-law, telephone band": lambda a: telephone_band(ulaw_8k(a)),
}


def wer_tables(engines: dict, data: list[tuple[str, str, np.ndarray]]) -> None:
    sets = sorted({s for s, _, _ in data})
    print("## WER by engine, input and recording set (word-weighted)")
    print(f"| engine | input | {' | '.join(sets)} | all |")
    print(f"| --- | --- | {' | '.join('---' for _ in sets)} | --- |")
    for engine_name, stt in engines.items():
        for cond, transform in CONDITIONS.items():
            errors = {s: 0.0 for s in sets}
            words = {s: 0 for s in sets}
            for set_name, ref, audio in data:
                n = len(normalise_words(ref))
                errors[set_name] += wer(ref, stt.transcribe(transform(audio)).text) * n
                words[set_name] += n
            cells = [f"{errors[s] / words[s]:.3f}" for s in sets]
            total = sum(errors.values()) / sum(words.values())
            print(f"| {engine_name} | {cond} | {' | '.join(cells)} | **{total:.3f}** |", flush=True)
    counts = ", ".join(f"{s}: {sum(1 for x, _, _ in data if x == s)}" for s in sets)
    print(f"\nRecordings: {counts}; {sum(len(normalise_words(r)) for _, r, _ in data)} reference words.\n")


def rtf(stt, audio: np.ndarray, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        stt.transcribe(audio)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / (len(audio) / RATE)


def long_audio(data: list[tuple[str, str, np.ndarray]], seconds: float = 60.0) -> np.ndarray:
    gap = np.zeros(RATE // 2, dtype=np.float32)
    parts, total = [], 0.0
    while total < seconds:
        for _, _, audio in data:
            parts += [audio, gap]
            total += len(audio) / RATE + 0.5
            if total >= seconds:
                break
    return np.concatenate(parts)


def beam_sweep(spec, partials, data) -> None:
    print("## Whisper beam size: WER (16 kHz, all recordings) and batch RTF (~60 s file)")
    print("| beam | WER | RTF |")
    print("| --- | --- | --- |")
    long = long_audio(data)
    for beam in (1, 2, 5):
        stt = WhisperSTT(spec, partials, beam_size=beam)
        errors = sum(wer(r, stt.transcribe(a).text) * len(normalise_words(r)) for _, r, a in data)
        words = sum(len(normalise_words(r)) for _, r, _ in data)
        print(f"| {beam} | {errors / words:.3f} | {rtf(stt, long):.3f} |", flush=True)
    print()


def concurrency_sweep(spec, partials, data) -> None:
    """Short utterances (stream finals, short files) decoded by N callers at once."""
    print("## Whisper threads × workers: short decodes (1-7 s), N at a time")
    print("| cpu_threads | num_workers | callers | decodes/s | median latency s | max latency s |")
    print("| --- | --- | --- | --- | --- | --- |")
    clips = [a for _, _, a in data if len(a) < 8 * RATE][:12]
    for threads, workers in ((2, 1), (1, 2), (2, 2)):
        stt = WhisperSTT(spec, partials, threads=threads, workers=workers)
        stt.transcribe(clips[0])  # load + warm

        def one(a: np.ndarray, stt=stt) -> float:
            t0 = time.perf_counter()
            stt.transcribe(a)
            return time.perf_counter() - t0

        for callers in (1, 2, 4):
            with ThreadPoolExecutor(callers) as pool:
                t0 = time.perf_counter()
                lat = list(pool.map(one, clips))
                wall = time.perf_counter() - t0
            row = f"| {threads} | {workers} | {callers} | {len(clips) / wall:.2f} | {statistics.median(lat):.2f}"
            print(f"{row} | {max(lat):.2f} |", flush=True)
    print()


def silence_and_noise(spec, partials) -> None:
    rng = np.random.default_rng(0)
    noise = Path("/usr/share/sounds/alsa/Noise.wav")
    t = np.arange(10 * RATE) / RATE
    cases = {
        "10 s digital silence": np.zeros(10 * RATE, dtype=np.float32),
        "ALSA Noise.wav": to_16k(noise.read_bytes()) if noise.exists() else np.zeros(RATE, np.float32),
        "10 s white noise, -40 dBFS": (rng.standard_normal(10 * RATE) * 0.01).astype(np.float32),
        "10 s white noise, -20 dBFS": (rng.standard_normal(10 * RATE) * 0.1).astype(np.float32),
        "10 s 50 Hz hum": (0.05 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
        "10 s 440 Hz tone": (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
    }
    arctic = to_16k(HUMAN_RECORDINGS[0][0].read_bytes())
    for db in (-30, -40, -50):
        cases[f"ARCTIC a0007 at {db} dBFS peak"] = (arctic / np.abs(arctic).max() * 10 ** (db / 20)).astype(np.float32)
    with_vad, without = WhisperSTT(spec, partials), WhisperSTT(spec, partials, vad=False)
    print("## Whisper over silence, noise and quiet speech (silence and noise must be empty)")
    print("| input | with Silero VAD (as configured) | without VAD |")
    print("| --- | --- | --- |")
    for name, audio in cases.items():
        print(f"| {name} | {with_vad.transcribe(audio).text!r} | {without.transcribe(audio).text!r} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sections", default="wer,silence,beam,threads", help="comma-separated subset")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    data = recordings()
    spec = resolve("tiny.en")
    pocketsphinx = PocketsphinxSTT(processes=1)
    whisper = WhisperSTT(spec, pocketsphinx)
    long = long_audio(data)
    print(f"# STT engines — `bench/stt_engines.py`, {time.strftime('%Y-%m-%d')}\n")
    if "wer" in sections:
        print(f"Batch RTF on a {len(long) / RATE:.0f} s file (median of 3): whisper {rtf(whisper, long):.3f}, ", end="")
        print(f"pocketsphinx {rtf(pocketsphinx, long):.3f}\n")
        wer_tables({"whisper tiny.en": whisper, "pocketsphinx": pocketsphinx}, data)
    if "silence" in sections:
        silence_and_noise(spec, pocketsphinx)
    if "beam" in sections:
        beam_sweep(spec, pocketsphinx, data)
    if "threads" in sections:
        concurrency_sweep(spec, pocketsphinx, data)
    pocketsphinx.close()


if __name__ == "__main__":
    main()
