"""Speak benchmark: time-to-first-audio and real-time factor per format and per engine path,
and per-voice intelligibility and pitch.

Intelligibility: every stock voice says a fixed set of call sentences (numbers, a phone number, an
e-mail address, a date and time, a code, a question) and the server's own Whisper tiny.en (an
independent listener: no voice was tuned on these sentences) transcribes them; WER is counted on
Whisper's English normaliser on both sides (tests/corpus.py), against what the voice was asked
to say once normalised for speech (text/spoken.py), so the ASR's formatting is not an error.

Lead clause (``--clauses``): short sentences with an early pause mark, on two Piper and two HTS
voices, made lead clause first as the server does and made whole (the cut switched off,
in-process), heard by the same Whisper: what the early first audio costs in intelligibility.

Starts its own server. Usage: ``.venv/bin/python bench/speak.py [--voices] [--clauses]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus import normalise  # noqa: E402
from tests.server import Server  # noqa: E402

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.audio.resample import resample  # noqa: E402
from pyai.engines.stt.whisper_engine import WhisperSTT  # noqa: E402
from pyai.engines.stt.whisper_models import resolve  # noqa: E402
from pyai.engines.tts import whole_utterance  # noqa: E402
from pyai.engines.tts.base import NATIVE_RATE  # noqa: E402
from pyai.engines.tts.registry import get_tts  # noqa: E402
from pyai.engines.voice.analysis import analyse_voice  # noqa: E402
from pyai.speak.catalog import get_stock  # noqa: E402
from pyai.text.spoken import to_spoken  # noqa: E402
from pyai.text.wer import word_errors  # noqa: E402

SENTENCE = "Thank you for calling, your order has shipped."
LONG_SENTENCE = (
    "Your replacement card was mailed to the address we have on file this morning and should "
    "arrive within five to seven business days."
)
#: The intelligibility set: a greeting, a question, and the normalisation set (NORMALISATION).
CALL_SENTENCES = [
    "Thank you for calling Acme support, how can I help you today?",
    "Would you like me to transfer you to a specialist?",
    "Your balance is $1,234.50, and your next payment of $89.99 is due on 3/14.",
    "Please call us back at +1 (415) 555-0123, extension 42.",
    "I have sent the confirmation to jane.doe@example.com just now.",
    "Your appointment is on Tuesday at 4:15 PM with Dr. Smith at 123 Main St.",
    "Your confirmation code is ABX-42Q9.",
    "The 3rd payment was 12.5% higher than the 1st one.",
]
NORMALISATION = range(2, len(CALL_SENTENCES))
#: Short sentences (≤ 8 words) with an early pause mark: the ones ``engines/tts/clauses.py`` cuts
#: only since the short-sentence rule.
CLAUSE_SENTENCES = [
    "Of course, I can do that.",
    "Thank you for calling, your order has shipped.",
    "Yes, your card is active now.",
    "No problem, I will wait here.",
    "Good morning, how are you today?",
    "Sorry, that line is busy right now.",
    "Right now, the store is closed.",
    "One moment, let me check that.",
    "Great, your payment went through.",
    "Okay, your refund is on its way.",
]
CLAUSE_VOICES = ("stock_james_en_us", "stock_owen_en_us", "stock_emma_en_us", "stock_olivia_en_us")
PARAGRAPH = (
    "Thank you for calling the support line. Your order number is being checked right now. "
    "The package left our warehouse this morning. It should arrive within two business days."
)
FORMATS = ("pcm", "wav", "mp3", "opus", "aac", "flac", "g711_ulaw")
VOICES = {
    "flite only (stock_callum_en_scotland)": "stock_callum_en_scotland",
    "flite + WORLD reshaping (stock_fraser_en_scotland)": "stock_fraser_en_scotland",
    "festival HTS (stock_emma_en_us)": "stock_emma_en_us",
    "festival HTS + WORLD (stock_olivia_en_us)": "stock_olivia_en_us",
    "piper + WORLD (stock_james_en_us)": "stock_james_en_us",
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


def heard_words(text: str) -> list[str]:
    """Whisper writes a spoken address as one token ("jane.doe@example.com", or "jane .do at example
    .com"); split it back into the words that were said before normalising (a dot before two or
    more letters is a spoken "dot"; "p.m." and "4.15" are left to the normaliser)."""
    text = re.sub(r"@", " at ", text)
    return normalise(re.sub(r"\s*\.(?=[a-z]{2,})", " dot ", text))


def voice_table(client: httpx.Client) -> None:
    voices = client.get("/v1/voices", params={"source": "stock", "limit": 100}).json()["data"]
    print(f"\n## Stock voices: {len(CALL_SENTENCES)} call sentences → Whisper tiny.en ({len(voices)} voices)")
    print("| voice | engine | gender | F0 median Hz | errors / words | WER | normalisation set errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    refs = [normalise(to_spoken(t)) for t in CALL_SENTENCES]
    total_errors = total_words = 0
    rates, mispronouncing = [], []
    for v in voices:
        errors, norm_errors, audio = 0, 0, []
        for i, text in enumerate(CALL_SENTENCES):
            wav = client.post(
                "/v1/audio/speech", json={"input": text, "voice": v["voice_id"], "response_format": "wav", "seed": 1}
            ).content
            said = client.post("/v1/audio/transcriptions", files={"file": ("s.wav", wav)}).json()["text"]
            e = word_errors(refs[i], heard_words(said))
            errors += e
            norm_errors += e if i in NORMALISATION else 0
            audio.append(decode_audio(wav, target_rate=16000).samples)
        words = sum(map(len, refs))
        total_errors, total_words = total_errors + errors, total_words + words
        rates.append(errors / words)
        if norm_errors:
            mispronouncing.append(v["voice_id"])
        prof = analyse_voice(np.concatenate(audio), 16000)
        print(
            f"| {v['voice_id']} | {v['engine']} | {v['gender']} | {prof.f0_median:.0f} | {errors} / {words} "
            f"| {errors / words:.1%} | {norm_errors} |"
        )
    print(
        f"\nPooled WER {total_errors / total_words:.1%} ({total_errors} / {total_words}); per voice: median "
        f"{statistics.median(rates):.1%}, worst {max(rates):.1%}; voices with an error in the normalisation "
        f"set: {len(mispronouncing)} ({', '.join(mispronouncing) or 'none'})"
    )


def clause_table() -> None:
    """Errors per voice with the lead clause made first and with the sentence made whole."""
    stt = WhisperSTT(resolve(None))
    refs = [normalise(to_spoken(t)) for t in CLAUSE_SENTENCES]
    served = whole_utterance.lead_clause
    words = sum(map(len, refs))
    print(f"\n## Lead clause first vs whole: {len(CLAUSE_SENTENCES)} short sentences → Whisper tiny.en")
    print(f"| voice | errors / {words} words, lead clause first | made whole |\n| --- | --- | --- |")
    totals = [0, 0]
    for voice in CLAUSE_VOICES:
        spec = get_stock(voice).spec
        row = []
        for i, split in enumerate((served, lambda sentence: [sentence])):
            whole_utterance.lead_clause = split
            try:
                errors = 0
                for text, ref in zip(CLAUSE_SENTENCES, refs, strict=True):
                    audio = np.concatenate(list(get_tts().synthesize(text, spec, seed=1)))
                    errors += word_errors(ref, heard_words(stt.transcribe(resample(audio, NATIVE_RATE, 16000)).text))
            finally:
                whole_utterance.lead_clause = served
            totals[i] += errors
            row.append(errors)
        print(f"| {voice} | {row[0]} | {row[1]} |")
    print(f"| all | {totals[0]} / {words * len(CLAUSE_VOICES)} | {totals[1]} / {words * len(CLAUSE_VOICES)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", action="store_true", help="also measure every stock voice")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-latency", action="store_true", help="only the voices table")
    parser.add_argument("--clauses", action="store_true", help="only the lead-clause intelligibility table")
    args = parser.parse_args()
    if args.clauses:
        clause_table()
        return
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "1000", "PYAI_RATE_LIMIT_BURST": "1000"}).start()
        try:
            key = srv.create_key()["api_key"]
            with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
                if args.skip_latency:
                    voice_table(c)
                    return
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
                    "| long sentence first byte p50 / p95 ms | paragraph first byte p50 ms | paragraph RTF |"
                )
                print("| --- | --- | --- | --- | --- | --- |")
                for label, voice in VOICES.items():
                    ttfa(c, SENTENCE, "pcm", voice, 2)  # warm-up: the engine loads on first use
                    speech: list[float] = []
                    one, _ = ttfa(c, SENTENCE, "pcm", voice, args.runs, speech)
                    long, _ = ttfa(c, LONG_SENTENCE, "pcm", voice, args.runs)
                    para, rtf = ttfa(c, PARAGRAPH, "pcm", voice, max(5, args.runs // 4))
                    print(
                        f"| {label} | {pct(one, 50) * 1000:.0f} / {pct(one, 95) * 1000:.0f} | "
                        f"{pct(speech, 50) * 1000:.0f} / {pct(speech, 95) * 1000:.0f} | "
                        f"{pct(long, 50) * 1000:.0f} / {pct(long, 95) * 1000:.0f} | "
                        f"{pct(para, 50) * 1000:.0f} | {rtf:.3f} |"
                    )
                if args.voices:
                    voice_table(c)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
