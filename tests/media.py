"""Test media: spoken sentences rendered by flite, and conversions between containers.

Real audio files, made the way a client would have them (wav, mp3, m4a, flac, ogg), so the
server's decoding is exercised end to end.
"""

from __future__ import annotations

import functools
import io
import subprocess

import av
import numpy as np


def decode(data: bytes, fmt: str | None = None, **options: str) -> tuple[np.ndarray, int, int]:
    """(samples as float32 of shape (channels, n), sample rate, channels) of an encoded file."""
    with av.open(io.BytesIO(data), format=fmt, options=options) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
        rate, channels = stream.rate, stream.channels
    pcm = np.concatenate(frames, axis=1) if frames else np.zeros((channels, 0))
    if pcm.dtype.kind == "i":
        pcm = pcm.astype(np.float32) / np.iinfo(pcm.dtype).max
    if pcm.shape[0] == 1 and channels > 1:  # packed interleaved
        pcm = pcm.reshape(-1, channels).T
    return pcm.astype(np.float32), rate, channels


def encode(samples: np.ndarray, rate: int, container: str, codec: str, layout: str = "mono") -> bytes:
    """Encode float32 samples of shape (channels, n) into ``container`` with ``codec``."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        fmt = stream.codec_context.format.name if stream.codec_context.format else "s16"
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        pcm16 = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm16.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        for f in resampler.resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


CONTAINERS = {  # extension: (container, codec)
    "wav": ("wav", "pcm_s16le"),
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "libopus"),
    "m4a": ("ipod", "aac"),
}


def convert(wav: bytes, ext: str, rate: int | None = None) -> bytes:
    samples, src_rate, _ = decode(wav)
    container, codec = CONTAINERS[ext]
    if ext == "ogg":
        rate = 48000
    rate = rate or src_rate
    if rate != src_rate:
        import soxr

        samples = soxr.resample(samples.T, src_rate, rate).T.astype(np.float32)
    return encode(samples, rate, container, codec)


def pcm16(wav: bytes, rate: int = 16000) -> bytes:
    """Headerless mono PCM16 LE at ``rate`` (what a streaming client sends)."""
    import soxr

    samples, src_rate, _ = decode(wav)
    mono = samples.mean(axis=0)
    if src_rate != rate:
        mono = soxr.resample(mono, src_rate, rate)
    return (np.clip(mono, -1, 1) * 32767).astype("<i2").tobytes()


def silence_pcm16(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


@functools.cache
def flite_wav(text: str, voice: str = "slt") -> bytes:
    """A 16 kHz mono WAV of ``text`` spoken by flite's HTS voice (natural enough for pocketsphinx)."""
    return subprocess.run(
        ["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"], check=True, capture_output=True
    ).stdout


def speech_pcm16(text: str, voice: str = "slt", rate: int = 16000) -> bytes:
    """``text`` spoken by flite as PCM16, with flite's own leading and trailing silence cut off, so
    a test knows to the millisecond where the speech starts and ends."""
    samples = np.frombuffer(pcm16(flite_wav(text, voice), rate), dtype="<i2")
    loud = np.flatnonzero(np.abs(samples) > 300)
    return samples[loud[0] : loud[-1] + 1].tobytes() if len(loud) else b""
