"""OpenAI-compatible response shapes for a transcript (json, text, verbose_json)."""

from __future__ import annotations

import math
import zlib
from typing import Any

from pyai.engines.stt.base import Transcript

#: ISO-639-1 → the language names OpenAI's verbose_json reports.
LANGUAGE_NAMES = {
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "de": "german",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}


def _compression_ratio(text: str) -> float:
    raw = text.encode()
    return round(len(raw) / max(1, len(zlib.compress(raw))), 3) if raw else 0.0


def _avg_logprob(words: list) -> float:
    confs = [min(max(w.confidence, 1e-6), 1.0) for w in words]
    return round(sum(math.log(c) for c in confs) / len(confs), 4) if confs else 0.0


def verbose_json(t: Transcript, *, duration: float, language: str, temperature: float | None) -> dict[str, Any]:
    """Segments and words with timestamps, in the fields and types OpenAI's SDK models expect."""
    segments = [
        {
            "id": seg.id,
            "seek": int(seg.start * 100),
            "start": round(seg.start, 3),
            "end": round(seg.end, 3),
            "text": seg.text,
            "tokens": [],
            "temperature": temperature or 0.0,
            "avg_logprob": _avg_logprob(seg.words),
            "compression_ratio": _compression_ratio(seg.text),
            "no_speech_prob": 0.0 if seg.words else 1.0,
        }
        for seg in t.segments
    ]
    words = [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)} for w in t.words]
    return {
        "task": "transcribe",
        "language": LANGUAGE_NAMES.get(language, language),
        "duration": round(duration, 3),
        "text": t.text,
        "segments": segments,
        "words": words,
    }
