"""Decode uploaded audio of any common container with PyAV, safely.

Hostile or broken input must end in a clear, stable error code and never hang or crash:
``empty_audio`` (no bytes / no samples), ``invalid_audio`` (not a recognisable audio file),
``corrupt_audio`` (recognised but undecodable from the start), ``unsupported_audio`` (a container
with no audio stream). A file truncated mid-stream decodes what is there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from pyai.audio.resample import resample

MAX_SECONDS = 4 * 3600  # refuse absurd durations rather than allocate unbounded memory


class AudioDecodeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32 in [-1, 1]; (n,) when mono else (channels, n)
    sample_rate: int
    channels: int  # channels of the source
    duration: float


def _frames_to_array(frames: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(frames, axis=1) if frames else np.zeros((1, 0), dtype=np.float32)


def decode_audio(data: bytes, *, target_rate: int | None = None, mono: bool = True) -> DecodedAudio:
    """Decode ``data`` to float32 (resampled to ``target_rate`` when given).

    Any failure inside FFmpeg or PyAV on hostile bytes becomes an :class:`AudioDecodeError`.
    """
    try:
        return _decode(data, target_rate, mono)
    except AudioDecodeError:
        raise
    except Exception:  # PyAV raises many types on malformed input; all mean the same to a caller
        raise AudioDecodeError("corrupt_audio", "the audio data is corrupt and could not be decoded") from None


def _decode(data: bytes, target_rate: int | None, mono: bool) -> DecodedAudio:
    if not data:
        raise AudioDecodeError("empty_audio", "the file is empty")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError, UnicodeDecodeError, IndexError):
        raise AudioDecodeError(
            "invalid_audio", "the file is not a recognised audio format (wav, mp3, m4a, flac, ogg, webm)"
        ) from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("unsupported_audio", "the file has no audio stream")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 1
        layout = "mono" if mono else ("stereo" if channels == 2 else stream.codec_context.layout.name)
        rate = stream.codec_context.sample_rate or 16000
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        frames: list[np.ndarray] = []
        total = 0
        error: Exception | None = None
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    arr = out.to_ndarray()
                    if frames and arr.shape[0] != frames[0].shape[0]:  # layout changed mid-stream
                        raise ValueError("channel layout changed mid-stream")
                    frames.append(arr)
                    total += arr.shape[1]
                if total > MAX_SECONDS * rate:
                    raise AudioDecodeError("unsupported_audio", f"audio longer than {MAX_SECONDS // 3600} h")
            frames += [
                out.to_ndarray()
                for out in resampler.resample(None)
                if not frames or out.to_ndarray().shape[0] == frames[0].shape[0]
            ]
        except AudioDecodeError:
            raise
        except (av.error.FFmpegError, ValueError, RuntimeError, IndexError) as e:
            error = e  # truncated/corrupt mid-stream: keep what decoded
    pcm = _frames_to_array(frames).astype(np.float32)
    if pcm.shape[1] == 0:
        if error is not None:
            raise AudioDecodeError("corrupt_audio", "the audio data is corrupt and could not be decoded")
        raise AudioDecodeError("empty_audio", "the file contains no audio samples")
    if not np.isfinite(pcm).all():
        pcm = np.nan_to_num(pcm)
    if target_rate and target_rate != rate:
        pcm = np.stack([resample(ch, rate, target_rate) for ch in pcm])
        rate = target_rate
    samples = pcm[0] if mono else pcm
    return DecodedAudio(samples, rate, channels, pcm.shape[1] / rate)
