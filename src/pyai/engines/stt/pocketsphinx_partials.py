"""Eager partial hypotheses from pocketsphinx, decoded in worker processes.

pocketsphinx decodes incrementally (~20 ms of CPU per 100 ms of audio), which is what makes a
first partial possible a fraction of a second into speech; but it holds the GIL while it decodes,
so decoding in the server process starves the event loop once a few streams run (sessions were
closed with 1011 "keepalive ping timeout" under 8 streams). Here every session's decoder lives in
a worker process: each worker is a one-process executor, so a session, pinned to one worker,
has its audio decoded in order, and the server's event loop only waits on futures.

Decoders are reused across sessions (loading one takes ~0.25 s and ~90 MB).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from pocketsphinx import Decoder

from pyai.engines.stt.base import Transcript, group_segments
from pyai.engines.stt.pocketsphinx_engine import clean_word, decoded_words, describe_pocketsphinx
from pyai.engines.worker_process import exit_with_parent

#: Active HMMs per frame for the partials' decoders (pocketsphinx's default: 30,000). Measured by
#: bench/partials_cost.py (136 corpus recordings in 100 ms chunks, three runs): CPU per second of
#: audio 14-48% lower (0.117 → 0.085 in the first run), the last hypothesis's WER 31.3% → 31.8%;
#: 1,000 cut deeper (~0.07) but lost words (37.5%).
MAX_HMM_PER_FRAME = 3000
#: Idle decoders kept per worker for the next sessions.
IDLE_DECODERS = 4

_config: dict[str, object] = {}
_idle: list[Decoder] = []
_active: dict[int, Decoder] = {}
_in_utt: set[int] = set()


def _init(config: dict[str, object], parent: int) -> None:
    global _config
    _config = config
    exit_with_parent(parent)


def _warm() -> None:
    """Load a decoder ahead of the first session (the first partial should not wait ~0.3 s for it)."""
    if not _idle and not _active:
        _idle.append(Decoder(**_config))


def _open(sid: int) -> None:
    _active[sid] = _idle.pop() if _idle else Decoder(**_config)


def _accept(sid: int, pcm: bytes) -> str:
    """Decode more audio of the session's utterance; returns the current hypothesis."""
    decoder = _active[sid]
    if sid not in _in_utt:
        decoder.start_utt()
        _in_utt.add(sid)
    decoder.process_raw(pcm)
    return hypothesis_text(decoder)


def hypothesis_text(decoder: Decoder) -> str:
    """The decoder's current best hypothesis as words ("word(2)", an alternate pronunciation, read as "word")."""
    hyp = decoder.hyp()
    return " ".join(clean_word(w) for w in hyp.hypstr.split()) if hyp else ""


def _finish(sid: int) -> Transcript:
    """End the utterance: its single-pass transcript with word timings (relative to its start)."""
    decoder = _active[sid]
    if sid not in _in_utt:
        return Transcript("")
    decoder.end_utt()
    _in_utt.discard(sid)
    words = decoded_words(decoder, 0.0) if decoder.hyp() else []
    return Transcript(" ".join(w.word for w in words), words, group_segments(words))


def _close(sid: int) -> None:
    decoder = _active.pop(sid, None)
    if decoder is None:
        return
    if sid in _in_utt:
        decoder.end_utt()
        _in_utt.discard(sid)
    if len(_idle) < IDLE_DECODERS:
        _idle.append(decoder)


class PartialWorkers:
    """The worker processes; :meth:`open` pins a new session to the least busy one."""

    def __init__(self, config: dict[str, object], processes: int | None = None) -> None:
        # Streaming skips the flat-lexicon second pass at each utterance end (~10x faster end_utt);
        # the utterance's final is a separate full decode. At most MAX_HMM_PER_FRAME active HMMs.
        self.config = {"maxhmmpf": MAX_HMM_PER_FRAME, **config, "fwdflat": False}
        self.processes = processes or os.cpu_count() or 1
        self._workers: list[ProcessPoolExecutor] = []
        self._sessions = [0] * self.processes
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _worker(self, index: int) -> ProcessPoolExecutor:
        with self._lock:
            if not self._workers:
                context = multiprocessing.get_context("spawn")
                self._workers = [
                    ProcessPoolExecutor(1, mp_context=context, initializer=_init, initargs=(self.config, os.getpid()))
                    for _ in range(self.processes)
                ]
            return self._workers[index]

    def describe(self) -> dict:
        return {**describe_pocketsphinx(self.config), "role": "streaming partials and speech_final"}

    def warm(self) -> None:
        """Start the workers and load a decoder in each, in the background."""
        for index in range(self.processes):
            self._worker(index).submit(_warm)

    async def open(self) -> PartialSession:
        index = min(range(self.processes), key=self._sessions.__getitem__)
        self._sessions[index] += 1
        session = PartialSession(self, index, next(self._ids))
        try:
            await session.call(_open)
        except BaseException:
            self._sessions[index] -= 1
            raise
        return session

    def close(self) -> None:
        for worker in self._workers:
            worker.shutdown(wait=False, cancel_futures=True)


class PartialSession:
    """One stream's decoder in its worker; calls run in the order they are made."""

    def __init__(self, workers: PartialWorkers, index: int, sid: int) -> None:
        self.workers = workers
        self.index = index
        self.sid = sid
        self.closed = False

    async def call(self, fn, *args):  # noqa: ANN001, ANN002, ANN201 - a worker function and its arguments
        future = self.workers._worker(self.index).submit(fn, self.sid, *args)
        return await asyncio.wrap_future(future)

    async def accept(self, pcm: bytes) -> str:
        return await self.call(_accept, pcm)

    async def finish(self) -> Transcript:
        return await self.call(_finish)

    def close(self) -> None:
        """Free the decoder; queued after whatever the session already asked (never awaited)."""
        if not self.closed:
            self.closed = True
            self.workers._sessions[self.index] -= 1
            self.workers._worker(self.index).submit(_close, self.sid)
