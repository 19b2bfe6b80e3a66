"""Speak over real HTTP: formats, speed, streaming, the OpenAI SDK, bad input, billing."""

from __future__ import annotations

import time

import httpx
import numpy as np
import openai
import pytest

from tests.contract import assert_error, assert_problem
from tests.media import decode
from tests.server import Server

URL = "/v1/audio/speech"
LINE = "Thank you for calling, your order has shipped."
PARAGRAPH = " ".join(
    [
        "Thank you for calling the support line.",
        "Your order number is being checked right now.",
        "The package left our warehouse this morning.",
        "It should arrive at your door within two business days.",
        "Is there anything else I can help you with today?",
    ]
)


@pytest.fixture(scope="module")
def speak_key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="voice:*,hear:*")["api_key"]


#: The formats, rates and billing below are flite's: it knows a sentence's length before making it.
FLITE_VOICE = "stock_callum_en_scotland"


def speak(srv: Server, key: str, **body: object) -> httpx.Response:
    body = {"input": LINE, "voice": FLITE_VOICE, **body}
    return httpx.post(srv.url + URL, headers=srv.headers(key), json=body, timeout=120)


def duration_of(resp: httpx.Response, fmt: str, rate: int = 24000) -> tuple[float, int, int]:
    """(seconds, rate, channels) of a speech response, decoding raw formats by their definition."""
    if fmt == "pcm":
        return len(resp.content) / 2 / rate, rate, 1
    if fmt in ("g711_ulaw", "g711_alaw"):
        return len(resp.content) / 8000, 8000, 1
    samples, r, ch = decode(resp.content)
    return samples.shape[1] / r, r, ch


EXPECTED_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "pcm": "audio/pcm",
    "g711_ulaw": "audio/basic",
    "g711_alaw": "audio/basic",
}


def test_every_format_decodes_with_right_shape(sqlite_server: Server, speak_key: str) -> None:
    durations = {}
    for fmt, ctype in EXPECTED_TYPES.items():
        resp = speak(sqlite_server, speak_key, response_format=fmt)
        assert resp.status_code == 200, (fmt, resp.text)
        assert resp.headers["content-type"].startswith(ctype), fmt
        seconds, rate, channels = duration_of(resp, fmt)
        assert channels == 1, fmt
        if fmt not in ("opus",):
            assert rate == (8000 if fmt.startswith("g711") else 24000), fmt
        durations[fmt] = seconds
        assert float(resp.headers["x-pyai-units"]) == pytest.approx(seconds, abs=0.08), fmt
    ref = durations["wav"]
    assert 1.5 < ref < 6
    for fmt, seconds in durations.items():
        assert seconds == pytest.approx(ref, abs=0.1), fmt


def test_g711_length_is_8000_per_second_and_rate_rules(sqlite_server: Server, speak_key: str) -> None:
    ulaw = speak(sqlite_server, speak_key, response_format="g711_ulaw")
    units = float(ulaw.headers["x-pyai-units"])
    assert len(ulaw.content) == pytest.approx(8000 * units, abs=8)
    assert speak(sqlite_server, speak_key, response_format="g711_alaw", sample_rate=8000).status_code == 200
    body = assert_problem(
        speak(sqlite_server, speak_key, response_format="g711_ulaw", sample_rate=16000), 400, "invalid_request"
    )
    assert "sample_rate" in body["detail"]


def test_pcm_at_requested_rate(sqlite_server: Server, speak_key: str) -> None:
    a = speak(sqlite_server, speak_key, response_format="pcm", sample_rate=16000)
    b = speak(sqlite_server, speak_key, response_format="pcm", sample_rate=48000)
    assert len(b.content) / len(a.content) == pytest.approx(3.0, rel=0.02)
    assert len(a.content) % 2 == 0


def test_speed_changes_duration(sqlite_server: Server, speak_key: str) -> None:
    normal = duration_of(speak(sqlite_server, speak_key, response_format="wav"), "wav")[0]
    fast = duration_of(speak(sqlite_server, speak_key, response_format="wav", speed=2.0), "wav")[0]
    slow = duration_of(speak(sqlite_server, speak_key, response_format="wav", speed=0.5), "wav")[0]
    assert fast < normal * 0.7 and slow > normal * 1.5


def test_long_input_streams_before_it_is_finished(sqlite_server: Server, speak_key: str) -> None:
    with httpx.stream(
        "POST",
        sqlite_server.url + URL,
        headers=sqlite_server.headers(speak_key),
        json={"input": PARAGRAPH * 2, "response_format": "pcm"},
        timeout=120,
    ) as resp:
        assert resp.status_code == 200
        assert "x-pyai-units" not in resp.headers
        t0 = time.perf_counter()
        arrivals = []
        total = 0
        for chunk in resp.iter_raw():
            arrivals.append(time.perf_counter() - t0)
            total += len(chunk)
    assert len(arrivals) > 3
    assert arrivals[0] < arrivals[-1] / 3  # the first audio arrived long before the last
    assert total / 2 / 24000 > 10


def test_one_sentence_streams_with_its_exact_units(sqlite_server: Server, speak_key: str) -> None:
    """A reshaped voice's single sentence: units in the headers, audio in several pieces."""
    with httpx.stream(
        "POST",
        sqlite_server.url + URL,
        headers=sqlite_server.headers(speak_key),
        json={"input": LINE, "response_format": "pcm", "voice": "stock_fraser_en_scotland"},
        timeout=120,
    ) as resp:
        assert resp.status_code == 200
        units = float(resp.headers["x-pyai-units"])
        chunks = [len(chunk) for chunk in resp.iter_raw()]
    assert len(chunks) > 2
    assert units == pytest.approx(sum(chunks) / 2 / 24000, abs=0.002)


