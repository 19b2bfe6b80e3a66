"""Telephone-band (narrowband) audio in front of Whisper: found from its spectrum, heard with a
lower VAD threshold.

8 kHz audio (G.711 calls, 8 kHz WAV/MP3 uploads, call recordings later resampled) reaches Whisper
upsampled to 16 kHz with nothing at all above 4 kHz. The Silero VAD in front of Whisper
(faster-whisper's ``vad_filter``, there so silence and noise give no text) gives such speech lower
probabilities than the same speech at 16 kHz, so at its default threshold of 0.5 it took weak
onsets and short words for silence: "[eight of spades] four of clubs", "[I am] sorry, that's not
a valid extension", "hours" and "is" → nothing, and a cut "Tuesday" → "a few days". For
narrowband audio the threshold is ``VAD_THRESHOLD`` (0.35) instead.

Measured in-process on the whole 572-recording corpus (tests/corpus.py) as 8 kHz µ-law, errors
of 3,399 words, the server's other settings unchanged (2026-11-26): 198 (5.8%) at 0.5, 187
(5.5%) at 0.35 (8 recordings better, 2 worse), 183 on the 353 most affected at 0.25, and 181
there with the VAD off, which would let noise through. Tried and not kept: white noise at 4-8 kHz
at -60 dBFS to fill the empty band (182 of 198 on the 353, but 10 new errors on the recordings
that had none: 195 in all) and the band mirrored from 0-4 kHz (186 on the 353). With 0.35 the
noise set of tests/vad_audio.py (white, pink, hiss, hum, music on hold, ALSA's Noise.wav) and
digital silence, each 10 s as µ-law, still give no text. Wideband audio is decoded as before.

:func:`is_narrowband` decides from the audio, not from a sample rate, so telephone audio that
arrives as a 16 or 44.1 kHz file is treated the same: the energy at 4.2-7.8 kHz is under
``NARROWBAND_DB`` of that at 0.1-3.8 kHz. On the corpus µ-law audio measured -97 dB at most and
the 16 kHz recordings -59 dB at least. Digital silence has no spectrum and counts as wideband.
"""

from __future__ import annotations

import numpy as np

from pyai.engines.stt.base import RATE

#: High band over low band (power) under which audio counts as telephone-band.
NARROWBAND_DB = -80.0
#: faster-whisper's VAD speech threshold for narrowband audio (its default, for wideband, is 0.5).
VAD_THRESHOLD = 0.35
_FRAME = 512
_FRAMES_PER_BLOCK = 2048  # 1 M samples of spectrum at a time


def high_band_db(samples: np.ndarray) -> float | None:
    """Power at 4.2-7.8 kHz relative to 0.1-3.8 kHz in dB, or None when there is none below."""
    n = len(samples) // _FRAME
    if n == 0:
        return None
    freqs = np.fft.rfftfreq(_FRAME, 1 / RATE)
    low, high = (freqs >= 100) & (freqs <= 3800), (freqs >= 4200) & (freqs <= 7800)
    window = np.hanning(_FRAME).astype(np.float32)
    p_low = p_high = 0.0
    for i in range(0, n, _FRAMES_PER_BLOCK):
        frames = np.asarray(samples[i * _FRAME : min(n, i + _FRAMES_PER_BLOCK) * _FRAME], np.float32)
        power = np.abs(np.fft.rfft(frames.reshape(-1, _FRAME) * window, axis=1)) ** 2
        p_low += float(power[:, low].sum())
        p_high += float(power[:, high].sum())
    if p_low <= 0:
        return None
    return 10 * np.log10(p_high / p_low) if p_high > 0 else -np.inf


def is_narrowband(samples: np.ndarray) -> bool:
    """16 kHz audio with (next to) nothing above 4 kHz: telephone audio, upsampled."""
    db = high_band_db(samples)
    return db is not None and db < NARROWBAND_DB
