"""The corpus loader: every source is there, and the telephone transform is real G.711 at 8 kHz."""

from __future__ import annotations

import numpy as np

from tests.corpus import SOURCES, corpus, load, normalise, telephone, telephone_wav, wav16k
from tests.media import decode


def test_every_source_loads_as_16k_speech_with_a_transcript() -> None:
    for source in SOURCES:
        utts = load(source)
        assert utts, source
        for u in utts:
            assert u.samples.dtype == np.float32 and u.samples.ndim == 1
            assert 0.3 < u.seconds < 120, u.id
            assert np.abs(u.samples).max() > 0.05, f"{u.id} is silent"
            assert u.words, f"{u.id} has no words: {u.reference!r}"
    assert len(corpus()) > 500


def test_subset_spreads_over_sources() -> None:
    subset = corpus(per_source=3)
    assert {u.source for u in subset} == set(SOURCES)
    assert all(sum(u.source == s for u in subset) <= 3 for s in SOURCES)


def test_normaliser_ignores_formatting() -> None:
    assert normalise("Press 1, then #.") == normalise("press one then")
    assert normalise("Mr. Smith paid $25.") == normalise("mister smith paid twenty five dollars")


def test_telephone_is_8k_ulaw_that_decodes_back() -> None:
    utt = load("arctic")[0]
    ulaw = telephone(utt.samples)
    assert len(ulaw) == round(len(utt.samples) / 2)  # one byte per 8 kHz sample
    samples, rate, channels = decode(telephone_wav(utt.samples))
    assert (rate, channels) == (8000, 1)
    wide, _, _ = decode(wav16k(utt.samples))
    narrow = wide[0, ::2][: samples.shape[1]]  # the 16 kHz original at 8 kHz, roughly aligned
    assert np.corrcoef(narrow, samples[0, : len(narrow)])[0, 1] > 0.9
