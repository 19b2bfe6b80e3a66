"""G.711 decoding agrees with FFmpeg's decoders on every code, and inverts our encoders."""

from __future__ import annotations

import av
import numpy as np
import pytest

from pyai.audio.g711 import alaw_encode, g711_decode, ulaw_encode


@pytest.mark.parametrize(("encoding", "codec"), [("g711_ulaw", "pcm_mulaw"), ("g711_alaw", "pcm_alaw")])
def test_every_code_matches_ffmpeg(encoding: str, codec: str) -> None:
    ctx = av.CodecContext.create(codec, "r")
    ctx.sample_rate, ctx.layout = 8000, "mono"
    codes = bytes(range(256))
    reference = np.concatenate([f.to_ndarray().reshape(-1) for f in ctx.decode(av.Packet(codes))])
    assert np.array_equal(g711_decode(codes, encoding) * 32768, reference.astype(np.float32))


@pytest.mark.parametrize(("encoding", "encode"), [("g711_ulaw", ulaw_encode), ("g711_alaw", alaw_encode)])
def test_round_trip_within_companding_error(encoding: str, encode) -> None:  # noqa: ANN001
    pcm = (np.sin(np.linspace(0, 60, 8000)) * 20000).astype(np.int16)
    back = g711_decode(encode(pcm), encoding) * 32768
    assert np.max(np.abs(back - pcm) / np.maximum(np.abs(pcm), 256)) < 0.07
