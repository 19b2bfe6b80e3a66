"""Silero VAD as the streaming endpointer: steady noise never opens an utterance, speech does,
promptly, and the endpointer behaves like the WebRTC one it replaces (same events, same timing
rules), whatever the chunking."""

from __future__ import annotations

import numpy as np
import pytest

from pyai.engines.packaged import ModelFileError, PackagedFile
from pyai.engines.vad.silero import SILERO, SileroEndpointer
from pyai.engines.vad.webrtc import Endpointer
from tests import vad_audio as va

NOISES = va.noises(30)
SPEECH = va.speech()
PREROLL_MS = 300  # what the streaming session keeps in front of an onset


def openings(endpointer: SileroEndpointer | Endpointer, x: np.ndarray) -> list[int]:
    """Audio time (ms) at which each ``speech_start`` is emitted, fed in 20 ms frames."""
    out = []
    for i in range(0, len(x), 320):
        if any(e.kind == "speech_start" for e in endpointer.process(x[i : i + 320])):
            out.append((i + 320) // 16)
    return out


def test_model_file_is_verified_by_sha256(tmp_path):
    assert SILERO.locate().name == "silero_vad_v6.onnx"
    altered = PackagedFile(SILERO.package, SILERO.path, "0" * 64, SILERO.install)
    with pytest.raises(ModelFileError, match="sha256 4cbf549b.* is not the expected 0{64}; run scripts/setup.sh"):
        altered.locate()
    missing = PackagedFile("no_such_package_here", "model.onnx", "0" * 64, "no-such-package==1.0")
    with pytest.raises(ModelFileError, match="not installed; run scripts/setup.sh .*no-such-package==1.0"):
        missing.locate()


@pytest.mark.parametrize("name", list(NOISES))
def test_steady_noise_never_opens_an_utterance(name):
    assert openings(SileroEndpointer(), NOISES[name]) == []


def test_webrtc_opens_on_the_same_noise():
    """Why Silero replaces WebRTC for streaming: WebRTC hears speech in every one of these."""
    assert all(openings(Endpointer(), x) for x in NOISES.values())


@pytest.mark.parametrize("noise,snr", [(None, None), ("pink noise", 10), ("alsa Noise.wav", 10), ("white noise", 5)])
@pytest.mark.parametrize("clip", list(SPEECH))
def test_speech_opens_within_the_preroll(clip, noise, snr):
    speech = SPEECH[clip]
    x = np.concatenate([va.silence(1.0), speech, va.silence(0.5)])
    if noise:
        x = va.mix(x, va.noises(len(x) / va.RATE + 1)[noise], snr)
    opened = openings(SileroEndpointer(), x)
    truth_ms = 1000 + va.onset_s(speech) * 1000
    assert opened, "speech never opened an utterance"
    assert truth_ms - 100 <= opened[0] <= truth_ms + PREROLL_MS, (opened[0], truth_ms)


def test_music_on_hold_then_speech():
    """A caller coming back from hold music is heard at once (the model's state is not stuck)."""
    speech = SPEECH["flite slt: account balance"]
    x = np.concatenate([NOISES["music on hold"], speech])
    opened = openings(SileroEndpointer(), x)
    truth_ms = len(NOISES["music on hold"]) / 16 + va.onset_s(speech) * 1000
    assert len(opened) == 1 and truth_ms <= opened[0] <= truth_ms + PREROLL_MS


def test_events_like_the_webrtc_endpointer():
    """speech_start at the onset, speech_end at the end of speech, emitted endpointing_ms later."""
    speech = SPEECH["arctic bdl"]
    x = np.concatenate([va.silence(1.0), speech, va.silence(1.5)])
    events = []
    endpointer = SileroEndpointer(endpointing_ms=600)
    for i in range(0, len(x), 320):
        events += [(e.kind, e.ms, (i + 320) // 16) for e in endpointer.process(x[i : i + 320])]
    (start, start_ms, _), (end, end_ms, end_emitted) = events
    assert (start, end) == ("speech_start", "speech_end")
    speech_end_ms = 1000 + len(speech) / 16 - 300  # the recording ends with ~0.3 s of silence
    assert abs(start_ms - (1000 + va.onset_s(speech) * 1000)) <= 100
    assert abs(end_ms - speech_end_ms) <= 250
    assert end_emitted - end_ms == pytest.approx(600, abs=40)
    assert endpointer.speech_seconds == pytest.approx(len(speech) / 16000, abs=1.2)


def test_chunking_does_not_change_events():
    gap = va.silence(1.0)
    x = np.concatenate([gap, SPEECH["alsa Front_Center"], gap, SPEECH["cards 001"], gap])
    whole = SileroEndpointer().process(x)
    rng = np.random.default_rng(0)
    cuts = np.cumsum(rng.integers(1, 2000, size=len(x) // 500))
    endpointer = SileroEndpointer()
    pieces = [e for part in np.split(x, cuts[cuts < len(x)]) for e in endpointer.process(part)]
    assert pieces == whole
    assert [e.kind for e in whole] == ["speech_start", "speech_end", "speech_start", "speech_end"]


def test_only_16_khz():
    with pytest.raises(ValueError, match="sample_rate: Silero VAD runs at 16000 Hz, got 8000"):
        SileroEndpointer(sample_rate=8000)
