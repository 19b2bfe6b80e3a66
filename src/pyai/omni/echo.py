"""Echo gate: keep the agent's own voice, picked up by a caller's speakerphone, away from the VAD.

On a speakerphone the caller's microphone hears the agent too — late (network and playback
buffering), quieter, coloured by the room and the loudspeaker, a little distorted — and the VAD
takes it for the caller barging in, so the agent interrupts itself. :class:`EchoGate` sits between
the caller's audio and the VAD: it is told what the agent sent (:meth:`EchoGate.played`) and
cleans what the caller sends (:meth:`EchoGate.clean`), in 20 ms blocks:

1. **Delay.** Four times a second until found, then once a second, the last second of caller
   audio is cross-correlated with the audio played over the last second plus ``max_delay_ms``
   (GCC-PHAT-β, 150-3800 Hz, one FFT each). A peak 7x the correlation's RMS, found twice within
   5 ms, is the echo path's delay. Later estimates move the filter only when the echo comes
   earlier, or a whole block later (in a live room they wander over the early reflections).
2. **Cancel.** A frequency-domain adaptive filter (the multidelay block filter of Speex's echo
   canceller: 12 partitions of 20 ms from ``PRE_MS`` before the delay, proportionate steps, a
   learning rate that follows the estimated residual-to-error ratio so that double talk does not
   make it diverge, taps before the delay held at zero) subtracts its echo estimate.
3. **Gate.** The residual still holds echo: the room's tail, the loudspeaker's distortion, and
   much of every onset (the filter's taps are fitted to running speech). Per band (about a third
   of an octave) its power is predicted from the played power at each lag around the delay by a
   non-negative mix learned in the power domain (NLMS, monotone from the direct path on), plus,
   at an onset (played power 10 dB above the 100 ms before), all of the echo as a second such
   mix learned before the filter predicts it, plus 1% of the whole echo in every band for
   distortion. A block passes when bands 3 dB above prediction plus noise floor hold at least
   half of its energy and the filter's echo estimate does not explain most of it (correlation
   ρ² > 0.7) — the caller talking; otherwise it is attenuated by 60 dB (ramped; 60 ms of
   hangover after two blocks of the caller). Every model starts conservative (the sum of the
   played power over its lags) and learns in blocks without the caller: fully where the filter
   removed at least half of the energy (it only removes echo), elsewhere up only slowly, so that
   a caller taken for echo cannot teach it to swallow the caller.
4. **Before the delay is found** the same model spans every lag up to ``max_delay_ms`` on the
   unfiltered audio, and two quicker limits cap it. Each block bounds the echo path's gain at
   every lag and band (echo is no louder than the caller audio it is in; the lowest ratio seen,
   9 dB up): the caller can only loosen a bound. And a block whose caller audio is 20 dB under
   the loudest block played in the delay range is evidence that the path is weak or absent (a
   headset, or a phone that cancels its own echo: the usual case), so a ceiling on the echo,
   relative to that loudest block, falls 0.75 dB with each: from 0 dB, or from -10 dB after a
   ``skip`` (a client that sent nothing gave no evidence either way), -20 dB after ~0.5 s of such
   playback. Both rise 2 dB a second. The bounds only know the lags where something loud was
   played while the caller audio was quiet; the ceiling speaks for the rest too — an echo later
   than the playback so far — so a block that only the ceiling would pass is held 100 ms, then
   its last 500 ms are correlated with the played audio (GCC-PHAT-β at ~8 kHz): a peak 10x the
   RMS is the echo (no ceiling until the agent's turn ends), under 8x the caller (passed under
   the ceiling while they talk on), in between it is held and looked at again.

While nothing has been played for ``max_delay_ms`` + the filter's span + 200 ms, ``clean`` returns
its input untouched and costs nothing; the filter, the delay and the models are kept for the
agent's next turn. While engaged the output lags the input by up to one block only when the
caller's chunks are not whole 20 ms blocks; its length always equals the input's.

Times are counted in samples on the caller's clock: ``played`` audio is placed at the current
caller position (or right after what was played before, if that is later), so call ``played``
with each piece as it is sent and ``clean`` with each caller frame as it arrives; which comes
first within a tick does not matter. Cost while engaged: ~0.2 ms of CPU per 20 ms at 16 kHz
(~0.15 ms per block, plus ~0.5 ms per delay estimate and ~0.6 ms per check), ~0.16 ms at 8 kHz;
nothing while idle.

Measured (tests/unit/test_echo.py: flite agent speech at -20 dBFS, echo 120 or 350 ms late,
-12 dB, a room with a 150 ms noise tail, tanh clipping, -50 dBFS noise): Silero hears speech in
~80% of the echo's 32 ms windows before the gate (2-3 barge-ins in 14 s) and in none after; a
human caller at -26 dBFS (~6 dB above the echo) talking over the agent 4 s in keeps 87-91% of
their speech windows. With no echo at all, the same caller talking over the agent 0.5-1 s into
its first turn keeps 83-97% of them, their utterance opening 130-380 ms late (before the gate
learnt weak paths: 12-59%, 0.5-2.1 s late). The check finds an echo with a direct path easily
(peaks 12-35x the RMS; callers' under 7x, 9x at most); a purely diffuse one (a room with no direct
path) peaks at only 4-10x on its first 100 ms, so one that first arrives after ~0.3 s of loud
playback, or soon after a ``skip``, can get through until the delay is found (~0.5-1 s later).

Barge-in sensitivity lives here too: :func:`barge_floor_dbfs` turns the contract's
``barge_sensitivity`` into the quietest caller speech (:func:`level_dbfs`) that may interrupt the
agent while it talks.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

BLOCK_MS = 20
#: The adaptive filter starts this long before the estimated echo delay ...
PRE_MS = 20
#: ... and covers this much after it: the loudspeaker-room impulse response.
SPAN_MS = 220
#: Taps earlier than this before the estimated delay are held at zero.
SLACK_MS = 4
#: Caller audio correlated with the played audio to find the delay ...
ESTIMATE_MS = 1000
#: ... this often while the delay is unknown, then this often.
SEARCH_EVERY_MS = 250
RECHECK_EVERY_MS = 1000
#: A correlation peak this many times the correlation's RMS, found twice within AGREE_MS, is the
#: echo path's delay.
PEAK_RATIO = 7.0
AGREE_MS = 5
#: The gate stays engaged this long after the longest echo of the last played sound has died.
HOLD_MS = 200
#: Played samples quieter than this (-80 dBFS) are silence.
AUDIBLE = 1e-4
#: Internal sample scale (PCM16 units, which the filter's regularisation constants assume).
SCALE = 32768.0
#: The filter's leakage estimate (residual echo over echo estimate) is kept above this.
MIN_LEAK = 0.005
#: Band edges (Hz) of the gate's decisions, about a third of an octave apart.
BAND_EDGES = (100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700)
BAND_EDGES += (4400, 5300, 6400, 7700)
#: What the gate leaves of a block that is only echo (-60 dB).
FLOOR = 1e-3
#: A band is the caller's when its residual is MARGIN (3 dB) above the residual echo it may hold
#: plus the noise floor; a block is the caller's when such bands hold NEAR_SHARE of its energy ...
MARGIN = 2.0
NEAR_SHARE = 0.5
#: ... unless the filter's echo estimate explains more than VETO of it (squared correlation).
VETO = 0.7
#: The gate stays open this many blocks after two or more of the caller's.
HANGOVER = 3
#: Residual echo models learn with NLMS step MU: fully in blocks the filter removed at least half
#: of (ECHO_ONLY: it can only remove echo), in other blocks without the caller up by at most UP.
MU = 0.2
ECHO_ONLY = 2.0
UP = 0.25
#: Played power that rises ONSET_RISE (10 dB) above all of the ONSET_MS before it is an onset.
ONSET_MS = 100
ONSET_RISE = 10.0
#: Echo power that the loudspeaker's distortion may put in any band: a share of the whole echo's.
SPREAD = 0.01
#: Until the delay is found, each block bounds the echo path's gain at every lag and band: echo is
#: no louder than the caller audio it is in. A bound is the lowest such ratio seen, times
#: BOUND_MARGIN (9 dB: powers do not add exactly over a block). The caller only loosens a bound.
BOUND_MARGIN = 8.0
#: The bounds, and the ceiling below, rise (forget) RISE (2 dB) a second of the caller's clock.
RISE = 10 ** (2 / 10 * BLOCK_MS / 1000)
#: A block whose caller audio is EVIDENCE (20 dB) below the loudest block played in the delay
#: range (in all) is evidence of a weak echo path: the ceiling on the echo's power, over that
#: loudest block's in each band, falls DECAY (0.75 dB) with each, from 0 dB (from SKIP_PRIOR,
#: -10 dB, after a skip) to no lower than CEILING_MIN. Until then there is no ceiling.
EVIDENCE = 0.01
DECAY = 10 ** (-0.75 / 10)
SKIP_PRIOR = 0.1
CEILING_MIN = 1e-6
#: A block that the bounds would gate and the ceiling would pass, CLEAR (6 dB) above the noise
#: floor, may be an echo arriving at a lag not bounded yet (only the ceiling says it cannot be that
#: loud): it is held CHECK blocks, then the caller audio of the last CHECK_MS is correlated with the
#: played audio (GCC-PHAT-β over every lag where something was played). A peak ECHO_PEAK times the
#: correlation's RMS is the echo: the ceiling is lifted until the agent's turn ends. Under
#: CALLER_PEAK it is the caller, passed under the ceiling until RELEASE blocks go by without them.
#: In between it is held CHECK blocks more and looked at again.
CLEAR = 4.0
CHECK = 5
CHECK_MS = 500
ECHO_PEAK = 10.0
CALLER_PEAK = 8.0
RELEASE = 10
#: Band powers (of a 2N-point spectrum of N PCM16-scaled samples): a block below QUIET (about
#: -80 dBFS) is silence; the noise floor is never taken below QUIET_BAND; played audio above
#: FAR_ACTIVE in a band can echo there.
QUIET = (SCALE * 1e-4) ** 2 / 4
QUIET_BAND = QUIET / 100
FAR_ACTIVE = QUIET / 10
#: The noise floor follows the residual's minimum and rises at most ~2 dB a second.
NOISE_RISE = 10 ** (2 / 10 * BLOCK_MS / 1000)
#: ``barge_sensitivity`` levels: the quietest caller speech (dBFS, :func:`level_dbfs`) that may
#: interrupt the agent while it talks; a number names the level itself, within BARGE_DBFS_RANGE.
BARGE_FLOORS = {"low": -26.0, "normal": -35.0, "high": -45.0}
BARGE_DBFS_RANGE = (-90.0, 0.0)


def level_dbfs(samples: np.ndarray) -> float:
    """The RMS level of float samples (full scale 1.0) in dBFS; ``-inf`` for silence or none."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    return power_dbfs(float(np.mean(x * x)) if len(x) else 0.0)


