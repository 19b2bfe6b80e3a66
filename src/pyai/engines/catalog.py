"""The model catalog: public model ids mapped to the engines behind them on this deployment."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pyai.settings import Settings

CREATED = 1767225600  # 2026-01-01, the catalog's epoch


def _pkg_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def model_catalog(settings: Settings) -> list[dict]:
    """One entry per public model id; ``engine`` says honestly what runs it here."""
    stt = {
        "name": "pocketsphinx",
        "version": _pkg_version("pocketsphinx"),
        "model": "en-us acoustic model + trigram LM (bundled in the PyPI package)",
    }
    tts = {
        "name": "flite",
        "voices": ["slt", "rms", "awb", "kal16"],
        "source": "Debian package flite 2.2",
        "vocoder": f"WORLD (pyworld {_pkg_version('pyworld')})",
    }

    def entry(model_id: str, product: str, description: str, engine: dict, **extra) -> dict:
        return {
            "id": model_id,
            "object": "model",
            "created": CREATED,
            "owned_by": "pyai",
            "product": product,
            "description": description,
            "engine": engine,
            **extra,
        }

    return [
        entry("pyai-hear", "hear", "Speech-to-text (batch and streaming).", stt, languages=["en"]),
        entry("pyai-hear-telephony", "hear", "Speech-to-text for async jobs (8 kHz friendly).", stt, languages=["en"]),
        entry("pyai-voice", "speak", "Text-to-speech with 38 stock voices, cloning and design.", tts, languages=["en"]),
    ]
