"""Whisper through faster-whisper (CTranslate2, int8 on CPU): the engine for every final transcript.

Whisper tiny.en gets 4% WER on 633 words of human speech where pocketsphinx gets 22%
(bench/stt_engines.py, docs/benchmarks.md), so batch files, job files and each streaming utterance's ``final`` are
decoded here. Streaming partials and ``speech_final`` stay on pocketsphinx's incremental decoder
(engines/stt/pocketsphinx_partials.py): Whisper decodes a whole 30 s window per call (~0.3-0.6 s on 2 cores), which
no 100 ms partial tick can afford.

One model per process, shared by every request thread: CTranslate2 releases the GIL while it
runs, and callers always decode in a worker thread (``hear.engine.in_stt_thread``), never on the
event loop. It runs two decodes at once (``WORKERS``), each on all cores: measured on 2 idle cores with
1-7 s utterances, that gives 3.0 decodes/s at 2-4 callers against 2.2 with one worker, and the
lowest single-call latency (0.42 s median; one worker 0.49 s, one thread each 0.52 s) — one
decode's Python work (features, VAD, word alignment) overlaps the other's CTranslate2 work. The
model loads on the first decode (~1 s), not at start, so processes that never hear anything
(most test servers, a Speak-only deployment) do not pay for it.

Decoding choices, each measured (docs/benchmarks.md):

- beam search of 5 (``BEAM_SIZE``): greedy decoding lost accuracy (4.6% vs 4.1% WER over 633
  words); beam 2 matched beam 5 here (4.1%, and 4.9% on µ-law) at RTF 0.048 vs 0.059 on a long
  file and 4% less time on short utterances, where the encoder dominates. Both are far inside
  the budget (RTF ≤ 0.3), so the wider, standard beam keeps its margin on harder audio;
- Silero VAD in front (``vad_filter``): without it Whisper writes "You" over 10 s of digital
  silence or mains hum (no_speech_prob 0.92-0.94, but avg_logprob above faster-whisper's -1.0
  cut), "Beep beep beep…" over a tone and a looping sentence over -40 dBFS white noise; with it
  all of these give no text and so no charge, and speech peaking at -50 dBFS is still heard;
- telephone-band audio (nothing above 4 kHz: G.711, 8 kHz files) gets a VAD threshold of 0.35
  instead of 0.5 (narrowband.py): Silero drops weak onsets and short words of band-limited speech
  at 0.5; wideband audio is decoded as before;
- numbers in spoken form: tokens holding digits or currency/percent signs are suppressed, so
  Whisper writes "five five five one two" like every other engine here, and the ``numerals``
  flag turns that into digits the same way for every engine;
- no temperature fallback (``temperature=0`` only): sampling at higher temperatures when a
  window looks repetitive or unlikely changed no word on any recording set (4.1% / 4.9% / 3.6%
  WER with and without) but took ~1.7x the time, and made the output random — with it off, the
  same audio always gives the same transcript, as ``seed`` promises;
- each 30 s window is decoded on its own (``condition_on_previous_text=False``): conditioning on
  the previous window's text measured no better on 90-125 s files (3.6% WER either way), and with
  it the short tail left after a window's last segment is decoded with the earlier text as its
  prompt, which made Whisper repeat the last words ("Zyntrax support Zyntrax support.");
- a prompt (OpenAI's ``prompt``, a job's ``keyterms``) is Whisper's ``initial_prompt``: it biases
  the first window, i.e. all of a short file or streamed utterance. Not as ``hotwords`` (every
  window): on tiny.en that repeated the term after the speech ("Quarnstrom Quarnstrom"), and a
  prompt on every window of a long file cost 3.8 points of WER (inserted "thank you").
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np

from pyai.engines.packages import package_version
from pyai.engines.stt import narrowband
from pyai.engines.stt.base import RATE, Segment, Transcript, Word, group_segments
from pyai.engines.stt.whisper_models import WhisperModelSpec, whisper_languages
from pyai.engines.stt.window_packing import WindowPacker, packable
from pyai.ops.metrics import timed_decode

log = logging.getLogger(__name__)

BEAM_SIZE = 5
WORKERS = 2
COMPUTE_TYPE = "int8"
#: Characters that make a token a written number; suppressing them keeps numbers in words.
NUMERAL_CHARS = frozenset("0123456789%$£€¥")
#: Leading/trailing characters that are punctuation, not part of a word's timing entry.
PUNCTUATION = "\"'“”‘’¿¡([{}])-.,;:!?…。，、"


def _numeral_tokens(tokenizer: Any) -> list[int]:
    """Ids of every token that contains a digit or a currency/percent sign."""
    return [
        i
        for i in range(tokenizer.get_vocab_size())
        if (tok := tokenizer.id_to_token(i)) and any(c in NUMERAL_CHARS for c in tok)
    ]


def _segment_words(segments: list[Any]) -> list[list[Word]]:
    """faster-whisper segments → each one's words, punctuation kept."""
    out = []
    for seg in segments:
        raw = [Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)) for w in seg.words or []]
        out.append([w for w in raw if w.word])
    return out


