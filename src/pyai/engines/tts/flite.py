"""flite 2.2 (Debian's libflite1) — CMU's statistical parametric voices, loaded in-process.

The voices are compiled into shared libraries; calling them through ctypes saves the ~40 ms a
``flite`` process spends starting and loading its voice, and ctypes releases the GIL while flite
runs. flite keeps per-voice state (the features set below), so calls are serialised by a lock.

The clustergen voices (slt, rms, awb) stream: flite computes the whole parameter track first
(about a quarter of the work), allocates the wave and then calls back as its vocoder fills it.
So both the sentence's exact length and its first audio exist long before flite finishes.

flite's vocoder excites unvoiced sounds with libc's ``rand()``; seeding it per call (``seed``,
default 1 as in a fresh ``flite`` process) makes the same request give the same audio.

Pitch and speaking rate are set inside flite (``int_f0_target_mean``, ``duration_stretch``), so
a voice that only changes those costs no extra DSP.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import queue
import threading
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np

#: Measured median F0 (Hz) of each bundled voice; pitch shifts are applied relative to it.
NATIVE_F0 = {"slt": 164.0, "rms": 102.0, "awb": 118.0, "kal16": 103.0}
#: Voices whose pitch flite itself can set (``int_f0_target_mean``); measured: rms ignores it.
PITCH_CONTROL = frozenset({"slt", "awb", "kal16"})
#: Clustergen voices: they stream, and their final wave is one 5 ms frame shorter than the
#: buffer they allocate first (measured on every voice, text and duration_stretch tried).
STREAMING = frozenset({"slt", "rms", "awb"})
CLUSTERGEN_TAIL_S = 0.005
DEFAULT_SEED = 1


class FliteError(RuntimeError):
    pass


class _Wave(ctypes.Structure):
    """``cst_wave`` from flite's cst_wave.h."""

    _fields_ = [
        ("type", ctypes.c_char_p),
        ("sample_rate", ctypes.c_int),
        ("num_samples", ctypes.c_int),
        ("num_channels", ctypes.c_int),
        ("samples", ctypes.POINTER(ctypes.c_short)),
    ]


_AudioCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(_Wave), ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p
)


class _StreamingInfo(ctypes.Structure):
    """``cst_audio_streaming_info`` from flite's cst_audio.h."""

    _fields_ = [
        ("min_buffsize", ctypes.c_int),
        ("asc", _AudioCallback),
        ("utt", ctypes.c_void_p),
        ("item", ctypes.c_void_p),
        ("userdata", ctypes.c_void_p),
    ]


class _Voice(ctypes.Structure):
    """The leading fields of ``cst_voice`` from flite's cst_voice.h."""

    _fields_ = [("name", ctypes.c_char_p), ("features", ctypes.c_void_p), ("ffunctions", ctypes.c_void_p)]


_lock = threading.Lock()
F0_FEATURE = b"int_f0_target_mean"
#: Where the streaming callback delivers audio: set (under ``_lock``) for the synthesis running now.
_sink: Callable[[np.ndarray, int, int], None] | None = None


@_AudioCallback
def _on_audio(wave, start, size, last, info) -> int:  # noqa: ANN001 - ctypes arguments
    w = wave.contents
    if _sink is not None and size > 0:
        _sink(np.ctypeslib.as_array(w.samples, shape=(start + size,))[start:].copy(), w.num_samples, w.sample_rate)
    return 0  # CST_AUDIO_STREAM_CONT


@cache
def _library() -> ctypes.CDLL:
    path = ctypes.util.find_library("flite")
    if path is None:
        raise FliteError("libflite is not installed (apt-get install flite; `make setup` does it)")
    lib = ctypes.CDLL(path)
    lib.flite_init()
    lib.srand = ctypes.CDLL(ctypes.util.find_library("c")).srand  # the rand() flite links against
    lib.srand.argtypes = [ctypes.c_uint]
    lib.flite_text_to_wave.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Voice)]
    lib.flite_text_to_wave.restype = ctypes.POINTER(_Wave)
    lib.delete_wave.argtypes = [ctypes.POINTER(_Wave)]
    lib.feat_set_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float]
    lib.feat_remove.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.feat_present.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.get_param_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float]
    lib.get_param_float.restype = ctypes.c_float
    lib.new_audio_streaming_info.restype = ctypes.POINTER(_StreamingInfo)
    lib.audio_streaming_info_val.argtypes = [ctypes.POINTER(_StreamingInfo)]
    lib.audio_streaming_info_val.restype = ctypes.c_void_p
    lib.feat_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return lib


