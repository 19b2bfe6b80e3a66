"""flite 2.2 (Debian) — CMU's statistical parametric voices, run as a short-lived process.

Pitch and speaking rate are set inside flite (``int_f0_target_mean``, ``duration_stretch``), so
a voice that only changes those costs no extra DSP. A sentence takes ~40 ms on this machine.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

#: Measured median F0 (Hz) of each bundled voice; pitch shifts are applied relative to it.
NATIVE_F0 = {"slt": 164.0, "rms": 102.0, "awb": 118.0, "kal16": 103.0}
#: Voices whose pitch flite itself can set (``int_f0_target_mean``); measured: rms ignores it.
PITCH_CONTROL = frozenset({"slt", "awb", "kal16"})
TIMEOUT_S = 30


class FliteError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("flite") is not None


def render(text: str, voice: str, *, f0_mean: float | None, stretch: float) -> tuple[np.ndarray, int]:
    """Speak ``text``; returns (float32 samples, sample rate)."""
    if voice not in NATIVE_F0:
        raise FliteError(f"unknown flite voice {voice}")
    cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.4f}"]
    if f0_mean is not None:
        cmd += ["--setf", f"int_f0_target_mean={f0_mean:.1f}"]
    cmd += ["-t", text, "-o", "/dev/stdout"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=True).stdout
    except (subprocess.SubprocessError, OSError) as e:
        raise FliteError(f"flite failed: {e}") from e
    with wave.open(io.BytesIO(out)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate
