"""Decode uploaded audio of any common container with PyAV, safely and in bounded memory.

Hostile or broken input must end in a clear, stable error code and never hang or crash:
``empty_audio`` (no bytes / no samples), ``invalid_audio`` (not a recognisable audio file),
``corrupt_audio`` (recognised but undecodable from the start), ``unsupported_audio`` (a container
with no audio stream), ``audio_too_long`` (more than the caller's ``max_seconds``). A file
truncated mid-stream decodes what is there.

Compressed audio can expand enormously (an hour of silence is a 0.5 MB FLAC), so nothing is
held at the source rate: each decoded frame is resampled to the target rate at once and
appended to one growing buffer, and decoding stops as soon as the audio passes ``max_seconds``.
Memory is the output at the target rate plus a small working set.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from pyai.audio.resample import StreamResampler

MAX_SECONDS = 4 * 3600  # the cap for callers without a setting of their own (local tools, tests)
GROWTH_SECONDS = 60  # the output buffer grows by this much audio at a time


class AudioDecodeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32 in [-1, 1]; (n,) when mono else (channels, n) (a view of interleaved samples)
    sample_rate: int
    channels: int  # channels of the source
    duration: float


def describe_seconds(seconds: float) -> str:
    """``1500 s (25 min)``, ``7200 s (2 h)``: a limit as people read it, with the exact seconds."""
    exact = f"{seconds:g} s"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{exact} ({seconds / 3600:g} h)"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{exact} ({seconds / 60:g} min)"
    return exact


class _Samples:
    """Interleaved float32 ``(n, channels)`` samples, appended in place.

    One buffer grown with ``ndarray.resize`` (``realloc``, which the C library does by remapping
    pages once the buffer is large) rather than a list of small frames: no copies, no peak of
    twice the audio when joining, and the memory goes back to the OS when the array is freed.
    """

    def __init__(self, channels: int, rate: int) -> None:
        self._step = GROWTH_SECONDS * rate
        self._buf = np.empty((self._step, channels), dtype=np.float32)
        self.n = 0

    def append(self, block: np.ndarray) -> None:
        end = self.n + len(block)
        if end > len(self._buf):
            self._buf.resize((end + self._step, self._buf.shape[1]), refcheck=False)
        self._buf[self.n : end] = block
        self.n = end

    def take(self) -> np.ndarray:
        """The samples, trimmed to length (in place); the buffer is handed over, not copied."""
        buf, self._buf = self._buf, np.empty((0, self._buf.shape[1]), dtype=np.float32)
        buf.resize((self.n, buf.shape[1]), refcheck=False)
        return buf


def decode_audio(
    data: bytes, *, target_rate: int | None = None, mono: bool = True, max_seconds: float = MAX_SECONDS
) -> DecodedAudio:
    """Decode ``data`` to float32 (resampled to ``target_rate`` when given), refusing audio
    longer than ``max_seconds`` (``audio_too_long``) before it is all in memory.

    Any failure inside FFmpeg or PyAV on hostile bytes becomes an :class:`AudioDecodeError`.
    """
    try:
        return _decode(data, target_rate, mono, max_seconds)
    except AudioDecodeError as e:
        failure = e
    except Exception:  # PyAV raises many types on malformed input; all mean the same to a caller
        failure = AudioDecodeError("corrupt_audio", "the audio data is corrupt and could not be decoded")
    # Raised out here without a traceback, so no context keeps _decode's frames (and the audio
    # they hold) alive for as long as the error is.
    raise failure.with_traceback(None)


def _open(data: bytes) -> av.container.InputContainer:
    if not data:
        raise AudioDecodeError("empty_audio", "the file is empty")
    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError, UnicodeDecodeError, IndexError):
        raise AudioDecodeError(
            "invalid_audio", "the file is not a recognised audio format (wav, mp3, m4a, flac, ogg, webm)"
        ) from None


def _decode(data: bytes, target_rate: int | None, mono: bool, max_seconds: float) -> DecodedAudio:
    with _open(data) as container:
        if not container.streams.audio:
            raise AudioDecodeError("unsupported_audio", "the file has no audio stream")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 1
        layout = "mono" if mono else ("stereo" if channels == 2 else stream.codec_context.layout.name)
        rate = stream.codec_context.sample_rate or 16000
        out_rate = target_rate or rate
        # PyAV converts to interleaved float at the source rate; soxr then resamples each piece.
        converter = av.AudioResampler(format="flt", layout=layout, rate=rate)
        width = converter.layout.nb_channels
        resampler = StreamResampler(rate, out_rate, width) if out_rate != rate else None
        out = _Samples(width, out_rate)
        limit = max_seconds * rate
        decoded = 0

        def add(frames: list[av.AudioFrame]) -> None:
            nonlocal decoded
            for frame in frames:
                block = frame.to_ndarray().reshape(-1, width)
                decoded += len(block)
                if decoded > limit:
                    raise AudioDecodeError(
                        "audio_too_long", f"the audio is longer than the {describe_seconds(max_seconds)} limit"
                    )
                if not np.isfinite(block).all():
                    block = np.nan_to_num(block)
                out.append(block if resampler is None else resampler.process(block).reshape(-1, width))

        error: Exception | None = None
        try:
            for frame in container.decode(stream):
                frame.pts = None
                add(converter.resample(frame))
            add(converter.resample(None))
        except AudioDecodeError:
            raise
        except (av.error.FFmpegError, ValueError, RuntimeError, IndexError) as e:
            error = e  # truncated/corrupt mid-stream: keep what decoded
    if resampler is not None and decoded:
        out.append(resampler.flush().reshape(-1, width))
    if out.n == 0:
        if error is not None:
            raise AudioDecodeError("corrupt_audio", "the audio data is corrupt and could not be decoded")
        raise AudioDecodeError("empty_audio", "the file contains no audio samples")
    pcm = out.take()
    samples = pcm.reshape(-1) if mono else pcm.T
    return DecodedAudio(samples, out_rate, channels, len(pcm) / out_rate)
