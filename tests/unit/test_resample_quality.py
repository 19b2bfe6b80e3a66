"""8 kHz telephone audio reaches the 16 kHz model through the decoder's streaming soxr resampler:
flat over the telephone band, no mirror image above 4 kHz, identical to a whole-buffer resample."""

from __future__ import annotations

import numpy as np

from pyai.audio.decode import decode_audio
from pyai.audio.resample import resample
from tests.media import encode


def _level_db(x: np.ndarray, rate: int, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs > hz - 20) & (freqs < hz + 20)
    return 20 * np.log10(spectrum[band].max() / (len(x) / 4))


def test_8k_to_16k_is_flat_in_band_and_image_free() -> None:
    t = np.arange(8000 * 2) / 8000
    for hz in (300.0, 1000.0, 3400.0):
        tone = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        up = decode_audio(encode(tone.reshape(1, -1), 8000, "wav", "pcm_s16le"), target_rate=16000).samples
        core = up[4000:-4000]  # away from the edges
        assert abs(_level_db(core, 16000, hz) - 20 * np.log10(0.5)) < 0.1  # in band: within 0.1 dB
        assert _level_db(core, 16000, 8000 - hz) < -90  # its mirror image: gone
        whole = resample(tone, 8000, 16000)
        assert np.max(np.abs(up[: len(whole)] - whole[: len(up)])) < 2e-4  # chunked == whole buffer (16-bit)
