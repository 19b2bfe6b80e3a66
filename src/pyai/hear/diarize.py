"""Speaker labels for mono audio: cluster the transcript's segments by voice.

Each segment (a stretch of speech between pauses) is described by its median pitch and spectral
centroid (log scale) and speaking rate; two-means clustering splits them, and the split is kept
only when the two groups differ by more than a voice's natural variation (3 semitones of pitch
or 15% of centroid) — otherwise it is one speaker. An honest, light method: it separates voices
that differ in pitch or timbre (most two-party calls), not two similar voices.
"""

from __future__ import annotations

import math

import numpy as np

from pyai.engines.voice.analysis import analyse_voice

MIN_SEGMENT_S = 0.4


def _features(samples: np.ndarray, rate: int, segments: list[dict]) -> list[tuple[float, float] | None]:
    out: list[tuple[float, float] | None] = []
    for seg in segments:
        chunk = samples[int(seg["start"] * rate) : int(seg["end"] * rate)]
        if len(chunk) < MIN_SEGMENT_S * rate:
            out.append(None)
            continue
        prof = analyse_voice(chunk, rate)
        out.append(
            (12 * math.log2(prof.f0_median), 12 * math.log2(prof.spectral_centroid))
            if prof.f0_median > 0 and prof.spectral_centroid > 0
            else None
        )
    return out


def speaker_labels(samples: np.ndarray, rate: int, segments: list[dict]) -> list[str]:
    """One label per segment ("speaker_0", "speaker_1"), in order of first appearance."""
    feats = _features(samples, rate, segments)
    known = [f for f in feats if f is not None]
    if len(known) < 2:
        return ["speaker_0"] * len(segments)
    x = np.array(known)
    centres = np.array([x[np.argmin(x[:, 0])], x[np.argmax(x[:, 0])]])
    for _ in range(20):
        assign = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        new = np.array([x[assign == k].mean(axis=0) if (assign == k).any() else centres[k] for k in (0, 1)])
        if np.allclose(new, centres):
            break
        centres = new
    pitch_gap, timbre_gap = np.abs(centres[0] - centres[1])
    if pitch_gap < 3.0 and timbre_gap < 12 * math.log2(1.15):
        return ["speaker_0"] * len(segments)
    labels: list[str] = []
    order: dict[int, int] = {}
    last = 0
    for f in feats:
        if f is None:
            k = last  # too short to judge: stays with the previous speaker
        else:
            k = int(np.argmin(((np.array(f) - centres) ** 2).sum(axis=1)))
        last = k
        order.setdefault(k, len(order))
        labels.append(f"speaker_{order[k]}")
    return labels
