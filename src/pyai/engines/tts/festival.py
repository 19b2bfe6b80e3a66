"""Festival's HTS voice ``cmu_us_slt_arctic_hts`` (Debian ``festvox-us-slt-hts``), in long-lived
Festival processes.

The voice is the same speaker as flite's ``slt`` but an HMM (HTS) voice: far clearer (0 word
errors through Whisper in docs/benchmarks.md against flite's several). Starting ``text2wave`` per
request costs 0.4-1.2 s (loading Festival and the voice), so each process is started once, loads
the voice, and then synthesises sentence after sentence from commands on its stdin (~25 ms for a
short clause, RTF ~0.03). A process ends on its own when the server's end of the pipe closes, so a
server killed with -9 leaves none behind. Licences: Festival (X11-style) and the voice (CMU
EST-2003 and BSD-3-clause), all permissive.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import tempfile
import threading
import wave
from functools import cache
from pathlib import Path

import numpy as np

from pyai.engines.tts.base import VoiceSpec
from pyai.engines.tts.whole_utterance import WholeUtteranceRendering

#: Base voice name → Festival's voice function and the voice's median F0 in Hz (measured).
VOICES = {"slt_hts": ("voice_cmu_us_slt_arctic_hts", 173.0)}
#: Processes per voice: one synthesis at a time each, and the machine has two cores.
POOL_SIZE = 2
_DONE = '"PYAI-DONE"'
_VOICE_FILE = '(path-append hts_data_dir "cmu_us_slt_arctic_hts.htsvoice")'
#: Phrase breaks where the text puts punctuation, with Festival's own ``simple_phrase_cart_tree``.
#: The voice's statistical phrasing (``prob_models``) skipped many commas, so a spelled code or a
#: phone number the normaliser paces with commas ran together ("B, X" heard as "bx", "four, two"
#: as "for two"; docs/benchmarks.md).
PHRASING = "(Parameter.set 'Phrase_Method 'cart_tree)(set! phrase_cart_tree simple_phrase_cart_tree)"


class FestivalError(RuntimeError):
    """Festival is missing or its process died; the message says which."""


def scheme_string(text: str) -> str:
    """``text`` as a Scheme string literal (quotes and backslashes escaped, one line)."""
    flat = " ".join(text.split())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalProcess:
    """One ``festival --pipe`` with a voice loaded; :meth:`say` is called by one thread at a time."""

    def __init__(self, voice_fn: str) -> None:
        if shutil.which("festival") is None:
            raise FestivalError("festival is not installed (apt-get install festival festvox-us-slt-hts)")
        self._dir = Path(tempfile.mkdtemp(prefix="pyai-festival-"))
        self._out = self._dir / "out.wav"
        # stdbuf: Festival buffers its stdout when it is a pipe, and the reply marker must arrive now
        self._proc = subprocess.Popen(
            ["stdbuf", "-o0", "festival", "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._command(f"({voice_fn}){PHRASING}")

    def _command(self, expr: str) -> None:
        """Run Scheme expressions and wait until Festival has finished them (one round trip)."""
        try:
            self._proc.stdin.write(f"{expr}\n(print {_DONE})\n")
            self._proc.stdin.flush()
            while (line := self._proc.stdout.readline()).strip() != _DONE:
                if not line:
                    raise BrokenPipeError
        except (BrokenPipeError, OSError):
            raise FestivalError(f"festival exited (code {self._proc.poll()})") from None

    def say(self, text: str, rate: float) -> tuple[np.ndarray, int]:
        """Float32 mono audio of ``text`` spoken at ``rate`` (HTS's own speech-rate control), and its
        sample rate."""
        params = f'(list (list "-m" {_VOICE_FILE}) \'("-g" 0.0) \'("-b" 0.0) \'("-u" 0.5) (list "-r" {rate:.4f}))'
        utterance = f"(utt.synth (Utterance Text {scheme_string(text)}))"
        self._command(f'(set! hts_engine_params {params})\n(utt.save.wave {utterance} "{self._out}" \'riff)')
        with wave.open(str(self._out)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            return pcm.astype(np.float32) / 32768.0, w.getframerate()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


class FestivalPool:
    """Up to :data:`POOL_SIZE` processes of one voice, started on demand; a process that died is
    replaced (the request it failed gets :class:`FestivalError`)."""

    def __init__(self, voice_fn: str) -> None:
        self._voice_fn = voice_fn
        self._idle: queue.Queue[FestivalProcess] = queue.Queue()
        self._started = 0
        self._lock = threading.Lock()

    def say(self, text: str, rate: float) -> tuple[np.ndarray, int]:
        proc = self._acquire()
        try:
            return proc.say(text, rate)
        except FestivalError:
            proc.close()
            with self._lock:
                self._started -= 1
            raise
        finally:
            if proc.alive:
                self._idle.put(proc)

    def _acquire(self) -> FestivalProcess:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            start = self._started < POOL_SIZE
            if start:
                self._started += 1
        if not start:
            return self._idle.get()
        try:
            return FestivalProcess(self._voice_fn)
        except BaseException:
            with self._lock:
                self._started -= 1
            raise


class FestivalTTS:
    name = "festival"

    def render(
        self, text: str, spec: VoiceSpec, speed: float = 1.0, seed: int | None = None
    ) -> WholeUtteranceRendering:
        """HTS has no randomness, so every request is repeatable and ``seed`` changes nothing."""
        if spec.base_voice not in VOICES:
            raise ValueError(f"festival has no voice {spec.base_voice!r}")
        pool, f0 = festival_pool(spec.base_voice), VOICES[spec.base_voice][1]
        rate = max(0.05, spec.rate * speed)
        audio_rate = 32000  # the HTS voice's sampling rate (checked on every call)

        def make(clause: str) -> np.ndarray:
            audio, got = pool.say(clause, rate)
            if got != audio_rate:
                raise FestivalError(f"festival returned {got} Hz audio, expected {audio_rate}")
            return audio

        return WholeUtteranceRendering(make, audio_rate, f0, text, spec)


@cache
def festival_pool(name: str) -> FestivalPool:
    return FestivalPool(VOICES[name][0])
