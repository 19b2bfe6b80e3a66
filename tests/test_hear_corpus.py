"""Hear's accuracy on real people, as a ceiling on corpus WER (not exact strings).

A spread of the human-speech corpus (tests/corpus.py: LibriVox, CMU, ARCTIC, ALSA voices, Asterisk
IVR prompts and isolated words), sent the way clients send it: 16 kHz PCM16 WAV, and telephone
audio, 8 kHz G.711 µ-law in a WAV, which the server must decode and upsample itself.
bench/hear.py measures the whole corpus (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from pyai.settings import Settings
from tests.corpus import Utterance, corpus, corpus_score, score, telephone_wav, wav16k
from tests.server import Server

#: Corpus WER ceilings (16 kHz, telephone) on ``corpus(per_source=PER_SOURCE)`` (30 recordings, 154 words), per
#: engine, for the server's default engine, each a word or two above what the server measured on this subset in
#: bench/hear.py's run of 2026-11-25 (docs/benchmarks.md): pocketsphinx 32.5% / 56.5% (whole corpus 32.2% / 68.0%),
#: Whisper tiny.en 7.1% / 6.5% (whole corpus 3.8% / 5.9%; this subset over-samples the isolated words).
CEILINGS = {
    "pocketsphinx": {"16k": 0.38, "telephone": 0.65},
    "whisper": {"16k": 0.085, "telephone": 0.08},
}
PER_SOURCE = 6
ENCODERS: dict[str, Callable[[np.ndarray], bytes]] = {"16k": wav16k, "telephone": telephone_wav}


def default_engine() -> str:
    """The engine ``sqlite_server`` runs: PYAI_STT_ENGINE if the environment sets it, else the settings default."""
    return os.environ.get("PYAI_STT_ENGINE") or Settings.model_fields["stt_engine"].default


@pytest.fixture(scope="module")
def subset() -> list[Utterance]:
    return corpus(per_source=PER_SOURCE)


@pytest.mark.parametrize("condition", ENCODERS)
def test_corpus_wer_ceiling(sqlite_server: Server, subset: list[Utterance], condition: str) -> None:
    engine = default_engine()
    assert engine in CEILINGS, f"no WER ceiling for STT engine {engine!r}: add one to CEILINGS"
    encode, ceiling = ENCODERS[condition], CEILINGS[engine][condition]
    key = sqlite_server.create_key()["api_key"]
    with httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120) as c:

        def transcribe(utt: Utterance) -> str:
            r = c.post("/v1/audio/transcriptions", files={"file": ("call.wav", encode(utt.samples))})
            assert r.status_code == 200, r.text
            return r.json()["text"]

        with ThreadPoolExecutor(2) as pool:
            results = list(zip(subset, pool.map(transcribe, subset), strict=True))
    total = corpus_score(results)
    worst = sorted(results, key=lambda r: -score(*r).errors)[:5]
    detail = "\n".join(f"  {u.id}: {u.reference!r} -> {hyp!r}" for u, hyp in worst)
    assert total.wer <= ceiling, f"{engine} {condition} WER {total.wer:.1%} over {total.words} words; worst:\n{detail}"
