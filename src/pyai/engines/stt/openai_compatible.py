"""Hear through an OpenAI-compatible transcription endpoint (``PYAI_STT_ENGINE=openai``).

For a deployment whose bigger model runs elsewhere (a Whisper server, a hosted API, another
PyAI): batch files, job files and each streaming utterance's ``final`` are sent to
``{PYAI_STT_BASE_URL}/audio/transcriptions`` as 16 kHz WAV with ``verbose_json`` and word
timestamps. Streaming partials and ``speech_final`` stay on the local incremental decoder, because
they must arrive within tens of milliseconds of the audio; a stream ``final`` whose upstream call
fails falls back to the ``speech_final`` text, so a turn never stalls on the network.
"""

from __future__ import annotations

import logging

import httpx
import numpy as np

from pyai.audio.encode import pcm16_wav
from pyai.audio.pcm import float_to_pcm16
from pyai.engines.stt.base import (
    RATE,
    EngineUnavailable,
    Transcript,
    Word,
    group_segments,
    refuse_prefix,
)
from pyai.ops.metrics import timed_decode

log = logging.getLogger(__name__)


def _spread(text: str, start: float, end: float) -> list[Word]:
    """Words of a segment that came without word timings, spaced evenly over the segment."""
    tokens = text.split()
    step = (end - start) / max(1, len(tokens))
    return [Word(tok, start + i * step, start + (i + 1) * step) for i, tok in enumerate(tokens)]


def parse_verbose_json(body: dict, duration: float) -> Transcript:
    """OpenAI's verbose_json → a Transcript; word timings are estimated when the server gives none."""
    words = [
        Word(str(w["word"]).strip(), float(w["start"]), float(w["end"]))
        for w in body.get("words") or []
        if str(w.get("word", "")).strip()
    ]
    if not words:
        for seg in body.get("segments") or []:
            words += _spread(str(seg.get("text", "")), float(seg.get("start", 0)), float(seg.get("end", 0)))
    if not words and (text := str(body.get("text", "")).strip()):
        words = _spread(text, 0.0, duration)
    return Transcript(
        " ".join(w.word for w in words), words, group_segments(words), duration, str(body.get("language") or "en")
    )


class RemoteTranscriber:
    """One HTTP client per process, shared by every request thread (httpx.Client is thread-safe)."""

    def __init__(self, base_url: str, api_key: str | None, model: str, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def transcribe(self, samples: np.ndarray, language: str | None = None, prompt: str | None = None) -> Transcript:
        data: dict[str, object] = {
            "model": self.model,
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        }
        if language:
            data["language"] = language
        if prompt:
            data["prompt"] = prompt
        try:
            resp = self._client.post(
                "/audio/transcriptions",
                data=data,
                files={"file": ("audio.wav", pcm16_wav(float_to_pcm16(samples), RATE), "audio/wav")},
            )
        except httpx.HTTPError as e:
            raise EngineUnavailable(f"the transcription endpoint did not answer: {type(e).__name__}") from None
        if resp.status_code != 200:
            raise EngineUnavailable(f"the transcription endpoint answered HTTP {resp.status_code}")
        try:
            return parse_verbose_json(resp.json(), len(samples) / RATE)
        except (ValueError, KeyError, TypeError) as e:
            raise EngineUnavailable(f"the transcription endpoint sent an unreadable body ({e})") from None

    def close(self) -> None:
        self._client.close()


class OpenAICompatibleSTT:
    name = "openai"
    languages = None  # the endpoint decides
    forces_prefix = False  # OpenAI's API has a prompt, not a forced prefix

    def __init__(self, remote: RemoteTranscriber) -> None:
        self._remote = remote

    @timed_decode("openai")
    def transcribe(
        self, samples: np.ndarray, *, language: str | None = None, prompt: str | None = None, prefix: str | None = None
    ) -> Transcript:
        refuse_prefix(prefix, self.name)
        return self._remote.transcribe(samples, language, prompt)

    def describe(self) -> dict:
        return {
            "name": "openai-compatible",
            "model": self._remote.model,
            "endpoint": "an OpenAI-compatible /audio/transcriptions (PYAI_STT_BASE_URL)",
        }

    def close(self) -> None:
        self._remote.close()
