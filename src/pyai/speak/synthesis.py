"""Streamed synthesis: audio pieces from the TTS engine → resampled → encoded bytes.

Each piece is made in a worker thread and encoded as soon as it exists, so the first bytes
leave while the rest of the text is still being synthesised.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import numpy as np

from pyai.audio.encode import AudioEncoder
from pyai.audio.resample import StreamResampler
from pyai.engines.tts.base import NATIVE_RATE, TextToSpeech, VoiceSpec
from pyai.engines.tts.registry import get_tts
from pyai.engines.tts.sentences import split_sentences
from pyai.ops.tracing import first_audio, span
from pyai.speak.parts import Pause, Script, Speech

G711_FORMATS = ("g711_ulaw", "g711_alaw")


@dataclass
class SynthesisStats:
    """Filled in while streaming; read after the stream ends (for metering)."""

    samples: int = 0
    rate: int = NATIVE_RATE
    chunks: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.samples / self.rate


#: The request's ``speed`` range; a part's SSML rate multiplies it, and the product stays in it.
MIN_SPEED, MAX_SPEED = 0.25, 4.0
#: Silence is sent in pieces of at most this many samples (0.5 s), like speech.
PAUSE_PIECE = NATIVE_RATE // 2

#: Measured over the 38 stock voices (tests/unit/test_speak_estimate.py checks it stays a bound):
#: a sentence lasts at most ~0.8 s of lead-in and pauses plus 1 s per 11 characters at speed 1.
SENTENCE_OVERHEAD_S = 0.8
CHARS_PER_SECOND_FLOOR = 11.0
SPOKEN_SYMBOLS = frozenset("$%€£&@#+=")
_LONE_LETTER = re.compile(r"\b[A-Za-z]\b")


def pace(speed: float, rate: float) -> float:
    """The speed a part is spoken at: the request's ``speed`` times the part's ``rate``, kept in range."""
    return min(MAX_SPEED, max(MIN_SPEED, speed * rate))


def _sentences_seconds(sentences: list[str], spec: VoiceSpec, speed: float) -> float:
    """An upper bound for sentences said at ``speed``. A digit counts as six characters and a symbol
    such as ``$`` or ``%`` as eight (they are read out as words), a lone letter as three (a spelled
    code: "A B X" takes longer than its five characters)."""
    chars = sum(
        len(t)
        + 2 * len(_LONE_LETTER.findall(t))
        + sum(5 if c.isdigit() else 7 if c in SPOKEN_SYMBOLS else 0 for c in t)
        for t in sentences
    )
    seconds = len(sentences) * SENTENCE_OVERHEAD_S + chars / CHARS_PER_SECOND_FLOOR
    return seconds / (speed * min(1.0, max(spec.rate, 0.01)))


def estimate_seconds(script: Script, spec: VoiceSpec, speed: float) -> float:
    """An upper bound on how long ``script`` takes to say, pauses included, for the billing hold at admission."""
    return sum(
        part.seconds
        if isinstance(part, Pause)
        else _sentences_seconds(split_sentences(part.text), spec, pace(speed, part.rate))
        for part in script
    )


def lone_sentence(script: Script) -> Speech | None:
    """The script's one sentence when it is nothing but that (its length can be known before its
    audio is made, so it can be billed exactly up front); else None."""
    if len(script) != 1 or not isinstance(part := script[0], Speech):
        return None
    sentences = split_sentences(part.text)
    return Speech(sentences[0], part.rate) if len(sentences) == 1 else None


def script_pieces(
    tts: TextToSpeech, script: Script, spec: VoiceSpec, speed: float, seed: int | None
) -> Iterator[np.ndarray]:
    """24 kHz audio for ``script``, piece by piece: each spoken part sentence by sentence at its pace,
    each pause as silence."""
    for part in script:
        if isinstance(part, Pause):
            samples = round(part.seconds * NATIVE_RATE)
            for start in range(0, samples, PAUSE_PIECE):
                yield np.zeros(min(PAUSE_PIECE, samples - start), dtype=np.float32)
            continue
        for sentence in split_sentences(part.text):
            yield from tts.render(sentence, spec, pace(speed, part.rate), seed).pieces()


def tts_engine(services) -> TextToSpeech:  # noqa: ANN001 - Services (import cycle)
    return services.singleton("tts", get_tts)


def encode_stream(
    chunks: Iterator[np.ndarray],
    *,
    fmt: str,
    sample_rate: int,
    stats: SynthesisStats,
) -> AsyncIterator[bytes]:
    """Encoded audio as each 24 kHz piece is ready; ``stats`` ends up with the audio length.

    The encoder is made (and its codec opened) here, before anything streams, so a failure is an
    exception the caller sees before the response starts. ``stats.rate`` is then the rate actually
    encoded: ``sample_rate`` or, for codecs with a fixed set, the nearest one they take.
    """
    encoder = AudioEncoder(fmt, sample_rate)
    stats.rate = encoder.rate
    return _encoded(chunks, encoder, stats)


async def _encoded(chunks: Iterator[np.ndarray], encoder: AudioEncoder, stats: SynthesisStats) -> AsyncIterator[bytes]:
    with span("tts", current=False, **{"pyai.audio.rate": encoder.rate}) as s:  # the whole synthesis
        async for data in _encode(first_audio(s, chunks), encoder, stats):
            yield data


async def _encode(chunks: Iterator[np.ndarray], encoder: AudioEncoder, stats: SynthesisStats) -> AsyncIterator[bytes]:
    resampler = StreamResampler(NATIVE_RATE, encoder.rate) if encoder.rate != NATIVE_RATE else None
    sentinel = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, sentinel)
        if chunk is sentinel:
            break
        samples = np.asarray(chunk, dtype=np.float32)
        if resampler is not None:
            samples = resampler.process(samples)
        stats.samples += len(samples)
        stats.chunks.append(len(samples))
        data = await asyncio.to_thread(encoder.encode, samples)
        if data:
            yield data
    if resampler is not None:
        tail = resampler.flush()
        stats.samples += len(tail)
        if len(tail):
            yield encoder.encode(tail)
    if data := encoder.finish():
        yield data