def test_seed_makes_speech_repeatable(sqlite_server: Server, speak_key: str) -> None:
    """flite excites unvoiced sounds with noise; ``seed`` fixes it, so a request repeats exactly."""
    first, again, other = (
        speak(sqlite_server, speak_key, response_format="pcm", voice="stock_fraser_en_scotland", seed=seed).content
        for seed in (7, 7, 8)
    )
    assert first == again
    assert other != first and len(other) == len(first)


def test_openai_sdk_speech(sqlite_server: Server, speak_key: str, tmp_path) -> None:  # noqa: ANN001
    client = openai.OpenAI(api_key=speak_key, base_url=sqlite_server.url + "/v1")
    resp = client.audio.speech.create(model="tts-1", voice="alloy", input=LINE, response_format="wav")
    samples, rate, _ = decode(resp.content)
    assert rate == 24000 and samples.shape[1] > 24000
    out = tmp_path / "s.mp3"
    with client.audio.speech.with_streaming_response.create(model="pyai-voice", voice="nova", input=PARAGRAPH) as r:
        r.stream_to_file(out)
    assert decode(out.read_bytes())[0].shape[1] > 24000 * 5


#: OpenAI's later voice names → the stock voice each speaks as, and that voice's gender (OpenAI's).
NEWER_PRESETS = {
    "ash": ("stock_kevin_en_us", "M"),
    "ballad": ("stock_alasdair_en_scotland", "M"),
    "coral": ("stock_chloe_en_us", "F"),
    "sage": ("stock_grace_en_us", "F"),
    "verse": ("stock_nathan_en_us", "M"),
    "marin": ("stock_sophia_en_us", "F"),
    "cedar": ("stock_marcus_en_us", "M"),
}


def test_presets_map_to_distinct_stock_voices(sqlite_server: Server, speak_key: str) -> None:
    presets = ("alloy", "echo", "fable", "onyx", "nova", "shimmer", *NEWER_PRESETS)
    voices = {
        p: speak(sqlite_server, speak_key, voice=p, response_format="wav").headers["x-pyai-voice"] for p in presets
    }
    assert all(v.startswith("stock_") for v in voices.values())
    assert len(set(voices.values())) == len(presets)


@pytest.mark.parametrize(("preset", "expected"), sorted(NEWER_PRESETS.items()))
def test_newer_presets_speak_as_their_stock_voice(
    sqlite_server: Server, speak_key: str, preset: str, expected: tuple[str, str]
) -> None:
    voice_id, gender = expected
    resp = speak(sqlite_server, speak_key, voice=preset, response_format="wav")
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-pyai-voice"] == voice_id
    assert duration_of(resp, "wav")[0] > 1
    voice = httpx.get(sqlite_server.url + f"/v1/voices/{voice_id}", headers=sqlite_server.headers(speak_key))
    assert voice.json()["gender"] == gender


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": "   "}, "input"),
        ({"input": "x" * 4097}, "input"),
        ({"voice": "stock_nobody_en_xx"}, "voice"),
        ({"voice": "voice_doesnotexist"}, "voice"),
        ({"response_format": "wma"}, "response_format"),
        ({"sample_rate": 7000}, "sample_rate"),
        ({"sample_rate": 96000}, "sample_rate"),
        ({"speed": 0.1}, "speed"),
        ({"speed": 9}, "speed"),
        ({"model": "eleven_v3"}, "model"),
    ],
)
def test_bad_input_is_400_naming_field(sqlite_server: Server, speak_key: str, body: dict, param: str) -> None:
    problem = assert_problem(speak(sqlite_server, speak_key, **body), 400, problem_code(param))
    assert problem["param"] == param and param in problem["detail"]


def problem_code(param: str) -> str:
    return "unknown_voice" if param == "voice" else "invalid_request"


def test_missing_input_bad_json_and_scope(sqlite_server: Server, speak_key: str) -> None:
    resp = httpx.post(sqlite_server.url + URL, headers=sqlite_server.headers(speak_key), json={"voice": "alloy"})
    assert assert_problem(resp, 400, "invalid_request")["param"] == "input"
    resp = httpx.post(
        sqlite_server.url + URL,
        headers={**sqlite_server.headers(speak_key), "content-type": "application/json"},
        content=b"{oops",
    )
    assert_problem(resp, 400, "invalid_json")
    hear_only = sqlite_server.create_key(scopes="hear:*")["api_key"]
    assert_error(speak(sqlite_server, hear_only), 403, "forbidden")


def test_speech_is_metered_as_speak_minutes(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(env="test", scopes="voice:synthesize", daily_cap=8)
    first = speak(sqlite_server, key["api_key"], response_format="wav")
    assert first.status_code == 200
    second = speak(sqlite_server, key["api_key"], response_format="wav")
    assert second.status_code == 200
    # ~3.2 s each: a third would pass the cap of 8, so it is refused before any audio is made
    assert_error(speak(sqlite_server, key["api_key"]), 429, "daily_cap_exceeded")
    assert np.isclose(float(first.headers["x-pyai-units"]), duration_of(first, "wav")[0], atol=0.05)
