"""PCM16 ↔ float32: the wire format of streaming input and of every engine hand-off."""

from __future__ import annotations

import numpy as np


def pcm16_to_float(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Little-endian 16-bit samples; out-of-range input is clipped, not wrapped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