def power_dbfs(power: float) -> float:
    """A mean square (full scale 1.0) in dBFS; ``-inf`` for none."""
    return 10 * math.log10(power) if power > 0 else -math.inf


def barge_floor_dbfs(value: str | float | None) -> float | None:
    """The contract's ``barge_sensitivity`` → the quietest caller speech (dBFS, as :func:`level_dbfs`
    measures it) that may interrupt the agent while it talks: ``low`` -26, ``normal`` -35, ``high``
    -45, or a level from -90 to 0 given as a number or as the profile stores it (``"-35"``,
    ``"-35dBFS"``). ``None`` (not set) is None: no floor of its own (the profile default is
    ``normal``). Anything else raises ValueError naming ``barge_sensitivity``."""
    if value is None:
        return None
    lo, hi = BARGE_DBFS_RANGE
    expected = f"barge_sensitivity: expected low, normal, high or a level in dBFS from {lo:g} to {hi:g}"
    if isinstance(value, bool):
        raise ValueError(f"{expected}, got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in BARGE_FLOORS:
            return BARGE_FLOORS[text]
        try:
            level = float(text.removesuffix("dbfs").strip())
        except ValueError:
            raise ValueError(f"{expected}, got {value!r}") from None
    elif isinstance(value, numbers.Real):
        level = float(value)
    else:
        raise ValueError(f"{expected}, got {value!r}")
    if not lo <= level <= hi:  # (NaN fails this too)
        raise ValueError(f"{expected}, got {value!r}")
    return level


class _Track:
    """Samples on an absolute sample clock, of which the last ``keep`` are kept (silence elsewhere)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.buf = np.zeros(2 * keep, dtype=np.float32)
        self.start = 0  # absolute index of buf[0]
        self.n = 0

    @property
    def end(self) -> int:
        return self.start + self.n

    def write(self, at: int, x: np.ndarray) -> None:
        """``x`` from absolute index ``at`` (at or after :attr:`end`; a gap is silence)."""
        gap = at - self.end
        total = gap + len(x)
        if total >= self.keep:
            self.buf[: self.keep] = 0
            tail = x[-self.keep :]
            self.buf[self.keep - len(tail) : self.keep] = tail
            self.start, self.n = at + len(x) - self.keep, self.keep
            return
        if self.n + total > len(self.buf):
            old = self.keep - total
            self.buf[:old] = self.buf[self.n - old : self.n]
            self.start += self.n - old
            self.n = old
        self.buf[self.n : self.n + gap] = 0
        self.buf[self.n + gap : self.n + total] = x
        self.n += total

    def erase(self, a: int, b: int) -> None:
        """Silence from ``a`` to ``b`` (where kept)."""
        lo, hi = max(a, self.start), min(b, self.end)
        if lo < hi:
            self.buf[lo - self.start : hi - self.start] = 0

    def read(self, a: int, b: int) -> np.ndarray:
        out = np.zeros(b - a, dtype=np.float64)
        lo, hi = max(a, self.start), min(b, self.end)
        if lo < hi:
            out[lo - a : hi - a] = self.buf[lo - self.start : hi - self.start]
        return out


class _EchoPower:
    """Per band, the (residual) echo's power as a non-negative mix of the played power at each lag."""

    def __init__(self, lags: int, bands: int) -> None:
        # Every lag at full weight: the sum over the lags is above the loudest played block.
        self.mix = np.ones((lags, bands))

    def predict(self, played: np.ndarray) -> np.ndarray:
        """``played`` (lags x bands) → the echo power per band."""
        return np.einsum("lb,lb->b", self.mix, played)

    def learn(
        self,
        played: np.ndarray,
        target: np.ndarray,
        predicted: np.ndarray,
        up: float,
        monotone: slice | None = None,
    ) -> None:
        """One NLMS step towards ``target``; where the target is above the prediction, ``up`` times
        as long (and with ``up`` < 1 by at most that share of the prediction). Over the lags in
        ``monotone`` (from the direct path on) no lag may weigh more than an earlier one: echo comes
        first and loudest, and a fit that puts it later would miss onsets."""
        norm = np.einsum("lb,lb->b", played, played)
        use = played.sum(axis=0) > FAR_ACTIVE
        miss = np.where(use, target - predicted, 0.0)
        if up != 1.0:  # the block may hold the caller: up by at most a factor (1 + MU * up)
            miss = np.where(miss > 0, up * np.minimum(miss, predicted), miss)
        self.mix += played * (MU * miss / (norm + QUIET_BAND**2))
        np.maximum(self.mix, 0.0, out=self.mix)
        if monotone is not None:
            lags = self.mix[monotone]
            lags[:] = np.maximum.accumulate(lags[::-1], axis=0)[::-1]

    def shift(self, rows: int) -> None:
        """The lags moved ``rows`` later (earlier if negative): keep what was learned of each lag;
        lags not learned yet start conservative again."""
        mix = np.ones_like(self.mix)
        lags = len(mix)
        if 0 <= rows < lags:
            mix[: lags - rows] = self.mix[rows:]
        elif 0 < -rows < lags:
            mix[-rows:] = self.mix[: lags + rows]
        self.mix = mix


class EchoGate:
    """Removes the agent's echo from one call's caller audio before the VAD hears it."""

    def __init__(self, rate: int, *, max_delay_ms: int = 800) -> None:
        if rate < 8000 or rate * BLOCK_MS % 1000:
            raise ValueError(f"rate: expected a sample rate of at least 8000 Hz, a multiple of 50 Hz, got {rate}")
        if not 0 < max_delay_ms <= 2000:
            raise ValueError(f"max_delay_ms: expected 1 to 2000, got {max_delay_ms}")
        self.rate = rate
        self.block = n = rate * BLOCK_MS // 1000
        self.bins = n + 1
        self.max_delay = rate * max_delay_ms // 1000
        self.parts = p = math.ceil((PRE_MS + SPAN_MS) / BLOCK_MS)
        self.pre = rate * PRE_MS // 1000
        self.slack = rate * SLACK_MS // 1000
        self.window = rate * ESTIMATE_MS // 1000
        # (with a second to spare for audio sent ahead of time)
        self.far = _Track(self.window + self.max_delay + (p + 4) * n + rate)
        self.mic = _Track(self.window)  # raw caller audio, for the delay estimator
        self.mic_since = 0  # ... recorded without a gap since this caller sample
        self.near_pos = 0  # caller samples received
        self.engaged_until = 0  # caller sample index up to which the gate runs
        self.running = False
        self.inbuf = np.zeros(0, dtype=np.float32)  # caller audio short of a whole block
        self.outq = np.zeros(0, dtype=np.float32)  # cleaned audio not yet returned
        self.block_start = 0  # caller sample index of the next block
        # delay
        self.delay: int | None = None  # echo path delay in samples, once found
        self.offset = 0  # lag of the filter's first tap, in samples (a multiple of the block)
        self.candidate: int | None = None
        self.next_estimate = 0
        # adaptive filter (MDF)
        self.W = np.zeros((p, self.bins), dtype=np.complex128)
        self.X = np.zeros((p, self.bins), dtype=np.complex128)
        self.power = np.zeros(self.bins)
        prop = 0.7 * math.exp(-2.4 / p) ** np.arange(p)
        self.prop = 0.8 * prop / prop.sum()
        self.Eh = np.zeros(self.bins)
        self.Yh = np.zeros(self.bins)
        self.Pey = 0.0
        self.Pyy = 1.0
        self.sum_adapt = 0.0
        self.adapted = False
        self.blocks = 0
        self.spec_average = n / rate
        self.beta0 = 2.0 * n / rate
        self.beta_max = 0.5 * n / rate
        # gate: bands, the played power per band at every lag the echo may have, the residual model
        freqs = np.arange(self.bins) * rate / (2 * n)
        top = 0.48 * rate
        edges = [f for f in BAND_EDGES if f < top] + [top]
        pairs = zip(edges[:-1], edges[1:], strict=True)
        self.bands = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in pairs], axis=1).astype(np.float64)
        nb = self.bands.shape[1]
        self.lags = (self.max_delay + p * n) // n + 1
        self.far_bands = np.zeros((self.lags, nb))
        self.far_head = 0  # row of far_bands holding the current block
        self.wide = _EchoPower(self.lags, nb)  # while the delay is unknown: every lag, no filter
        self.bound = np.ones((self.lags, nb))  # ... the bound on its gain at each lag
        self.limit = np.zeros(nb)  # ... the echo power they allow in this block
        self.ceiling = math.inf  # ... its power over the loudest lag's, at most
        self.aged_at = 0  # caller sample index up to which the bounds and the ceiling have risen
        self.check = 0  # blocks held by the current check (0: none)
        self.released = 0  # blocks left in which the caller passes under the ceiling
        self.echo_heard = False  # a check found the echo in this agent turn
        self.model = _EchoPower(p + 1, nb)  # at the delay, after the filter
        self.echo = _EchoPower(p + 1, nb)  # ... and before it (the echo path)
        self.onset_lags = ONSET_MS // BLOCK_MS
        self.noise = np.full(nb, np.inf)
        self.smooth = np.zeros(nb)
        self.gain = 1.0
        self.run = 0
        self.hang = 0
        # statistics, for tests and logs
        self.blocks_gated = 0
        self.blocks_passed = 0
        self.checks = 0
        self.checks_echo = 0  # (checks that found the echo)
        self.check_peak = 0.0  # the last check's correlation peak over its RMS

    # ---- input -------------------------------------------------------------------------
    def played(self, samples: np.ndarray) -> None:
        """Agent audio as it is sent to the caller (float32 at ``rate``, in order)."""
        x = np.asarray(samples, dtype=np.float32).ravel()
        if not len(x):
            return
        at = max(self.far.end, self.near_pos)
        self.far.write(at, x)
        if float(np.max(np.abs(x))) > AUDIBLE:
            tail = self.max_delay + self.parts * self.block + self.rate * HOLD_MS // 1000
            self.engaged_until = max(self.engaged_until, at + len(x) + tail)

    def clean(self, samples: np.ndarray) -> np.ndarray:
        """Caller audio (float32 at ``rate``) → the same length of audio for the VAD, the agent's echo
        removed or suppressed. Returns ``samples`` itself while nothing was played recently."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            x = x.ravel()
        if self.near_pos >= self.engaged_until:
            if self.running:
                self._stop()
            self.near_pos += len(x)
            return x
        if not self.running:
            self._start(len(x))
            if self.mic.end < self.near_pos:
                self.mic_since = self.near_pos
        self.mic.write(self.near_pos, x)
        self.near_pos += len(x)
        n = self.block
        buf = np.concatenate([self.inbuf, x]) if len(self.inbuf) else x
        count = len(buf) // n
        pieces = [self.outq]
        for i in range(count):
            pieces.append(self._block(buf[i * n : (i + 1) * n]))
            self.block_start += n
        self.inbuf = buf[count * n :].copy()
        if self.near_pos >= self.next_estimate:
            self._estimate()
        done = np.concatenate(pieces) if len(pieces) > 1 else self.outq
        if len(done) < len(x):  # a chunk that ends mid-block: the output falls behind a little
            done = np.concatenate([np.zeros(len(x) - len(done), dtype=np.float32), done])
        self.outq = done[len(x) :]
        return done[: len(x)]

    def skip(self, samples: int) -> None:
        """The caller sent nothing for ``samples`` (a client that does not stream silence, or a
        push-to-talk one): move the caller clock on to real time. What was played meanwhile is
        forgotten: a client that sent no audio was not listening with an open microphone, and
        judging its next words against all of it would mute a caller who talks over the agent. Until
        the delay is found, the echo is then taken to be at most 10 dB under the loudest block
        played since (SKIP_PRIOR), less as the caller audio shows it weaker."""
        if self.running:
            self._stop()
        self.far.erase(self.near_pos, self.near_pos + samples)
        self.near_pos += samples
        self._age(self.near_pos)
        self.ceiling = min(self.ceiling, SKIP_PRIOR)

    @property
    def delay_ms(self) -> float | None:
        """The echo path delay found, in ms (None until found)."""
        return None if self.delay is None else self.delay * 1000 / self.rate

    @property
    def engaged(self) -> bool:
        """Whether agent audio was played recently enough that its echo may still be arriving."""
        return self.near_pos < self.engaged_until

    # ---- internals -----------------------------------------------------------------------
    def _start(self, chunk: int) -> None:
        self.running = True
        n = self.block
        self.block_start = self.near_pos
        self.inbuf = np.zeros(0, dtype=np.float32)
        # Chunks of whole blocks come out at once; others one block late (so the output is never short).
        self.outq = np.zeros(0 if chunk % n == 0 else n - 1, dtype=np.float32)
        self.next_estimate = min(self.next_estimate, self.near_pos + self.rate * SEARCH_EVERY_MS // 1000)
        self._reload_far()
        for lag in range(self.lags - 1, 0, -1):
            self._push_far(self.block_start - lag * n)
        self.gain, self.run, self.hang = 1.0, 0, 0
        self.check = self.released = 0

    def _stop(self) -> None:
        self.running = False
        self.echo_heard = False
        self.inbuf = self.outq = np.zeros(0, dtype=np.float32)

    def _reload_far(self) -> None:
        """The filter's view of the played audio before the next block (after a gap or a new delay)."""
        n, p = self.block, self.parts
        s = self.block_start - self.offset
        seg = self.far.read(s - (p + 1) * n, s) * SCALE
        frames = np.lib.stride_tricks.sliding_window_view(seg, 2 * n)[::n][::-1]
        self.X[:] = np.fft.rfft(frames[:p], norm="forward")
        # The filter's step is normalised by the played power: start it from what is in view.
        self.power = np.maximum(self.power, (self.X.real**2 + self.X.imag**2).mean(axis=0))

    def _push_far(self, at: int) -> None:
        """The played power per band of the block at caller-sample index ``at`` (the echo of lag 0)."""
        n = self.block
        self.far_head = (self.far_head + 1) % self.lags
        spec = np.fft.rfft(self.far.read(at, at + n) * SCALE, 2 * n, norm="forward")
        self.far_bands[self.far_head] = (spec.real**2 + spec.imag**2) @ self.bands

    def _block(self, d32: np.ndarray) -> np.ndarray:
        n = self.block
        self._push_far(self.block_start)
        d = d32.astype(np.float64) * SCALE
        if self.delay is None:
            spec = np.fft.rfft(d, 2 * n, norm="forward")
            return self._gate(d, (spec.real**2 + spec.imag**2) @ self.bands, None, False, False)
        e, err, mic = self._cancel(d)
        y = d - e
        dd, yy, dy = float(d @ d), float(y @ y), float(d @ y)
        # Most of the block is echo when the filter's estimate explains most of it.
        echo_like = dy > 0 and dy * dy > VETO * dd * yy
        return self._gate(e, err @ self.bands, mic @ self.bands, dd > ECHO_ONLY * float(e @ e), echo_like)

    def _cancel(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One block of the adaptive filter: the residual, its power spectrum and the caller audio's."""
        n = self.block
        s = self.block_start - self.offset
        xs = self.far.read(s - n, s + n) * SCALE
        self.X[1:] = self.X[:-1]
        self.X[0] = np.fft.rfft(xs, norm="forward")
        Y = np.einsum("pk,pk->k", self.W, self.X)
        y = np.fft.irfft(Y, 2 * n, norm="forward")[n:]
        e = d - y
        pad = np.zeros((3, 2 * n))
        pad[0, n:] = e
        pad[1, n:] = y
        pad[2, n:] = d
        spectra = np.fft.rfft(pad, norm="forward")
        E = spectra[0]
        Rf = E.real**2 + E.imag**2
        Yf = spectra[1].real ** 2 + spectra[1].imag ** 2
        Xf = self.X[0].real ** 2 + self.X[0].imag ** 2
        x_now = xs[n:]
        Sxx = float(x_now @ x_now)
        See = float(e @ e) + n * 100 / 64
        Syy = float(y @ y)
        Sey = float(e @ y)

        ss = 0.35 / self.parts
        self.power = (1 - ss) * self.power + 1 + ss * Xf
        # Leakage: how the residual's power follows the echo estimate's (a regression on their
        # fluctuations, which near-end speech does not bias); it sets the learning rate.
        eh = Rf - self.Eh
        yh = Yf - self.Yh
        pey = float(eh @ yh)
        pyy = math.sqrt(float(yh @ yh))
        self.Eh = (1 - self.spec_average) * self.Eh + self.spec_average * Rf
        self.Yh = (1 - self.spec_average) * self.Yh + self.spec_average * Yf
        if pyy > 0:
            alpha = min(self.beta0 * Syy, self.beta_max * See) / See
            self.Pey = (1 - alpha) * self.Pey + alpha * pey / pyy
            self.Pyy = max((1 - alpha) * self.Pyy + alpha * pyy, 1.0)
        leak = min(max(self.Pey / self.Pyy, MIN_LEAK), 1.0)
        # Learning rate: the residual-to-error ratio (small in double talk).
        rer = (0.0001 * Sxx + 3.0 * leak * Syy) / See
        rer = min(max(rer, Sey * Sey / (1 + See * Syy)), 0.5)
        if not self.adapted and self.sum_adapt > 1.0:
            self.adapted = True
        step = None
        if self.adapted:
            r = np.minimum(leak * Yf, 0.5 * (Rf + 1))
            r = 0.7 * r + 0.3 * rer * (Rf + 1)
            step = r / ((Rf + 1) * (self.power + 10))
        elif Sxx > n * 1000 / 64:
            rate = min(0.25 * Sxx, 0.25 * See) / See
            step = np.full(self.bins, rate) / (self.power + 10)
            self.sum_adapt += rate
        if step is not None and float(d @ d) > n:  # (a muted microphone teaches nothing)
            self._adjust_prop()
            self.W += (self.prop[:, None] * step[None, :]) * (np.conj(self.X) * E[None, :])
            self._constrain()
        self.blocks += 1
        return e, Rf, spectra[2].real ** 2 + spectra[2].imag ** 2

    def _adjust_prop(self) -> None:
        norms = np.sqrt(1 + (self.W.real**2 + self.W.imag**2).sum(axis=1))
        norms += 0.1 * norms.max()
        self.prop = 0.99 * norms / (1 + norms.sum())

    def _constrain(self) -> None:
        """Keep each partition's impulse response to its own block (AUMDF: the partitions up to the
        direct path every block, the others in turn) and nothing before the direct path: echo
        cannot come earlier, and taps there only add noise (heard at every onset)."""
        n, p = self.block, self.parts
        first = max(0, self.delay - self.offset - self.slack) if self.delay is not None else 0
        rows = list(range(min(first // n + 1, p)))
        if p > 1:
            turn = 1 + self.blocks % (p - 1)
            if turn not in rows:
                rows.append(turn)
        w = np.fft.irfft(self.W[rows], 2 * n, norm="forward")
        w[:, n:] = 0
        for i, row in enumerate(rows):
            w[i, : max(0, min(first - row * n, n))] = 0
        self.W[rows] = np.fft.rfft(w, norm="forward")

    def _gate(
        self, e: np.ndarray, err: np.ndarray, mic: np.ndarray | None, cancelled: bool, echo_like: bool
    ) -> np.ndarray:
        """Pass the block if the caller is in it, else attenuate it. ``err`` is its residual power per
        band, ``mic`` the caller audio's before the filter (None while the delay is unknown);
        ``cancelled``: the filter removed most of its energy, ``echo_like``: its echo estimate explains
        most of the block (both: it is mostly echo)."""
        self._age(self.block_start)
        model, played, monotone, predicted, explained = self._predict()
        self.smooth = 0.7 * self.smooth + 0.3 * err
        self.noise = np.maximum(np.minimum(self.noise * NOISE_RISE, self.smooth), QUIET_BAND)
        total = float(err.sum())
        hot = err > MARGIN * (explained + self.noise)
        near = total > QUIET and float(err[hot].sum()) >= NEAR_SHARE * total and not echo_like
        if mic is None and total > QUIET:  # (a muted microphone is no evidence)
            near = self._unbounded(played, err, total, near)
        if total > QUIET and (cancelled or not near):  # (a muted microphone teaches nothing)
            up = 1.0 if cancelled else UP
            model.learn(played, np.maximum(err - self.noise, 0.0), predicted, up, monotone)
            if mic is not None:
                target = np.maximum(mic - self.noise, 0.0)
                self.echo.learn(played, target, self.echo.predict(played), up, monotone)
        self.run = self.run + 1 if near else 0
        if self.run >= 2:
            self.hang = HANGOVER
        elif not near and self.hang:
            self.hang -= 1
            near = True
        self.blocks_passed += near
        self.blocks_gated += not near
        target = 1.0 if near else FLOOR
        ramp = np.linspace(self.gain, target, len(e) + 1)[1:] if target != self.gain else target
        self.gain = target
        return (e * (ramp / SCALE)).astype(np.float32)

    def _age(self, at: int) -> None:
        """Let the bounds and the ceiling rise (forget) up to caller sample index ``at``."""
        blocks = (at - self.aged_at) / self.block
        if blocks > 0:
            self.aged_at = at
            rise = RISE**blocks
            np.minimum(self.bound * rise, 1.0, out=self.bound)
            if self.ceiling <= 1.0:
                self.ceiling = min(self.ceiling * rise, 1.0)

    def _unbounded(self, played: np.ndarray, err: np.ndarray, total: float, near: bool) -> bool:
        """Before the delay is found: whether to pass the block (``near``: it passes against the
        bounds), then what it teaches the bounds and the ceiling."""
        loudest = played.max(axis=0)
        if not near and self.ceiling <= 1.0:
            limit = np.minimum(self.limit, self.ceiling * loudest)
            hot = err > MARGIN * (limit + SPREAD * limit.sum() + self.noise)
            if float(err[hot].sum()) < NEAR_SHARE * total:
                self.released = max(self.released - 1, 0)
            elif self.released:
                self.released = RELEASE
                near = True
            elif total < CLEAR * float(self.noise.sum()):
                near = True  # (at the noise floor: nothing to check)
            elif not self.check:
                self.check = 1
                self.checks += 1
        if self.check:
            self.check += 1
            if self.check > CHECK:
                self._check(played)
        if not self.echo_heard and total < EVIDENCE * float(loudest.sum()):
            self.ceiling = max(min(self.ceiling, 1.0) * DECAY, CEILING_MIN)
        bound = BOUND_MARGIN * np.maximum(err, QUIET_BAND) / np.maximum(played, QUIET_BAND)
        np.minimum(self.bound, bound, out=self.bound)
        return near

    def _check(self, played: np.ndarray) -> None:
        """The last block of a check: is the caller audio of the last CHECK_MS a delayed copy of the
        played audio? (GCC-PHAT-β at about 8 kHz, as the delay estimate, over the lags where something
        was played.)"""
        self.check = 0
        n, q = self.block, max(1, self.rate // 8000)
        w, m = self.rate * CHECK_MS // 1000 // q * q, self.lags * n // q * q
        end = self.block_start + n
        near = self.mic.read(end - w, end).reshape(-1, q).mean(axis=1)
        far = self.far.read(end - w - m, end).reshape(-1, q).mean(axis=1)
        w, m = w // q, m // q
        size = 1 << (w + m - 1).bit_length()
        cross = np.conj(np.fft.rfft(near, size)) * np.fft.rfft(far, size)
        rate = self.rate / q
        lo, hi = int(150 * size / rate), int(min(3800, 0.48 * rate) * size / rate)
        weight = np.zeros(len(cross))
        weight[lo:hi] = 1 / (np.abs(cross[lo:hi]) + 1e-12) ** 0.8
        corr = np.abs(np.fft.irfft(cross * weight, size)[: m + 1])[::-1]  # by delay, 0 to m
        live = (played.sum(axis=1) > FAR_ACTIVE)[np.minimum(np.arange(m + 1) * q // n, self.lags - 1)]
        corr = corr[live] if live.any() else corr
        self.check_peak = peak = float(corr.max()) / max(math.sqrt(float(np.mean(corr**2))), 1e-30)
        if peak >= ECHO_PEAK:
            self.checks_echo += 1
            self.echo_heard = True
            self.ceiling = math.inf
        elif peak < CALLER_PEAK:
            self.released = RELEASE
        else:
            self.check = 1  # (not clear yet: hold on, and look again)

    def _predict(self) -> tuple[_EchoPower, np.ndarray, slice | None, np.ndarray, np.ndarray]:
        """The residual model in use, the played power at its lags, the lags that must be monotone, its
        prediction, and all the residual echo power the block may hold per band (the prediction,
        onsets, distortion)."""
        if self.delay is None:
            played = self.far_bands[(self.far_head - np.arange(self.lags)) % self.lags]
            predicted = self.wide.predict(played)
            self.limit = np.minimum(predicted, np.einsum("lb,lb->b", self.bound, played))
            return self.wide, played, None, predicted, self.limit + SPREAD * self.limit.sum()
        n, p = self.block, self.parts
        lags = np.arange(self.offset // n, self.offset // n + p + 1)
        played = self.far_bands[(self.far_head - lags) % self.lags]
        direct = min(max(0, (self.delay - self.offset) // n), p)
        predicted = self.model.predict(played)
        # An onset: played power in the last ONSET_MS well above any in the ONSET_MS before. The
        # filter cancels little of it (its taps are fitted to running speech, in which adjacent lags
        # stand in for each other) until the echo's tail has caught up, so its residual is taken to
        # be all of its echo, as the echo path (learned from the caller audio before the filter)
        # predicts it.
        r = self.onset_lags
        recent = played[direct : direct + r].max(axis=0)
        before = played[direct + r : direct + 2 * r].max(axis=0, initial=0.0)
        onset = np.maximum(recent - ONSET_RISE * before, 0.0) / np.maximum(recent, QUIET_BAND)
        # The loudspeaker's distortion spreads some of the echo over every band.
        explained = predicted + onset * self.echo.predict(played) + SPREAD * predicted.sum()
        return self.model, played, slice(direct, p + 1), predicted, explained

    def _estimate(self) -> None:
        """Look for the echo delay in the last second of caller audio."""
        every = SEARCH_EVERY_MS if self.delay is None else RECHECK_EVERY_MS
        self.next_estimate = self.near_pos + self.rate * every // 1000
        w, m = self.window, self.max_delay
        end = self.near_pos
        near = self.mic.read(end - w, end)
        far = self.far.read(end - w - m, end)
        if end - self.mic_since < w // 2 or np.count_nonzero(np.abs(far) > AUDIBLE) < w // 2:
            return  # too little to go on: a spurious peak could stand out
        size = 1 << (w + m - 1).bit_length()
        cross = np.conj(np.fft.rfft(near, size)) * np.fft.rfft(far, size)
        lo, hi = int(150 * size / self.rate), int(3800 * size / self.rate)
        weight = np.zeros(len(cross))
        weight[lo:hi] = 1 / (np.abs(cross[lo:hi]) + 1e-12) ** 0.8
        corr = np.abs(np.fft.irfft(cross * weight, size)[: m + 1])
        peak = int(np.argmax(corr))
        ratio = float(corr[peak] / (np.sqrt(np.mean(corr**2)) + 1e-30))
        if ratio < PEAK_RATIO:
            self.candidate = None
            return
        found = m - peak
        agreed = self.candidate is not None and abs(found - self.candidate) <= self.rate * AGREE_MS // 1000
        self.candidate = found
        if agreed:
            self._set_delay(found)

    def _set_delay(self, delay: int) -> None:
        """A delay found twice. An earlier one moves the filter's start (echo before it would be cut
        off); a later one only if the filter's first block would be wasted, so that estimates
        wandering by a few ms over a live room's early reflections do not disturb the filter."""
        n = self.block
        if self.delay is not None and self.delay <= delay < self.delay + self.pre:
            return
        offset = max(0, (delay - self.pre) // n * n)
        first_lock = self.delay is None
        self.delay = delay
        if offset == self.offset and not first_lock:
            return
        shift = (offset - self.offset) // n  # partitions the echo moved towards the filter's start
        W = np.zeros_like(self.W)
        if 0 < shift < self.parts:
            W[: self.parts - shift] = self.W[shift:]
        elif 0 < -shift < self.parts:
            W[-shift:] = self.W[: self.parts + shift]
        self.W = W
        if not first_lock:
            self.model.shift(shift)
            self.echo.shift(shift)
        self.offset = offset
        self._reload_far()
