"""The voice library over real HTTP: catalog shape and filters, avatars, previews, and the two
properties that make 38 voices worth having: each is intelligible, and they measurably differ."""

from __future__ import annotations

import io
import itertools

import httpx
import pytest
from PIL import Image

from pyai.audio.decode import decode_audio
from pyai.engines.voice.analysis import VoiceProfile, analyse_voice, profile_distance
from pyai.text.wer import wer
from tests.contract import assert_problem, validate
from tests.server import Server

#: Measured on 2026-11-24 (docs/benchmarks.md): median preview WER 0.10, worst voice 0.35.
MAX_VOICE_WER = 0.5
MAX_MEAN_WER = 0.2
#: Closest pair measured 1.18 (Ethan vs Fraser; profile_distance 1 ≈ one semitone of pitch).
MIN_PAIR_DISTANCE = 0.5


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> httpx.Client:
    key = sqlite_server.create_key(scopes="hear:*,voice:*")["api_key"]
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120)


@pytest.fixture(scope="module")
def stock(client: httpx.Client) -> list[dict]:
    return client.get("/v1/voices", params={"source": "stock"}).json()["data"]


@pytest.fixture(scope="module")
def previews(client: httpx.Client, stock: list[dict]) -> dict[str, bytes]:
    return {v["voice_id"]: client.get(v["preview_url"]).content for v in stock}


def test_catalog_has_38_valid_voices(client: httpx.Client, stock: list[dict]) -> None:
    body = client.get("/v1/voices").json()
    validate(body, "StockVoiceList")
    assert len(stock) == 38 and len({v["voice_id"] for v in stock}) == 38
    for v in stock:
        assert v["voice_id"].startswith("stock_") and v["gender"] in ("M", "F") and v["language"] == "en"
        assert v["name"] and v["bio"] and v["tone"] and v["age"].isdigit() and v["region"]
        assert v["source"] == "stock"
    one = client.get(f"/v1/voices/{stock[0]['voice_id']}").json()
    validate(one, "StockVoice")
    assert one == stock[0]


def test_filters(client: httpx.Client, stock: list[dict]) -> None:
    women = client.get("/v1/voices", params={"gender": "f"}).json()["data"]
    assert women and all(v["gender"] == "F" for v in women)
    assert len(women) == sum(v["gender"] == "F" for v in stock)
    scots = client.get("/v1/voices", params={"region": "SCOT"}).json()["data"]
    assert scots and all("scotland" in v["region"].lower() for v in scots)
    us = client.get("/v1/voices", params={"region": "us", "gender": "M"}).json()["data"]
    assert us and all(v["gender"] == "M" and "US" in v["region"] for v in us)
    assert client.get("/v1/voices", params={"region": "india"}).json()["data"] == []
    assert_problem(client.get("/v1/voices", params={"gender": "x"}), 400, "invalid_request")
    assert_problem(client.get("/v1/voices", params={"source": "clone"}), 400, "invalid_request")
    assert_problem(client.get("/v1/voices/stock_nobody_en_us"), 404, "not_found")


def test_avatars_are_distinct_pngs(stock: list[dict]) -> None:
    seen = set()
    for v in stock[:10]:
        resp = httpx.get(v["avatar_url"])  # public: no key needed, like an <img> tag
        assert resp.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(resp.content))
        assert img.size == (256, 256) and len(img.getcolors(65536) or []) >= 6  # a drawing, not a blank
        seen.add(resp.content)
    assert len(seen) == 10


def test_every_voice_is_intelligible(client: httpx.Client, stock: list[dict], previews: dict[str, bytes]) -> None:
    wers = {}
    for v in stock:
        assert decode_audio(previews[v["voice_id"]]).duration > 1.5
        heard = client.post("/v1/audio/transcriptions", files={"file": ("p.mp3", previews[v["voice_id"]])}).json()
        wers[v["voice_id"]] = wer(v["bio"], heard["text"])
    worst = max(wers, key=wers.get)
    assert wers[worst] <= MAX_VOICE_WER, wers
    assert sum(wers.values()) / len(wers) <= MAX_MEAN_WER, wers


def test_voices_are_measurably_distinct_and_match_their_gender(stock: list[dict], previews: dict[str, bytes]) -> None:
    profiles: dict[str, VoiceProfile] = {}
    for v in stock:
        audio = decode_audio(previews[v["voice_id"]], target_rate=16000)
        profiles[v["voice_id"]] = analyse_voice(audio.samples, 16000)
    for v in stock:  # the persona's gender is the one the pitch says
        f0 = profiles[v["voice_id"]].f0_median
        assert (f0 >= 135) if v["gender"] == "F" else (f0 < 140), (v["voice_id"], f0)
    closest = min(itertools.combinations(profiles, 2), key=lambda p: profile_distance(profiles[p[0]], profiles[p[1]]))
    assert profile_distance(profiles[closest[0]], profiles[closest[1]]) >= MIN_PAIR_DISTANCE, closest
