"""pocketsphinx 5 (CMU Sphinx) with its bundled en-US acoustic model, dictionary and trigram LM.

pocketsphinx holds the GIL while it decodes (measured: two threads take twice as long as one),
so whole-utterance decodes (batch files, job files and, under ``PYAI_STT_ENGINE=pocketsphinx``,
each streaming utterance's final) run in a pool of worker *processes*, one decoder each, which
uses every core; streams' incremental decoders live in worker processes too
(:mod:`pyai.engines.stt.pocketsphinx_partials`). A decoder holds ~90 MB and takes ~0.25 s to load.
Decoding is deterministic: ``seed``/``temperature`` have no effect.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from pocketsphinx import Decoder

from pyai.audio.pcm import float_to_pcm16
from pyai.engines.packages import package_version
from pyai.engines.stt.base import RATE, Transcript, Word, group_segments, refuse_prefix
from pyai.engines.vad.webrtc import split_on_silence
from pyai.engines.worker_process import exit_with_parent
from pyai.ops.metrics import timed_decode

FRAMES_PER_SECOND = 100
WHOLE_FILE_LIMIT_S = 25.0  # longer audio is decoded region by region, cut at pauses
_FILLERS = {
    "<s>",
    "</s>",
    "<sil>",
    "[NOISE]",
    "[SPEECH]",
    "[LAUGH]",
    "[COUGH]",
    "[BREATH]",
    "[UM]",
    "[UH]",
    "[SMACK]",
    "++NOISE++",
}


def clean_word(word: str) -> str:
    return word.split("(")[0] if word.endswith(")") else word


def decoded_words(decoder: Decoder, offset: float) -> list[Word]:
    words = []
    for seg in decoder.seg():
        if seg.word in _FILLERS or seg.word.startswith("[") or seg.word.startswith("+"):
            continue
        words.append(
            Word(
                clean_word(seg.word),
                offset + seg.start_frame / FRAMES_PER_SECOND,
                offset + (seg.end_frame + 1) / FRAMES_PER_SECOND,
                float(min(max(seg.prob, 0.0), 1.0)),
            )
        )
    return words


def _decode_utterance(decoder: Decoder, samples: np.ndarray, offset: float) -> list[Word]:
    decoder.start_utt()
    decoder.process_raw(float_to_pcm16(samples).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoded_words(decoder, offset) if decoder.hyp() else []


_worker_decoder: Decoder | None = None


def _init_worker(config: dict[str, object], parent: int) -> None:
    global _worker_decoder
    exit_with_parent(parent)
    _worker_decoder = Decoder(**config)


def _decode_regions(samples: np.ndarray, regions: list[tuple[float, float]]) -> list[Word]:
    """Runs in a worker process: decode each region of ``samples`` as one utterance."""
    assert _worker_decoder is not None
    words: list[Word] = []
    for start, end in regions:
        words += _decode_utterance(_worker_decoder, samples[int(start * RATE) : int(end * RATE)], start)
    return words


def describe_pocketsphinx(config: dict[str, object]) -> dict:
    """What a pocketsphinx decoder of ``config`` runs, for ``/v1/models`` and ``pyai doctor``."""
    if "hmm" in config:
        files = ", ".join(str(config[k]) for k in ("hmm", "lm", "dict"))
        model = f"local model (PYAI_STT_MODEL_DIR): {files}"
    else:
        model = "en-us acoustic model + trigram LM (bundled in the PyPI package)"
    return {
        "name": "pocketsphinx",
        "version": package_version("pocketsphinx"),
        "model": model,
        "license": "BSD-2-Clause",
    }


class PocketsphinxSTT:
    name = "pocketsphinx"
    languages = ("en",)
    forces_prefix = False

    def __init__(self, config: dict[str, object] | None = None, processes: int | None = None) -> None:
        self.config = dict(config or {})
        self.processes = processes or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def _full_decode(self, samples: np.ndarray, regions: list[tuple[float, float]]) -> list[Word]:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.config, os.getpid()),
                )
        return self._executor.submit(_decode_regions, samples.astype(np.float32), regions).result()

    @timed_decode("pocketsphinx")
    def transcribe(
        self, samples: np.ndarray, *, language: str | None = None, prompt: str | None = None, prefix: str | None = None
    ) -> Transcript:
        """``prompt`` is ignored: an n-gram decoder has no prompt (key terms would need LM edits)."""
        refuse_prefix(prefix, self.name)
        duration = len(samples) / RATE
        regions = [(0.0, duration)] if duration <= WHOLE_FILE_LIMIT_S else split_on_silence(samples, RATE)
        words = self._full_decode(samples, regions)
        return Transcript(" ".join(w.word for w in words), words, group_segments(words), duration, "en")

    def describe(self) -> dict:
        return describe_pocketsphinx(self.config)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
