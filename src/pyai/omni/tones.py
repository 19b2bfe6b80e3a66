"""Call-control audio the agent plays itself: keypad (DTMF) tones and hold audio.

Both are made here, not by TTS, so an engine tool acts at once and sounds like a phone: DTMF is
the ITU-T Q.23 pair of sines per key (a far end's menu decodes them), hold audio a soft two-note
chime every few seconds (plain silence on hold sounds like a dropped call).
"""

from __future__ import annotations

import numpy as np

#: (low, high) frequencies in Hz per key, ITU-T Q.23.
KEYS = {
    key: (low, high)
    for row, low in zip(("123A", "456B", "789C", "*0#D"), (697, 770, 852, 941), strict=True)
    for key, high in zip(row, (1209, 1336, 1477, 1633), strict=True)
}
PAUSE_KEYS = frozenset("wW,")
PAUSE_MS = 500
GAP_MS = 80  # between keys, so a decoder sees two presses of the same key
DTMF_LEVEL = 0.25  # each sine; the pair peaks at -6 dBFS
HOLD_PERIOD_S = 4.0
HOLD_LEVEL = 0.08


def dtmf(keys: str, rate: int, tone_ms: int = 100) -> np.ndarray:
    """The tones for ``keys`` (0-9, *, #, A-D; ``w`` or ``,`` waits half a second), float32."""
    pieces: list[np.ndarray] = []
    t = np.arange(rate * tone_ms // 1000) / rate
    gap = np.zeros(rate * GAP_MS // 1000, dtype=np.float32)
    for key in keys.upper():
        if key in PAUSE_KEYS:
            pieces.append(np.zeros(rate * PAUSE_MS // 1000, dtype=np.float32))
            continue
        low, high = KEYS[key]
        tone = DTMF_LEVEL * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
        pieces += [tone.astype(np.float32), gap]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def hold_period(rate: int) -> np.ndarray:
    """One period of hold audio: a soft falling two-note chime, then quiet; repeat it to hold."""
    note = int(rate * 0.35)
    t = np.arange(note) / rate
    envelope = np.exp(-t * 6.0) * np.minimum(1.0, t * 200)  # a 5 ms attack, then a bell-like decay
    chime = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in (659.25, 523.25)])  # E5, C5
    period = np.zeros(int(rate * HOLD_PERIOD_S), dtype=np.float32)
    period[: len(chime)] = HOLD_LEVEL * chime
    return period