def _transcript(segments: list[list[Word]], duration: float, language: str) -> Transcript:
    """Whisper segments' words → our Transcript.

    Segment texts keep Whisper's casing and punctuation; word entries are the bare words (as
    OpenAI's ``words`` are). A Whisper segment is further cut at pauses of ``SEGMENT_GAP_S``,
    as every engine's segments are, so subtitles and diarization see the same turns.
    """
    words: list[Word] = []
    out_segments: list[Segment] = []
    for raw in segments:
        for piece in group_segments(raw, first_id=len(out_segments)):
            bare = [Word(b, w.start, w.end, w.confidence) for w in piece.words if (b := w.word.strip(PUNCTUATION))]
            if not bare:
                continue
            out_segments.append(Segment(len(out_segments), piece.start, piece.end, piece.text, bare))
            words += bare
    text = " ".join(s.text for s in out_segments)
    return Transcript(text, words, out_segments, duration, language)


def load_model(spec: WhisperModelSpec, *, threads: int, workers: int = WORKERS) -> Any:
    """A faster-whisper WhisperModel of ``spec`` (a local directory: nothing is fetched)."""
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(spec.path), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads, num_workers=workers
    )


class WhisperSTT:
    """Whole-utterance decodes on Whisper (streaming partials are pocketsphinx's, hear/engine.py)."""

    name = "whisper"
    forces_prefix = True

    def __init__(
        self,
        spec: WhisperModelSpec,
        *,
        threads: int | None = None,
        workers: int = WORKERS,
        beam_size: int = BEAM_SIZE,
        vad: bool = True,
    ) -> None:
        self.spec = spec
        self.threads = threads or os.cpu_count() or 1
        self.workers = workers
        self.beam_size = beam_size
        self.vad = vad  # off only to measure what it buys (bench/stt_engines.py)
        self._model: Any = None
        self._suppress: list[int] = []
        self._lock = threading.Lock()
        self._packer = WindowPacker(self._decode, workers)  # short utterances share a window under load

    @property
    def languages(self) -> tuple[str, ...]:
        return whisper_languages() if self.spec.multilingual else ("en",)

    def model(self) -> Any:
        """The process's one WhisperModel, loaded on first use (thread-safe)."""
        with self._lock:
            if self._model is None:
                model = load_model(self.spec, threads=self.threads, workers=self.workers)
                self._suppress = [-1, *_numeral_tokens(model.hf_tokenizer)]
                self._model = model
                log.info("loaded Whisper %s (%s)", self.spec.name, self.spec.source)
            return self._model

    def transcribe(
        self, samples: np.ndarray, *, language: str | None = None, prompt: str | None = None, prefix: str | None = None
    ) -> Transcript:
        """``prefix`` is the decoder prefix of the first window: the transcript starts with exactly
        those words and Whisper goes on from them (a stream's stable words, hear/streaming.py).
        A short utterance without one may share its window with others (window_packing.py)."""
        lang = language or (None if self.spec.multilingual else "en")
        if packable(samples, prefix):
            segments, decoded = self._packer.decode(samples, lang, prompt)
        else:
            with self._packer.busy():
                segments, decoded = self._decode(samples, lang, prompt, prefix)
        return _transcript(segments, len(samples) / RATE, decoded)

    @timed_decode("whisper")
    def _decode(
        self, samples: np.ndarray, lang: str | None, prompt: str | None, prefix: str | None = None
    ) -> tuple[list[list[Word]], str]:
        """One Whisper decode: each segment's words, and the language. Telephone-band audio gets a
        lower VAD threshold (narrowband.py)."""
        model = self.model()
        vad_parameters = None
        if narrowband.is_narrowband(samples):
            vad_parameters = {"threshold": narrowband.VAD_THRESHOLD}
        segments, info = model.transcribe(
            np.ascontiguousarray(samples, dtype=np.float32),
            language=lang,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=self.vad,
            vad_parameters=vad_parameters,
            suppress_tokens=self._suppress,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            prefix=prefix or None,
        )
        return _segment_words(list(segments)), info.language or lang or "en"

    def describe(self) -> dict:
        return {
            "name": "faster-whisper",
            "version": package_version("faster-whisper"),
            "runtime": f"CTranslate2 {package_version('ctranslate2')}, {COMPUTE_TYPE} on CPU",
            **self.spec.describe(),
            "beam_size": self.beam_size,
        }

    def close(self) -> None:
        """Nothing to release: the model is freed with the process."""
