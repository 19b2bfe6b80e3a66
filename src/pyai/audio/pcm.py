"""PCM16 → float32 (the wire format of streaming input)."""

from __future__ import annotations

import numpy as np


def pcm16_to_float(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

