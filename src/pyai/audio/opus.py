"""Decode a live stream of raw Opus packets (one per WebSocket frame) to float32 samples."""

from __future__ import annotations

import av
import numpy as np

from pyai.audio.resample import StreamResampler

OPUS_RATE = 48000


class OpusPacketDecoder:
    def __init__(self, output_rate: int) -> None:
        self._codec = av.CodecContext.create("libopus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "mono"
        self._resampler = StreamResampler(OPUS_RATE, output_rate)

    def decode(self, packet: bytes) -> np.ndarray:
        """One Opus packet → samples at the output rate; ValueError for an undecodable packet."""
        try:
            frames = self._codec.decode(av.Packet(packet))
        except av.error.FFmpegError:  # FFmpeg's wording (errno, avcodec_* names) means nothing to a caller
            raise ValueError(
                f"invalid Opus packet ({len(packet)} bytes): send one raw Opus packet per binary frame"
            ) from None
        if not frames:
            return np.zeros(0, dtype=np.float32)
        pcm = np.concatenate(
            [f.to_ndarray().astype(np.float32).reshape(f.layout.nb_channels, -1).mean(axis=0) for f in frames]
        )
        if pcm.dtype.kind == "i" or np.abs(pcm).max(initial=0) > 2:
            pcm = pcm / 32768.0
        return self._resampler.process(pcm)
