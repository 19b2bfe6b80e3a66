"""Audio for the VAD and end-of-turn tests and bench/vad_turn.py: steady noises that must not open
an utterance, real and synthetic speech that must, and human recordings with word timings.

Human speech comes from packages setup installs: CMU ARCTIC (pysptk), the ALSA channel voices
(alsa-utils), and LibriVox / CMU test recordings (Debian's pocketsphinx-testdata).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

from pyai.engines.turn import TurnPolicy, turn_probability
from pyai.engines.vad.silero import WINDOW_MS, SileroEndpointer
from pyai.engines.vad.webrtc import VadEvent
from tests.media import decode, flite_wav
from tests.speech_samples import ALSA, ARCTIC

RATE = 16000
SPHINX = Path("/usr/share/pocketsphinx/test/data")
LIBRIVOX = sorted((SPHINX / "librivox").glob("*.wav"))
CARDS = sorted((SPHINX / "cards").glob("*.wav"))
SPHINX_RAW = [SPHINX / "goforward.raw", SPHINX / "something.raw", SPHINX / "numbers.raw"]
DIGITS = SPHINX / "tidigits" / "dhd.2934z.raw"  # "two nine three four zero"


@functools.cache
def load(path: Path) -> np.ndarray:
    """A recording as 16 kHz mono float32 (``.raw`` files are headerless 16 kHz PCM16)."""
    if path.suffix == ".raw":
        return np.frombuffer(path.read_bytes(), "<i2").astype(np.float32) / 32768
    return wav(path.read_bytes())


def wav(data: bytes) -> np.ndarray:
    samples, rate, _ = decode(data)
    mono = samples.mean(axis=0)
    return (soxr.resample(mono, rate, RATE) if rate != RATE else mono).astype(np.float32)


def flite(text: str, voice: str = "slt") -> np.ndarray:
    return wav(flite_wav(text, voice))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def _scaled(x: np.ndarray, rms: float) -> np.ndarray:
    return (x * rms / np.sqrt(np.mean(x**2))).astype(np.float32)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    return np.fft.irfft(spectrum, n)


def noises(seconds: float = 5.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Steady non-speech: what a line, a room or a hold queue sounds like between turns."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 3, 5, 7))
    # Music on hold: a melody of harmonic notes with vibrato and a chord pad underneath.
    melody = np.array([262, 294, 330, 349, 392, 440, 494, 523])[(t * 4).astype(int) % 8]
    phase = 2 * np.pi * np.cumsum(melody * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / RATE
    notes = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.6 + 0.4 * np.cos(2 * np.pi * 4 * t) ** 2)
    pad = sum(np.sin(2 * np.pi * f * t) for f in (131, 165, 196))
    alsa_noise = load(ALSA / "Noise.wav")
    return {
        "white noise": _scaled(rng.standard_normal(n), 0.05),
        "pink noise": _scaled(_pink(rng, n), 0.05),
        "line hiss": _scaled(rng.standard_normal(n), 0.003),
        "mains hum": _scaled(hum, 0.1),
        "music on hold": _scaled(notes + 0.5 * pad, 0.1),
        "alsa Noise.wav": np.tile(alsa_noise, int(np.ceil(n / len(alsa_noise))))[:n],
    }


def speech() -> dict[str, np.ndarray]:
    """Speech that must open an utterance: flite and human recordings."""
    out = {
        "flite slt: account balance": flite("Can you tell me my account balance?"),
        "flite rms: call me back": flite("Please call me back tomorrow morning.", "rms"),
        "arctic bdl": load(ARCTIC),
        **{f"alsa {p.stem}": load(p) for p in (ALSA / "Front_Center.wav", ALSA / "Rear_Left.wav")},
        **{f"librivox {p.stem[-4:]}": load(p) for p in LIBRIVOX[:3]},
        **{f"cards {p.stem}": load(p) for p in CARDS[:2]},
    }
    return out


def onset_s(x: np.ndarray) -> float:
    """Where speech starts in a clean recording: the first of 50 ms all above -20 dB of its loudest
    10 ms (the LibriVox and CMU recordings have breaths and a noise floor up to -20 dB)."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    loud = (frames**2).mean(axis=1) > (frames**2).mean(axis=1).max() * 1e-2
    runs = np.convolve(loud, np.ones(5), mode="valid") == 5
    return float(np.argmax(runs)) * 0.01


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` over ``noise`` (looped or cut to its length) at ``snr_db`` (speech power over its active part)."""
    noise = np.tile(noise, int(np.ceil(len(speech) / len(noise))))[: len(speech)]
    frames = speech[: len(speech) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    active = energy[energy > energy.max() * 1e-3].mean()
    gain = np.sqrt(active / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (speech + noise * gain).astype(np.float32)


def noise_floor(x: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """``seconds`` of the recording's own background level (its quietest 100 ms) as white noise:
    a pause on a real line is never digital silence."""
    frames = x[: len(x) // 1600 * 1600].reshape(-1, 1600)
    rms = max(float(np.sqrt((frames**2).mean(axis=1)).min()), 1e-4)
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * rms).astype(np.float32)


def word_ends(x: np.ndarray) -> list[tuple[str, float]]:
    """(word, end in seconds) of each recognised word, by pocketsphinx: where to cut an utterance
    mid-sentence."""
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    ends = [(s.word, (s.end_frame + 1) / 100) for s in decoder.seg() if s.word[0] not in "<["]
    return [(re.sub(r"\(\d+\)$", "", word), end) for word, end in ends]  # "to(2)": a pronunciation variant


@dataclass
class TurnRun:
    """What a streaming session would see: endpointer events (with the audio time, in ms, at which
    each was emitted) and the turn probability at each pause."""

    events: list[tuple[int, VadEvent]] = field(default_factory=list)
    checks: list[tuple[int, float]] = field(default_factory=list)  # (pause at ms, turn probability)

    def emitted(self, kind: str) -> list[int]:
        return [at for at, e in self.events if e.kind == kind]

    def marks(self, kind: str) -> list[int]:
        return [e.ms for _, e in self.events if e.kind == kind]


def stream_turns(
    x: np.ndarray,
    policy: TurnPolicy | None,
    words: list[tuple[str, float]] | None = None,
    endpointing_ms: int = 600,
    score: Callable[[np.ndarray], float] = turn_probability,
) -> TurnRun:
    """Feed ``x`` in 20 ms frames as the session does; at each pause score the turn audio and
    resolve it at once (the session would do both in a worker thread). ``words`` (word, end in
    seconds) stand in for the recogniser's partial transcript: those ended by the pause."""
    endpointer = SileroEndpointer(endpointing_ms=endpointing_ms, policy=policy)
    run = TurnRun()
    frame = RATE // 50
    for i in range(0, len(x), frame):
        at = (i + frame) * 1000 // RATE
        for event in endpointer.process(x[i : i + frame]):
            run.events.append((at, event))
            if event.kind == "pause":
                assert policy is not None
                p = score(endpointer.turn_audio())
                run.checks.append((event.ms, p))
                said = " ".join(w for w, end in words or [] if end * 1000 <= event.ms + WINDOW_MS)
                run.events += [(at, e) for e in endpointer.resolve(event, policy.is_complete(p, said))]
    return run