@cache
def _voice(name: str) -> tuple[ctypes._Pointer, float | None]:
    """The registered voice and its own ``int_f0_target_mean``, if it sets one (restored between calls)."""
    if name not in NATIVE_F0:
        raise FliteError(f"unknown flite voice {name}")
    lib = _library()
    path = ctypes.util.find_library(f"flite_cmu_us_{name}")
    if path is None:
        raise FliteError(f"flite voice {name} is not installed (apt-get install flite)")
    register = getattr(ctypes.CDLL(path), f"register_cmu_us_{name}")
    register.argtypes = [ctypes.c_char_p]
    register.restype = ctypes.POINTER(_Voice)
    voice = register(None)
    if not voice:
        raise FliteError(f"flite voice {name} failed to load")
    features = voice.contents.features
    if name in STREAMING:  # the voice owns this struct from now on (freed with its features)
        info = lib.new_audio_streaming_info()
        info.contents.asc = _on_audio
        lib.feat_set(features, b"streaming_info", lib.audio_streaming_info_val(info))
    if not lib.feat_present(features, F0_FEATURE):
        return voice, None
    return voice, lib.get_param_float(features, F0_FEATURE, 0.0)


def voice_available(name: str) -> bool:
    try:
        _voice(name)
    except FliteError:
        return False
    return True


class FliteStream:
    """One text being spoken by flite in a background thread.

    Constructing it returns as soon as the audio's exact length is known (for clustergen voices
    when the vocoder starts, else when flite is done); ``chunks()`` then yields the audio as flite
    makes it, exactly ``total`` samples in all.
    """

    def __init__(
        self, text: str, voice: str, *, f0_mean: float | None, stretch: float, seed: int | None = None
    ) -> None:
        self.voice, self.rate, self.total = voice, 0, 0
        self._chunks: queue.SimpleQueue[np.ndarray | BaseException | None] = queue.SimpleQueue()
        self._known = threading.Event()
        self._error: BaseException | None = None
        _voice(voice)  # raise an unknown or missing voice here, in the caller
        args = (text.encode("utf-8", "replace"), f0_mean, stretch, DEFAULT_SEED if seed is None else seed)
        threading.Thread(target=self._run, args=args, name=f"flite-{voice}", daemon=True).start()
        self._known.wait()
        if self._error is not None:
            raise self._error

    @property
    def seconds(self) -> float:
        return self.total / self.rate

    def _receive(self, samples: np.ndarray, allocated: int, rate: int) -> None:
        if not self._known.is_set():
            self.rate, self.total = rate, allocated - round(rate * CLUSTERGEN_TAIL_S)
            self._known.set()
        self._chunks.put(samples)

    def _run(self, text: bytes, f0_mean: float | None, stretch: float, seed: int) -> None:
        global _sink
        lib = _library()
        handle, default_f0 = _voice(self.voice)
        features = handle.contents.features
        wave = None
        try:
            with _lock:
                lib.feat_set_float(features, b"duration_stretch", stretch)
                if (f0 := f0_mean if f0_mean is not None else default_f0) is not None:
                    lib.feat_set_float(features, F0_FEATURE, f0)
                else:  # clustergen voices follow their own F0 model unless the feature is present
                    lib.feat_remove(features, F0_FEATURE)
                lib.srand(seed & 0xFFFFFFFF)
                _sink = self._receive
                try:
                    wave = lib.flite_text_to_wave(text, handle)
                finally:
                    _sink = None
            if not wave:
                raise FliteError("flite produced no audio")
            if not self._known.is_set():  # not streamed (diphone voice, or no audio at all)
                w = wave.contents
                self.rate, self.total = w.sample_rate, max(0, w.num_samples)
                if self.total:
                    self._chunks.put(np.ctypeslib.as_array(w.samples, shape=(self.total,)).copy())
                self._known.set()
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, in its thread
            self._error = e
            self._chunks.put(e)
            self._known.set()
        finally:
            if wave:
                lib.delete_wave(wave)
            self._chunks.put(None)

    def chunks(self) -> Iterator[np.ndarray]:
        """Float32 audio as flite makes it, trimmed or padded to exactly ``total`` samples."""
        sent = 0
        while (item := self._chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            piece = item[: self.total - sent]
            if len(piece):
                sent += len(piece)
                yield piece.astype(np.float32) / 32768.0
        if sent < self.total:
            yield np.zeros(self.total - sent, np.float32)
