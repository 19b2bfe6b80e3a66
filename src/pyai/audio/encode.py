"""Streaming audio encoders for every ``response_format`` of Speak.

``AudioEncoder(fmt, rate).encode(samples)`` returns the bytes that are ready now and
``finish()`` the rest, so an HTTP response can stream sentence by sentence. Containers are
written by PyAV into a non-seekable sink: muxers then never rewrite headers after the fact,
which is exactly what a stream needs (like OpenAI, streamed WAV declares an unknown length).

Some codecs take only a few sample rates (MP3, AAC, Opus): a requested rate is mapped to the
nearest one the codec supports (:func:`supported_rate`), and the encoder is opened when it is
made, so a rate or codec it cannot handle fails before a response starts, never mid-body.
"""

from __future__ import annotations

import struct

import av
import numpy as np

from pyai.audio.g711 import alaw_encode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16

CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "pcm": "audio/pcm",
    "g711_ulaw": "audio/basic",
    "g711_alaw": "audio/basic",
}
#: (muxer, codec) for the formats PyAV encodes.
_CONTAINERS = {
    "mp3": ("mp3", "libmp3lame"),
    "opus": ("ogg", "libopus"),
    "aac": ("adts", "aac"),
    "flac": ("flac", "flac"),
}


def supported_rate(fmt: str, requested: int) -> int:
    """The rate ``fmt`` is encoded at: ``requested`` if its codec takes any rate, else the nearest
    rate the codec lists (the higher one on a tie, so no requested bandwidth is lost)."""
    if fmt not in _CONTAINERS:
        return requested
    rates = av.Codec(_CONTAINERS[fmt][1], "w").audio_rates
    return min(rates, key=lambda r: (abs(r - requested), -r)) if rates else requested


def wav_header(rate: int, data_bytes: int | None = None) -> bytes:
    """A PCM16 mono WAV header for ``data_bytes`` of samples; without it the sizes say 'unknown'
    (0xFFFFFFFF), for streaming."""
    riff, data = (0xFFFFFFFF, 0xFFFFFFFF) if data_bytes is None else (36 + data_bytes, data_bytes)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )


def pcm16_wav(pcm: np.ndarray, rate: int) -> bytes:
    """A whole mono WAV file of PCM16 samples, for an upload."""
    data = pcm.astype("<i2", copy=False).tobytes()
    return wav_header(rate, len(data)) + data


class _Sink:
    """A write-only, non-seekable file for PyAV; bytes are drained as they arrive."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


class AudioEncoder:
    """Encodes mono float32 samples at :attr:`rate`, which is :func:`supported_rate` of the request:
    callers resample to ``encoder.rate`` (once, as a stream) and report it."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        if fmt not in CONTENT_TYPES:
            raise ValueError(f"unknown format {fmt}")
        self.fmt = fmt
        self.rate = supported_rate(fmt, sample_rate)
        self._header_sent = False
        self._container = None
        if fmt in _CONTAINERS:
            muxer, codec = _CONTAINERS[fmt]
            self._sink = _Sink()
            self._container = av.open(self._sink, mode="w", format=muxer)
            self._stream = self._container.add_stream(codec, rate=self.rate, layout="mono")
            if fmt == "mp3":
                self._stream.bit_rate = 64000 if self.rate <= 24000 else 128000
            self._stream.codec_context.open()  # fails here, not at the first sentence

    def _encode_container(self, samples: np.ndarray | None) -> bytes:
        if samples is None:
            packets = self._stream.encode(None)
        else:
            if len(samples) == 0:
                return self._sink.drain()
            frame = av.AudioFrame.from_ndarray(float_to_pcm16(samples).reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.rate
            packets = self._stream.encode(frame)
        for packet in packets:
            self._container.mux(packet)
        return self._sink.drain()

    def encode(self, samples: np.ndarray) -> bytes:
        """Encode float32 mono samples at :attr:`rate`; returns what is ready to send."""
        if self._container is not None:
            return self._encode_container(samples)
        pcm = float_to_pcm16(samples)
        if self.fmt == "g711_ulaw":
            return ulaw_encode(pcm)
        if self.fmt == "g711_alaw":
            return alaw_encode(pcm)
        if self.fmt == "wav" and not self._header_sent:
            self._header_sent = True
            return wav_header(self.rate) + pcm.tobytes()
        return pcm.tobytes()

    def finish(self) -> bytes:
        """Flush the encoder and close the container (trailer bytes, if any)."""
        if self._container is None:
            if self.fmt == "wav" and not self._header_sent:
                self._header_sent = True
                return wav_header(self.rate)
            return b""
        tail = self._encode_container(None)
        self._container.close()
        return tail + self._sink.drain()
