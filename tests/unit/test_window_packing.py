"""Short utterances share a Whisper window when every decoder is busy: the words go back to the
utterance they were said in, with times from its own start; alone, an utterance is decoded on its
own as before; a failure reaches every utterance of its window."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pyai.engines.stt.base import RATE, Word
from pyai.engines.stt.whisper_engine import WhisperSTT
from pyai.engines.stt.whisper_models import bundled_model
from pyai.engines.stt.window_packing import GAP_S, WindowPacker, split
from tests.corpus import corpus, score


def test_words_go_to_the_span_their_middle_falls_in_with_times_from_its_start() -> None:
    durations = [2.0, 1.0, 3.0]  # spans [0, 2], [2.6, 3.6], [4.2, 7.2]
    segments = [
        [Word("one", 0.1, 0.5), Word("two", 1.8, 2.4)],  # middle 2.1: still the first (border 2.3)
        [Word("three", 2.5, 2.9), Word("four", 4.0, 4.5)],  # one segment across two spans
        [Word("five", 7.0, 7.5)],
    ]
    first, second, third = split(segments, durations)
    assert [[w.word for w in seg] for seg in first] == [["one", "two"]]
    assert first[0][1].end == 2.0  # kept inside its utterance
    assert [[(w.word, round(w.start, 2)) for w in seg] for seg in second] == [[("three", 0.0)]]
    assert [[(w.word, round(w.start, 2), round(w.end, 2)) for w in seg] for seg in third] == [
        [("four", 0.0, 0.3)],
        [("five", 2.8, 3.0)],
    ]


class Recorder:
    """A scripted engine: each decode says one word at the middle of every span it was given."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[float] = []
        self.fail = fail

    def __call__(self, samples: np.ndarray, language: str | None, prompt: str | None) -> tuple[list, str]:
        self.calls.append(len(samples) / RATE)
        if self.fail:
            raise RuntimeError("engine down")
        return [[Word(f"at{len(samples)}", 0.0, 0.1)]], language or "en"


def run_while_busy(packer: WindowPacker, clips: list[np.ndarray]) -> list:
    """Decode ``clips`` from threads that all arrive while the packer's one decoder is taken."""
    results: list = [None] * len(clips)

    def one(i: int) -> None:
        try:
            results[i] = packer.decode(clips[i], "en", None)
        except Exception as e:  # noqa: BLE001 - the test looks at it
            results[i] = e

    with packer.busy():
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clips))]
        for t in threads:
            t.start()
        while len(packer._queue) < len(clips):  # noqa: SLF001 - until every clip waits for the decoder
            threading.Event().wait(0.01)
    for t in threads:
        t.join(60)
    return results


def test_waiting_utterances_share_one_decode_and_an_idle_one_is_decoded_alone() -> None:
    engine = Recorder()
    packer = WindowPacker(engine, decoders=1)
    clips = [np.zeros(RATE * s, dtype=np.float32) for s in (1, 2, 3)]
    results = run_while_busy(packer, clips)
    assert engine.calls == [pytest.approx(6 + 2 * GAP_S)]  # one window: 1 + 2 + 3 s and two gaps
    assert [len(segments) for segments, _ in results] == [1, 0, 0]  # the one word was in the first span
    engine.calls.clear()
    packer.decode(clips[0], "en", None)
    assert engine.calls == [1.0]  # alone: no padding, no gap


def test_a_failed_window_fails_each_of_its_utterances() -> None:
    packer = WindowPacker(Recorder(fail=True), decoders=1)
    results = run_while_busy(packer, [np.zeros(RATE, dtype=np.float32)] * 2)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_whisper_hears_each_packed_utterance_as_alone() -> None:
    stt = WhisperSTT(bundled_model(), workers=1)
    utts = [u for u in corpus(("ivr",)) if 1.5 <= u.seconds <= 4.0][:4]
    alone = [stt.transcribe(u.samples) for u in utts]
    results = run_while_busy(stt._packer, [u.samples for u in utts])  # noqa: SLF001 - hold its decoder
    heard = [" ".join(w.word for seg in segments for w in seg) for segments, _ in results]
    packed_errors = sum(score(u, text).errors for u, text in zip(utts, heard, strict=True))
    assert packed_errors <= sum(score(u, t.text).errors for u, t in zip(utts, alone, strict=True)) + 1, heard
    for u, (segments, _) in zip(utts, results, strict=True):
        assert segments and all(0 <= w.start <= w.end <= u.seconds for seg in segments for w in seg)


def test_an_utterance_taken_into_another_callers_window_waits_for_it() -> None:
    """A decoder frees up while this utterance's window (led by another caller) still runs: the
    caller waits for that window instead of leading a decode of an empty queue."""

    class Slow(Recorder):
        def __call__(self, samples: np.ndarray, language: str | None, prompt: str | None) -> tuple[list, str]:
            threading.Event().wait(0.5)
            return super().__call__(samples, language, prompt)

    engine = Slow()
    packer = WindowPacker(engine, decoders=2)
    clip = np.zeros(RATE, dtype=np.float32)
    results: list = []
    first, second = packer.busy(), packer.busy()
    first.__enter__()
    second.__enter__()
    threads = [threading.Thread(target=lambda: results.append(packer.decode(clip, "en", None))) for _ in range(2)]
    for t in threads:
        t.start()
    while len(packer._queue) < 2:  # noqa: SLF001 - until both wait
        threading.Event().wait(0.01)
    first.__exit__(None, None, None)  # one caller leads a window holding both utterances
    while packer._queue:  # noqa: SLF001
        threading.Event().wait(0.01)
    second.__exit__(None, None, None)  # a decoder is free while that window still runs
    for t in threads:
        t.join(30)
    assert len(results) == 2 and len(engine.calls) == 1
