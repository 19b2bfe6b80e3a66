"""G.711 μ-law and A-law companding (ITU-T G.711), vectorised with numpy."""

from __future__ import annotations

import numpy as np

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """int16 samples → μ-law bytes."""
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def alaw_encode(pcm: np.ndarray) -> bytes:
    """int16 samples → A-law bytes."""
    x = pcm.astype(np.int32) >> 3  # 13-bit magnitude domain
    sign = np.where(x >= 0, 0x80, 0)
    mag = np.minimum(np.where(x >= 0, x, -x - 1), 0x0FFF)
    exponent = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    exponent = np.clip(exponent, 0, 7)
    mantissa = np.where(exponent == 0, mag >> 1, mag >> exponent) & 0x0F
    return (((sign | (exponent << 4) | mantissa) ^ 0x55) & 0xFF).astype(np.uint8).tobytes()


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.float32) / 32768.0


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent, mantissa = (a >> 4) & 0x07, a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.float32) / 32768.0


_DECODE = {"g711_ulaw": _ulaw_table(), "g711_alaw": _alaw_table()}
ENCODINGS = tuple(_DECODE)


def g711_decode(data: bytes, encoding: str) -> np.ndarray:
    """G.711 bytes (``g711_ulaw`` or ``g711_alaw``) → float32 samples in [-1, 1], one per byte."""
    return _DECODE[encoding][np.frombuffer(data, dtype=np.uint8)]
