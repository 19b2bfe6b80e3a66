"""Resampling with soxr: whole buffers, and a streaming resampler for live input/output."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.float32)


class StreamResampler:
    """Chunk-by-chunk resampling without edge clicks (soxr keeps the filter state).

    Chunks are ``(n,)`` for one channel, or interleaved ``(n, channels)``.
    """

    def __init__(self, from_rate: int, to_rate: int, channels: int = 1) -> None:
        self._stream = soxr.ResampleStream(from_rate, to_rate, channels, dtype="float32", quality="HQ")
        self._empty = np.zeros((0, channels) if channels > 1 else 0, dtype=np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        return self._stream.resample_chunk(samples.astype(np.float32, copy=False), last=False)

    def flush(self) -> np.ndarray:
        return self._stream.resample_chunk(self._empty, last=True)
