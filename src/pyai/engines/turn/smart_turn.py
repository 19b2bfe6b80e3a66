"""smart-turn v3.2 (pipecat): the probability that a speaker has finished their turn.

The model is a Whisper-tiny encoder with a classifier head, quantised for CPU (8.7 MB ONNX), that
hears the last 8 s of 16 kHz audio up to a pause — intonation, rhythm and words — and answers
with the probability of a complete turn. Its input is the Whisper log-mel spectrogram of exactly
8 s (audio left-padded with zeros, waveform normalised to zero mean and unit variance first), as
in pipecat's ``LocalSmartTurnAnalyzerV3``; the spectrogram comes from faster-whisper's
``FeatureExtractor``, which matches pipecat's vendored transformers code to 1e-4 (unit-tested).

One call costs ~90-100 ms of CPU on one thread (2 busy cores; a second intra-op thread only
burns more), so callers run :func:`turn_probability` in a worker thread; the ONNX session is
shared by every stream (``InferenceSession.run`` is thread-safe) and holds no per-stream state.
"""

from __future__ import annotations

import functools

import numpy as np
import onnxruntime as ort
from faster_whisper.feature_extractor import FeatureExtractor

from pyai.engines.packaged import PackagedFile

RATE = 16000
WINDOW_SECONDS = 8
SMART_TURN = PackagedFile(
    package="pipecat",
    path="audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
    sha256="2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
    install="pipecat-ai==1.14.0",
)
_NORMALISE_EPS = 1e-7


@functools.cache
def _session(threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(SMART_TURN.locate()), sess_options=options, providers=["CPUExecutionProvider"])


@functools.cache
def _extractor() -> FeatureExtractor:
    return FeatureExtractor(chunk_length=WINDOW_SECONDS)


def load(threads: int = 1) -> None:
    """Load (and verify) the model now rather than on a stream's first pause."""
    _session(threads)


def features(audio: np.ndarray) -> np.ndarray:
    """The model input, shape (80, 800): log-mel of the last 8 s of 16 kHz ``audio``."""
    n = RATE * WINDOW_SECONDS
    x = np.asarray(audio, dtype=np.float32)[-n:]
    x = np.pad(x, (n - len(x), 0))
    x = (x - x.mean()) / np.sqrt(x.var() + _NORMALISE_EPS)
    return _extractor()(x, padding=0).astype(np.float32)


def turn_probability(audio: np.ndarray, threads: int = 1) -> float:
    """Probability in [0, 1] that the speech ending ``audio`` (16 kHz mono float, ending with the
    pause) is a finished turn. Blocking; call it from a worker thread."""
    (scores,) = _session(threads).run(None, {"input_features": features(audio)[None]})
    return float(scores[0, 0])
