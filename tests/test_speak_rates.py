"""Speak at any sample_rate (issue #8, item 7): every format returns decodable audio at the rate
``x-pyai-sample-rate`` reports. MP3, AAC and Opus take only a few rates, so an odd request is
encoded at the nearest one they support (it used to be a 200 with an empty, undecodable body)."""

from __future__ import annotations

import io
import struct

import av
import httpx
import pytest

from tests.media import decode
from tests.server import Server

URL = "/v1/audio/speech"
LINE = "Thank you for calling, your order has shipped."
ODD_RATES = (23634, 8001, 47999)
NEAREST = {23634: 24000, 8001: 8000, 47999: 48000}  # the nearest rate MP3, AAC and Opus all take
FIXED_SET = ("mp3", "aac", "opus")
ANY_RATE = ("wav", "flac", "pcm")


@pytest.fixture(scope="module")
def speak_key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="voice:*")["api_key"]


#: flite: its exact ``x-pyai-units`` header is what the decoded length is compared against.
FLITE_VOICE = "stock_callum_en_scotland"


def speak(srv: Server, key: str, **body: object) -> httpx.Response:
    body = {"input": LINE, "seed": 1, "voice": FLITE_VOICE, **body}
    return httpx.post(srv.url + URL, headers=srv.headers(key), json=body, timeout=120)


def opus_input_rate(ogg: bytes) -> int:
    """The rate the Opus encoder was given, from the stream's OpusHead (decoders always output 48 kHz)."""
    with av.open(io.BytesIO(ogg)) as container:
        head = container.streams.audio[0].codec_context.extradata
    assert head[:8] == b"OpusHead"
    return struct.unpack("<I", head[12:16])[0]


def seconds_and_rate(resp: httpx.Response, fmt: str) -> tuple[float, int]:
    """Decode the body with PyAV: (duration, the rate its stream declares)."""
    if fmt == "pcm":
        rate = int(resp.headers.get("x-pyai-sample-rate", 0))
        samples, _, _ = decode(resp.content, "s16le", sample_rate=str(rate), ch_layout="mono")
        return samples.shape[1] / rate, rate
    samples, rate, channels = decode(resp.content)
    assert channels == 1 and samples.shape[1] > 0
    return samples.shape[1] / rate, opus_input_rate(resp.content) if fmt == "opus" else rate


@pytest.fixture(scope="module")
def reference_seconds(sqlite_server: Server, speak_key: str) -> float:
    samples, rate, _ = decode(speak(sqlite_server, speak_key, response_format="wav").content)
    return samples.shape[1] / rate


@pytest.mark.parametrize("rate", ODD_RATES)
@pytest.mark.parametrize("fmt", FIXED_SET + ANY_RATE)
def test_odd_rate_is_decodable_at_the_reported_rate(
    sqlite_server: Server, speak_key: str, reference_seconds: float, fmt: str, rate: int
) -> None:
    resp = speak(sqlite_server, speak_key, response_format=fmt, sample_rate=rate)
    assert resp.status_code == 200, resp.text
    seconds, declared = seconds_and_rate(resp, fmt)
    used = int(resp.headers["x-pyai-sample-rate"])
    assert used == declared == (NEAREST[rate] if fmt in FIXED_SET else rate)
    assert seconds == pytest.approx(reference_seconds, abs=0.25)  # codec frames pad most at 8 kHz
    assert float(resp.headers["x-pyai-units"]) == pytest.approx(reference_seconds, abs=0.02)


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw", "mp3", "opus", "wav"])
def test_default_and_telephony_rates_are_reported(sqlite_server: Server, speak_key: str, fmt: str) -> None:
    resp = speak(sqlite_server, speak_key, response_format=fmt)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-pyai-sample-rate"] == ("8000" if fmt.startswith("g711") else "24000")
