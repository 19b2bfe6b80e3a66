"""Cloning, design and diarization, measured: how close a clone gets to its reference speaker,
whether designed voices follow their description, and how often mono diarization labels turns
right. Engine-level (no server), on the human CMU ARCTIC recording that pysptk ships.
Usage: ``.venv/bin/python bench/voices.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.speech_samples import ARCTIC  # noqa: E402

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.engines.stt.pocketsphinx_engine import PocketsphinxSTT  # noqa: E402
from pyai.engines.tts.base import VoiceSpec  # noqa: E402
from pyai.engines.tts.registry import get_tts  # noqa: E402
from pyai.engines.voice.analysis import analyse_voice, profile_distance  # noqa: E402
from pyai.engines.voice.clone import build_clone_spec  # noqa: E402
from pyai.engines.voice.design import design_candidates, parse_prompt  # noqa: E402
from pyai.speak.catalog import DEFAULT_VOICE_ID, STOCK_VOICES  # noqa: E402

PROBE = "Please call Stella and ask her to bring these things with her from the store."


def speak(spec: VoiceSpec):  # noqa: ANN201
    return analyse_voice(np.concatenate(list(get_tts().synthesize(PROBE, spec))), 24000)


def row(label: str, p, ref) -> str:  # noqa: ANN001
    return (
        f"| {label} | {p.f0_median:.0f} | {p.f0_range_st:.1f} | {p.spectral_centroid:.0f} | "
        f"{p.speaking_rate:.2f} | {profile_distance(p, ref):.2f} |"
    )


def main() -> None:
    audio = decode_audio(ARCTIC.read_bytes(), target_rate=16000)
    ref = analyse_voice(audio.samples, 16000)
    twice = np.concatenate([audio.samples, audio.samples])
    stt = PocketsphinxSTT(processes=1)
    spec = build_clone_spec(twice, 16000, transcript=stt.transcribe(twice).text)
    stt.close()
    print(f"## Clone of CMU ARCTIC bdl (a0007, 4 s said twice) -> {spec}")
    print("| voice | F0 median Hz | F0 range st | centroid Hz | rate syl/s | distance to reference |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row("reference (human)", ref, ref))
    print(row(f"default voice ({DEFAULT_VOICE_ID})", speak(STOCK_VOICES[DEFAULT_VOICE_ID].spec), ref))
    for base in ("slt", "rms", "awb", "kal16"):
        print(row(f"base voice {base}, unmodified", speak(VoiceSpec("flite", base)), ref))
    print(row("clone", speak(spec), ref))
    print("\n## Design: median F0 of candidates per prompt")
    for prompt in (
        "a deep, calm older male voice",
        "a bright, cheerful young female voice",
        "a warm, slow, older Scottish man",
        "a fast, energetic young American woman",
    ):
        attrs = parse_prompt(prompt)
        f0s = [speak(s).f0_median for s in design_candidates(attrs, 3, seed=1)]
        print(f"- {prompt!r} -> {attrs}: F0 {', '.join(f'{f:.0f}' for f in f0s)} Hz")


def diarization() -> None:
    """Segment-level accuracy of mono diarization on alternating two-speaker conversations."""
    import itertools

    from tests.media import flite_wav
    from tests.speech_samples import ALSA

    from pyai.hear.diarize import speaker_labels

    lines = [
        "I would like to check the status of my order.",
        "Sure, can I have your order number please?",
        "It is the one I placed last Tuesday.",
        "Thank you, I can see it left the warehouse today.",
    ]
    gap = np.zeros(12000, dtype=np.float32)
    print("\n## Mono diarization (segment accuracy, best label permutation)")
    results = []
    pairs = [(a, b) for a, b in itertools.combinations(("slt", "rms", "awb", "kal16"), 2)]
    for a, b in pairs:
        turns = [
            decode_audio(flite_wav(t, v), target_rate=16000).samples for t, v in zip(lines, (a, b, a, b), strict=True)
        ]
        results.append((f"{a} / {b} (TTS)", turns, [0, 1, 0, 1]))
    human = [
        decode_audio(ARCTIC.read_bytes(), target_rate=16000).samples,
        decode_audio((ALSA / "Front_Center.wav").read_bytes(), target_rate=16000).samples,
    ]
    results.append(("ARCTIC bdl / ALSA voice (human)", [human[0], human[1], human[0], human[1]], [0, 1, 0, 1]))
    total = correct = 0
    for label, turns, truth in results:
        mono = np.concatenate([x for t in turns for x in (t, gap)])
        bounds, pos = [], 0
        for t in turns:
            bounds.append((pos / 16000, (pos + len(t)) / 16000))
            pos += len(t) + len(gap)
        segments = [{"start": s, "end": e} for s, e in bounds]
        labels = [int(x.split("_")[1]) for x in speaker_labels(mono, 16000, segments)]
        hits = max(
            sum(p == t for p, t in zip(labels, truth, strict=True)),
            sum((1 - p) == t for p, t in zip(labels, truth, strict=True)),
        )
        total += len(truth)
        correct += hits
        print(f"- {label}: {hits}/{len(truth)} turns")
    print(f"Overall: {correct}/{total} = {correct / total:.0%} (turns given by their true boundaries)")


if __name__ == "__main__":
    main()
    diarization()
