"""Voice cloning and voice design over real HTTP, judged by measured voice statistics."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from pyai.audio.decode import decode_audio
from pyai.engines.voice.analysis import analyse_voice, profile_distance
from pyai.speak.catalog import DEFAULT_VOICE_ID
from tests.contract import assert_error, assert_problem
from tests.media import encode
from tests.server import Server
from tests.speech_samples import ALSA, ARCTIC

PROBE = "Please call Stella and ask her to bring these things with her from the store."


def reference_wav() -> bytes:
    """A real speaker (CMU ARCTIC, shipped in pysptk), 4 s of speech said twice."""
    audio = decode_audio(ARCTIC.read_bytes(), target_rate=16000)
    twice = np.concatenate([audio.samples, audio.samples])
    return encode(twice.reshape(1, -1), 16000, "wav", "pcm_s16le")


def poll(client: httpx.Client, url: str, done, timeout: float = 90):  # noqa: ANN001, ANN202
    deadline = time.time() + timeout
    while True:
        body = client.get(url).json()
        if done(body) or time.time() > deadline:
            return body
        time.sleep(0.5)


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> Iterator[httpx.Client]:
    key = sqlite_server.create_key(scopes="voice:*,hear:*")["api_key"]
    with httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120) as c:
        yield c


def speak_profile(client: httpx.Client, voice: str):  # noqa: ANN201
    resp = client.post("/v1/audio/speech", json={"input": PROBE, "voice": voice, "response_format": "wav"})
    assert resp.status_code == 200, resp.text
    audio = decode_audio(resp.content, target_rate=16000)
    return analyse_voice(audio.samples, 16000)


def test_clone_moves_toward_its_reference(client: httpx.Client, sqlite_server: Server) -> None:
    resp = client.post("/v1/voice/clones", data={"name": "Arctic"}, files={"file": ("ref.wav", reference_wav())})
    assert resp.status_code == 201, resp.text
    voice = resp.json()
    assert voice["id"].startswith("voice_") and voice["status"] == "pending" and voice["object"] == "voice"
    listed = poll(client, "/v1/voice/clones", lambda b: b["data"][0]["status"] != "pending")
    assert listed["data"][0]["status"] == "ready", listed
    ref_audio = decode_audio(ARCTIC.read_bytes(), target_rate=16000)
    ref = analyse_voice(ref_audio.samples, 16000)
    before = speak_profile(client, "stock_emma_en_us")  # the default voice
    after = speak_profile(client, voice["id"])
    assert profile_distance(after, ref) < profile_distance(before, ref) * 0.6
    assert abs(np.log2(after.f0_median / ref.f0_median)) * 12 < 2.5  # pitch within 2.5 semitones
    # another org can neither use nor delete it
    other = sqlite_server.create_key(scopes="voice:*")["api_key"]
    resp = httpx.post(
        sqlite_server.url + "/v1/audio/speech",
        headers=sqlite_server.headers(other),
        json={"input": "hi", "voice": voice["id"]},
    )
    assert_problem(resp, 400, "unknown_voice")
    resp = httpx.delete(sqlite_server.url + f"/v1/voice/clones/{voice['id']}", headers=sqlite_server.headers(other))
    assert_error(resp, 403, "forbidden")
    assert client.delete(f"/v1/voice/clones/{voice['id']}").status_code == 200
    assert_problem(client.delete(f"/v1/voice/clones/{voice['id']}"), 404, "not_found")


def test_clone_rejects_short_or_bad_reference(client: httpx.Client) -> None:
    short = (ALSA / "Front_Center.wav").read_bytes()  # ~1 s of a human voice
    body = assert_problem(
        client.post("/v1/voice/clones", data={"name": "x"}, files={"file": ("s.wav", short)}),
        400,
        "reference_too_short",
    )
    assert "at least 3 s" in body["detail"] and body["param"] == "file"
    assert_problem(
        client.post("/v1/voice/clones", data={"name": "x"}, files={"file": ("s.wav", b"nope" * 99)}),
        400,
        "invalid_audio",
    )
    assert_problem(client.post("/v1/voice/clones", files={"file": ("s.wav", reference_wav())}), 400, "invalid_request")


def design(client: httpx.Client, prompt: str, **extra: object) -> dict:
    resp = client.post("/v1/voice/design", json={"prompt": prompt, "candidates": 2, **extra})
    assert resp.status_code == 202, resp.text
    started = resp.json()
    assert started["design_id"].startswith("dsn_") and started["status"] == "queued"
    assert started["candidates"] == 2 and started["estimated_seconds"] > 0
    done = poll(client, f"/v1/voice/design/{started['design_id']}", lambda b: b["status"] in ("completed", "failed"))
    assert done["status"] == "completed", done
    return done


def candidate_f0(client: httpx.Client, candidate: dict) -> float:
    mp3 = httpx.get(candidate["preview_url"]).content  # signed URL: no key needed
    audio = decode_audio(mp3, target_rate=16000)
    return analyse_voice(audio.samples, 16000).f0_median


def test_design_respects_attributes_and_saves(client: httpx.Client, sqlite_server: Server) -> None:
    deep = design(client, "a deep, calm older male voice")
    bright = design(client, "a bright, cheerful young female voice", sample_text="Welcome back, how can I help?")
    for result in (deep, bright):
        for c in result["candidates"]:
            assert c["quality"]["intelligibility"] >= 0.6 and c["duration_s"] > 1
    assert max(candidate_f0(client, c) for c in deep["candidates"]) < min(
        candidate_f0(client, c) for c in bright["candidates"]
    )

    cid = deep["candidates"][0]["candidate_id"]
    saved = client.post(
        f"/v1/voice/design/{deep['design_id']}/save",
        json={"candidate_id": cid, "name": "Support Deep", "metadata": {"team": "support"}},
    )
    assert saved.status_code == 201, saved.text
    vd = saved.json()
    assert vd["voice_id"].startswith("vd_") and vd["source"] == "design" and vd["name"] == "Support Deep"
    listed = client.get("/v1/voices", params={"source": "design"}).json()["data"]
    assert [v["voice_id"] for v in listed] == [vd["voice_id"]] and listed[0]["gender"] == "M"
    assert client.post("/v1/audio/speech", json={"input": "Hello there.", "voice": vd["voice_id"]}).status_code == 200

    org_id = client.get("/v1/me").json()["org_id"]
    sqlite_server.cli("orgs", "default-voice", org_id, vd["voice_id"])
    assert client.post("/v1/audio/speech", json={"input": "Hello there."}).headers["x-pyai-voice"] == vd["voice_id"]

    other_key = sqlite_server.create_key(scopes="voice:*")
    oh = sqlite_server.headers(other_key["api_key"])
    refused = sqlite_server.cli("orgs", "default-voice", other_key["org_id"], vd["voice_id"], check=False)
    assert refused.returncode == 1 and "unknown voice" in refused.stderr
    assert_problem(httpx.get(sqlite_server.url + f"/v1/voice/design/{deep['design_id']}", headers=oh), 404, "not_found")
    assert_problem(httpx.delete(sqlite_server.url + f"/v1/voices/{vd['voice_id']}", headers=oh), 404, "not_found")
    assert_problem(
        client.post(f"/v1/voice/design/{deep['design_id']}/save", json={"candidate_id": "c9", "name": "x"}),
        404,
        "not_found",
    )
    assert_problem(client.delete("/v1/voices/stock_emma_en_us"), 400, "stock_voice_immutable")
    assert client.delete(f"/v1/voices/{vd['voice_id']}").status_code == 200
    assert client.get("/v1/voices", params={"source": "design"}).json()["data"] == []
    fallback = client.post("/v1/audio/speech", json={"input": "Hello there."})
    assert fallback.status_code == 200 and fallback.headers["x-pyai-voice"] == DEFAULT_VOICE_ID


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "candidates": 5}, "candidates"),
        ({"prompt": "x", "attributes": {"pace": 9}}, "attributes.pace"),
    ],
)
def test_design_validation(client: httpx.Client, body: dict, param: str) -> None:
    assert assert_problem(client.post("/v1/voice/design", json=body), 400, "invalid_request")["param"] == param
