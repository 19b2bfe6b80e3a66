"""Cloning and design, measured: how close a clone gets to its reference speaker, and whether
designed voices follow their description. Engine-level (no server), on the human CMU ARCTIC
recording that pysptk ships. Usage: ``.venv/bin/python bench/voices.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyai.audio.decode import decode_audio  # noqa: E402
from pyai.engines.tts.base import VoiceSpec  # noqa: E402
from pyai.engines.tts.registry import get_tts  # noqa: E402
from pyai.engines.voice.analysis import analyse_voice, profile_distance  # noqa: E402
from pyai.engines.voice.clone import build_clone_spec  # noqa: E402
from pyai.engines.voice.design import design_candidates, parse_prompt  # noqa: E402
from pyai.speak.catalog import DEFAULT_VOICE_ID, STOCK_VOICES  # noqa: E402
from tests.speech_samples import ARCTIC  # noqa: E402

PROBE = "Please call Stella and ask her to bring these things with her from the store."


def speak(spec: VoiceSpec):  # noqa: ANN201
    return analyse_voice(np.concatenate(list(get_tts().synthesize(PROBE, spec))), 24000)


def row(label: str, p, ref) -> str:  # noqa: ANN001
    return (f"| {label} | {p.f0_median:.0f} | {p.f0_range_st:.1f} | {p.spectral_centroid:.0f} | "
            f"{p.speaking_rate:.2f} | {profile_distance(p, ref):.2f} |")


def main() -> None:
    audio = decode_audio(ARCTIC.read_bytes(), target_rate=16000)
    ref = analyse_voice(audio.samples, 16000)
    twice = np.concatenate([audio.samples, audio.samples])
    spec = build_clone_spec(twice, 16000)
    print(f"## Clone of CMU ARCTIC bdl (a0007, 4 s said twice) -> {spec}")
    print("| voice | F0 median Hz | F0 range st | centroid Hz | rate syl/s | distance to reference |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row("reference (human)", ref, ref))
    print(row(f"default voice ({DEFAULT_VOICE_ID})", speak(STOCK_VOICES[DEFAULT_VOICE_ID].spec), ref))
    for base in ("slt", "rms", "awb", "kal16"):
        print(row(f"base voice {base}, unmodified", speak(VoiceSpec("flite", base)), ref))
    print(row("clone", speak(spec), ref))
    print("\n## Design: median F0 of candidates per prompt")
    for prompt in ("a deep, calm older male voice", "a bright, cheerful young female voice",
                   "a warm, slow, older Scottish man", "a fast, energetic young American woman"):
        attrs = parse_prompt(prompt)
        f0s = [speak(s).f0_median for s in design_candidates(attrs, 3, seed=1)]
        print(f"- {prompt!r} -> {attrs}: F0 {', '.join(f'{f:.0f}' for f in f0s)} Hz")


if __name__ == "__main__":
    main()
