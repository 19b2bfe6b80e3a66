"""Batch transcription of one uploaded file: decode, recognise, normalise numerals."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pyai.audio.decode import AudioDecodeError, DecodedAudio, decode_audio
from pyai.engines.stt.base import Transcript
from pyai.gateway.errors import bad_request
from pyai.hear.engine import in_stt_thread, stt_engine
from pyai.ops.tracing import span
from pyai.text.numerals import to_numerals

STT_RATE = 16000


@dataclass(frozen=True)
class BatchResult:
    transcript: Transcript
    duration: float  # seconds of audio in the upload

    @property
    def billable_seconds(self) -> float:
        """Audio seconds, or nothing when no speech was recognised (an empty call bills nothing)."""
        return self.duration if self.transcript.words else 0.0


def with_numerals(t: Transcript) -> Transcript:
    """Spoken numbers → digits in the text and segment texts; word timings keep the spoken tokens."""
    segments = [dataclasses.replace(s, text=to_numerals(s.text)) for s in t.segments]
    return dataclasses.replace(t, text=to_numerals(t.text), segments=segments)


def decode_upload(data: bytes, param: str, max_seconds: float) -> DecodedAudio:
    """Decode to 16 kHz mono or raise a 400 Problem naming ``param`` with the decoder's code."""
    try:
        return decode_audio(data, target_rate=STT_RATE, mono=True, max_seconds=max_seconds)
    except AudioDecodeError as e:
        raise bad_request(f"{param}: {e.message}", param=param, code=e.code) from None


async def transcribe_audio(
    services,  # noqa: ANN001
    audio: DecodedAudio,
    *,
    language: str | None,
    numerals: bool,
    prompt: str | None = None,
) -> BatchResult:
    """Recognise decoded 16 kHz mono audio (decoding is separate so the call can be billed in between)."""
    stt = stt_engine(services)
    with span("stt", **{"pyai.stt.decode": "batch", "pyai.audio.seconds": round(audio.duration, 3)}):
        transcript = await in_stt_thread(services, stt.transcribe, audio.samples, language=language, prompt=prompt)
    if numerals:
        transcript = with_numerals(transcript)
    return BatchResult(transcript, audio.duration)
