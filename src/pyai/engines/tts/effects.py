"""Voice reshaping with the WORLD vocoder (pyworld): formant (vocal-tract) and intonation changes.

WORLD splits speech into F0, spectral envelope and aperiodicity; scaling the envelope's
frequency axis moves the formants without touching pitch, and scaling log-F0 around its mean
widens or flattens intonation. A 10 ms frame period keeps it near 30 ms per second of audio.

Time to first audio matters more than total time, so the vocoder works on a sentence piece by
piece while flite is still making the rest of it, a short first piece first. Pieces are cut at
quiet frames, analysed with context on both sides and joined by a one-frame cross-fade, so the
joins are inaudible. The silence flite puts before each sentence (150–400 ms) needs no reshaping
and is passed straight through, so it plays while the first spoken piece is made. Intonation is
scaled around the voice's own mean pitch (known before any audio exists), not the sentence's, so
every piece agrees and sentences stay consistent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyworld as pw

FRAME_PERIOD_MS = 10.0
#: Where the first cut may fall (seconds): short enough to leave quickly, long enough to be worth it.
FIRST_CUT_S = (0.3, 0.6)
#: Where each later cut may fall, measured from the previous one.
NEXT_CUT_S = (1.0, 1.6)
#: Frames analysed on each side of a piece, so F0 and envelope windows (up to ~4 pitch periods) see real signal.
CONTEXT_FRAMES = 7
#: The F0 search band around the input's known centre. flite pushed low (slt at ~107 Hz) makes
#: speech whose pitch an unbounded search often reads an octave up, and resynthesising that
#: error raised one voice's median pitch from 107 to 154 Hz. flite's intonation stays within
#: 0.55-1.75x of its centre (measured on all four base voices).
F0_SEARCH_BAND = (0.5, 1.8)
#: Frames quieter than this (RMS, about -55 dBFS) before the first speech are passed through as they are.
SILENCE_RMS = 0.0018
#: Frames before the speech onset that are still reshaped, so its attack is analysed with context.
ONSET_MARGIN_FRAMES = 3
#: Peaks above this are softly limited (a piece cannot know the sentence's peak ahead of time).
LIMIT = 0.9


def _warp_envelope(sp: np.ndarray, ratio: float) -> np.ndarray:
    """Stretch the envelope along frequency by ``ratio`` (> 1 raises formants)."""
    bins = sp.shape[1]
    source = np.arange(bins) / ratio
    out = np.empty_like(sp)
    for i in range(sp.shape[0]):
        out[i] = np.interp(source, np.arange(bins), sp[i], right=sp[i, -1])
    return out


def _target_f0(f0: np.ndarray, center_hz: float, pitch_shift: float, pitch_range: float) -> np.ndarray:
    """Scale intonation around ``center_hz`` in log-F0, then shift by ``pitch_shift`` semitones."""
    out = f0.copy()
    voiced = out > 0
    if abs(pitch_range - 1.0) > 1e-3 and voiced.any():
        center = np.log(center_hz)
        out[voiced] = np.exp(center + (np.log(out[voiced]) - center) * pitch_range)
    if pitch_shift:
        out[voiced] *= 2 ** (pitch_shift / 12)
    return out


def _limit(y: np.ndarray) -> np.ndarray:
    """Soft-limit peaks above ``LIMIT`` towards 1.0; transparent below it."""
    over = np.abs(y) > LIMIT
    if over.any():
        head = 1.0 - LIMIT
        y = y.copy()
        y[over] = np.sign(y[over]) * (LIMIT + head * np.tanh((np.abs(y[over]) - LIMIT) / head))
    return y


class _Buffer:
    """The sentence so far: chunks appended as they arrive, read by frame."""

    def __init__(self, chunks: Iterable[np.ndarray], total: int, hop: int) -> None:
        self._chunks, self.hop = iter(chunks), hop
        self.x = np.zeros(total, np.float64)
        self.filled = 0

    def upto(self, end: int) -> np.ndarray:
        """Samples [0, end), waiting for flite as needed."""
        end = min(end, len(self.x))
        while self.filled < end and (chunk := next(self._chunks, None)) is not None:
            n = min(len(chunk), len(self.x) - self.filled)
            self.x[self.filled : self.filled + n] = chunk[:n]
            self.filled += n
        return self.x[:end]

    def onset_frame(self, frames: int) -> int:
        """The first frame louder than ``SILENCE_RMS``, reading only as far as it."""
        hop = self.hop
        for i in range(frames - 1):
            frame = self.upto((i + 1) * hop)[i * hop :]
            if np.sqrt(np.square(frame).mean()) > SILENCE_RMS:
                return i
        return frames - 1

    def quietest_frame(self, lo: int, hi: int) -> int:
        hop = self.hop
        frames = self.upto(hi * hop)[lo * hop :].reshape(-1, hop)
        return lo + int(np.argmin(np.square(frames).sum(axis=1)))


def _cut_after(buf: _Buffer, start: int, frames: int, window: tuple[float, float], per_s: float) -> int:
    """The next piece boundary after ``start``: the quietest frame of ``window``, or the end."""
    lo, hi = start + int(window[0] * per_s), start + int(window[1] * per_s)
    if hi >= frames - int(window[0] * per_s):
        return frames - 1
    return buf.quietest_frame(lo, hi)


def reshape_stream(
    chunks: Iterable[np.ndarray],
    total: int,
    rate: int,
    *,
    center_hz: float,
    pitch_shift: float = 0.0,
    formant_shift: float = 1.0,
    pitch_range: float = 1.0,
) -> Iterator[np.ndarray]:
    """Shift pitch (semitones), scale intonation range around ``center_hz`` and move formants.

    ``chunks`` is the sentence as it is being made, ``total`` samples in all; yields consecutive
    pieces, exactly ``total`` samples in all, each as soon as the audio it needs has arrived.
    """
    hop = rate * FRAME_PERIOD_MS / 1000
    if total < rate // 20 or hop != int(hop):
        yield from chunks
        return
    buf = _Buffer(chunks, total, int(hop))
    hop = buf.hop
    frames = total // hop + 1  # as WORLD counts them: one at t=0 and one per hop after
    per_s = 1000 / FRAME_PERIOD_MS
    ramp = np.linspace(0.0, 1.0, hop, endpoint=False)
    window, tail, emitted = FIRST_CUT_S, None, 0
    if (start := max(0, buf.onset_frame(frames) - ONSET_MARGIN_FRAMES)) > 0:
        emitted = start * hop
        yield buf.x[:emitted].astype(np.float32)
        tail = buf.upto(emitted + hop)[emitted:]
    while start < frames - 1:
        end = _cut_after(buf, start, frames, window, per_s)
        window = NEXT_CUT_S
        last = min(end + 1, frames - 1)  # one frame past the cut, to cross-fade into the next piece
        first = max(0, start - CONTEXT_FRAMES)
        seg = buf.upto((last + CONTEXT_FRAMES) * hop)[first * hop :]
        f0, t = pw.dio(
            seg,
            rate,
            frame_period=FRAME_PERIOD_MS,
            speed=4,  # same F0, ~8x faster
            f0_floor=center_hz * F0_SEARCH_BAND[0],
            f0_ceil=center_hz * F0_SEARCH_BAND[1],
        )
        f0 = pw.stonemask(seg, f0, t, rate)
        piece = slice(start - first, last - first + 1)
        f0, t = f0[piece], t[piece]
        sp = pw.cheaptrick(seg, f0, t, rate)
        ap = pw.d4c(seg, f0, t, rate)
        if abs(formant_shift - 1.0) > 1e-3:
            sp = _warp_envelope(sp, formant_shift)
        y = pw.synthesize(_target_f0(f0, center_hz, pitch_shift, pitch_range), sp, ap, rate, FRAME_PERIOD_MS)
        if tail is not None:
            y[:hop] = y[:hop] * ramp + tail * (1.0 - ramp)
        body_len = (end - start) * hop if end < frames - 1 else total - emitted
        body, tail = np.pad(y[:body_len], (0, max(0, body_len - len(y)))), y[body_len : body_len + hop]
        tail = np.pad(tail, (0, hop - len(tail)))
        emitted += body_len
        yield _limit(body).astype(np.float32)
        start = end
