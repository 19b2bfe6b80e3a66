"""pocketsphinx 5 (CMU Sphinx) with its bundled en-US acoustic model, dictionary and trigram LM.

pocketsphinx holds the GIL while it decodes (measured: two threads take twice as long as one),
so whole-utterance decodes — batch files and each streaming utterance's final — run in a pool of
worker *processes*, one decoder each, which uses every core. Streaming sessions keep a light
single-pass decoder in-process (a thread-safe pool lends one per session). A decoder holds
~90 MB and takes ~0.25 s to load. Decoding is deterministic: ``seed``/``temperature`` have no
effect.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from pocketsphinx import Decoder

from pyai.audio.pcm import float_to_pcm16
from pyai.engines.packages import package_version
from pyai.engines.stt.base import RATE, EngineBusy, Transcript, Word, group_segments
from pyai.engines.vad.webrtc import split_on_silence

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


def _clean(word: str) -> str:
    return word.split("(")[0] if word.endswith(")") else word


def _words(decoder: Decoder, offset: float) -> list[Word]:
    words = []
    for seg in decoder.seg():
        if seg.word in _FILLERS or seg.word.startswith("[") or seg.word.startswith("+"):
            continue
        words.append(
            Word(
                _clean(seg.word),
                offset + seg.start_frame / FRAMES_PER_SECOND,
                offset + (seg.end_frame + 1) / FRAMES_PER_SECOND,
                float(min(max(seg.prob, 0.0), 1.0)),
            )
        )
    return words


class DecoderPool:
    def __init__(self, size: int, config: dict[str, object]) -> None:
        self.size = size
        self.config = config
        self._idle: queue.LifoQueue[Decoder] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def acquire(self, timeout: float = 30.0) -> Decoder:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self.size:
                self._created += 1
                return Decoder(**self.config)
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise EngineBusy(f"all {self.size} speech decoders are busy") from None

    def release(self, decoder: Decoder) -> None:
        self._idle.put(decoder)


def _decode_utterance(decoder: Decoder, samples: np.ndarray, offset: float) -> list[Word]:
    decoder.start_utt()
    decoder.process_raw(float_to_pcm16(samples).tobytes(), full_utt=True)
    decoder.end_utt()
    return _words(decoder, offset) if decoder.hyp() else []


_worker_decoder: Decoder | None = None


def _init_worker(config: dict[str, object]) -> None:
    global _worker_decoder
    _worker_decoder = Decoder(**config)


def _decode_regions(samples: np.ndarray, regions: list[tuple[float, float]]) -> list[Word]:
    """Runs in a worker process: decode each region of ``samples`` as one utterance."""
    assert _worker_decoder is not None
    words: list[Word] = []
    for start, end in regions:
        words += _decode_utterance(_worker_decoder, samples[int(start * RATE) : int(end * RATE)], start)
    return words


class PocketsphinxStream:
    """One streaming session: a fast single-pass decoder for partials and ``speech_final``, and a
    full-accuracy decoder borrowed from the batch pool for each utterance's final re-decode."""

    def __init__(self, pool: DecoderPool, full_decode) -> None:  # noqa: ANN001 - callable
        self.pool = pool
        self.full_decode = full_decode
        self.decoder = pool.acquire()
        self.in_utt = False

    def accept(self, samples: np.ndarray) -> None:
        if not self.in_utt:
            self.decoder.start_utt()
            self.in_utt = True
        self.decoder.process_raw(float_to_pcm16(samples).tobytes())

    def partial(self) -> str:
        hyp = self.decoder.hyp() if self.in_utt else None
        return " ".join(_clean(w) for w in hyp.hypstr.split()) if hyp else ""

    def finish(self) -> Transcript:
        if not self.in_utt:
            return Transcript("")
        self.decoder.end_utt()
        self.in_utt = False
        words = _words(self.decoder, 0.0) if self.decoder.hyp() else []
        return Transcript(" ".join(w.word for w in words), words, group_segments(words))

    def redecode(self, samples: np.ndarray) -> Transcript:
        """Full-context, two-pass decode of a whole utterance (CMN and search see all of it)."""
        words = self.full_decode(samples, [(0.0, len(samples) / RATE)])
        return Transcript(" ".join(w.word for w in words), words, group_segments(words), len(samples) / RATE)

    def close(self) -> None:
        if self.decoder is not None:
            if self.in_utt:
                self.decoder.end_utt()
            self.pool.release(self.decoder)
            self.decoder = None  # type: ignore[assignment]


class PocketsphinxSTT:
    name = "pocketsphinx"
    languages = ("en",)

    def __init__(
        self, pool_size: int = 8, config: dict[str, object] | None = None, processes: int | None = None
    ) -> None:
        self.config = dict(config or {})
        self.processes = processes or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        # Streaming: skip the flat-lexicon second pass at each utterance end (~10x faster end_utt);
        # the final re-decode in a worker process restores accuracy.
        self.stream_pool = DecoderPool(pool_size * 4, {**self.config, "fwdflat": False})

    def _full_decode(self, samples: np.ndarray, regions: list[tuple[float, float]]) -> list[Word]:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.config,),
                )
        return self._executor.submit(_decode_regions, samples.astype(np.float32), regions).result()

    def transcribe(self, samples: np.ndarray, *, language: str | None = None, prompt: str | None = None) -> Transcript:
        """``prompt`` is ignored: an n-gram decoder has no prompt (key terms would need LM edits)."""
        duration = len(samples) / RATE
        regions = [(0.0, duration)] if duration <= WHOLE_FILE_LIMIT_S else split_on_silence(samples, RATE)
        words = self._full_decode(samples, regions)
        return Transcript(" ".join(w.word for w in words), words, group_segments(words), duration, "en")

    def open_stream(self) -> PocketsphinxStream:
        return PocketsphinxStream(self.stream_pool, self._full_decode)

    def describe(self) -> dict:
        if "hmm" in self.config:
            files = ", ".join(str(self.config[k]) for k in ("hmm", "lm", "dict"))
            model = f"local model (PYAI_STT_MODEL_DIR): {files}"
        else:
            model = "en-us acoustic model + trigram LM (bundled in the PyPI package)"
        version = package_version("pocketsphinx")
        return {"name": "pocketsphinx", "version": version, "model": model, "license": "BSD-2-Clause"}

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
