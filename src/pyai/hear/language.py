"""The ``language`` parameter of every Hear surface, checked against the engine that will decode.

A language the loaded model cannot transcribe is refused up front (nothing decoded, nothing
billed) rather than answered with English guesses: tiny.en and pocketsphinx are English-only,
so the message names the multilingual Whisper models that would serve it.
"""

from __future__ import annotations

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.whisper_models import MULTILINGUAL_MODELS, whisper_languages


def language_problem(stt: SpeechToText, language: str | None) -> str | None:
    """Why ``language`` cannot be served here (a message starting with ``language:``), or None."""
    supported = stt.languages
    if not language or supported is None or language in supported:
        return None
    if language not in whisper_languages():
        return f"language: {language!r} is not an ISO-639-1 code Whisper knows (e.g. en, es, fr, de)."
    model = f"Whisper {stt.describe()['model']}" if stt.name == "whisper" else stt.name
    return (
        f"language: {language!r} is not supported by {model} on this server, which transcribes "
        f"{', '.join(supported)} only. Multilingual Whisper models serve it: {', '.join(MULTILINGUAL_MODELS)} "
        "(the operator sets PYAI_STT_ENGINE=whisper and PYAI_STT_MODEL)."
    )


def normalise_language(raw: object) -> str | None:
    """The form/query value as a lower-case code, or None when not given."""
    text = str(raw or "").strip().lower()
    return text or None
