"""Decoder errors speak to the caller about their audio, never in FFmpeg's words (no errno, no
``avcodec_*`` function names, no internal paths), whatever the hostile bytes."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pyai.audio.decode import AudioDecodeError, decode_audio
from pyai.audio.opus import OpusPacketDecoder
from tests.media import CONTAINERS, encode

INTERNALS = ("errno", "avcodec", "avformat", "ffmpeg", "invalid data found", "()", "[")


def clean(message: str) -> bool:
    return not any(marker in message.lower() for marker in INTERNALS)


@pytest.mark.parametrize("packet", [b"\xff" * 3, b"garbage" * 50])
def test_a_bad_opus_packet_is_described_plainly(packet: bytes) -> None:
    with pytest.raises(ValueError) as err:
        OpusPacketDecoder(16000).decode(packet)
    assert clean(str(err.value)) and "Opus packet" in str(err.value), err.value


def test_damaged_files_of_every_container_are_described_plainly() -> None:
    rng = random.Random(7)
    tone = (0.3 * np.sin(np.arange(16000) / 5)).reshape(1, -1).astype(np.float32)
    for container, codec in CONTAINERS.values():
        rate = 48000 if codec == "libopus" else 16000
        good = encode(tone if rate == 16000 else np.repeat(tone, 3, axis=1), rate, container, codec)
        damaged = [good[:n] for n in (4, 12, 40, 200)]
        for _ in range(20):  # random bytes written over the header and the first frames
            data = bytearray(good)
            for _ in range(30):
                data[rng.randrange(min(len(data), 600))] = rng.randrange(256)
            damaged.append(bytes(data))
        for data in damaged:
            try:
                decode_audio(data, target_rate=16000)
            except AudioDecodeError as e:
                assert clean(e.message), (container, e.message)
