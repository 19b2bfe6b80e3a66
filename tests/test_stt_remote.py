"""``PYAI_STT_ENGINE=openai``: Hear on an OpenAI-compatible transcription endpoint.

The upstream is a second, real PyAI server (its batch endpoint is OpenAI-compatible) running
the few-word model of ``tests/stt_models.py``, so a transcript shows which model made it: the
local model hears "rear center", the upstream cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from websockets.asyncio.client import connect

from pyai.text.wer import wer
from tests.contract import assert_problem
from tests.media import pcm16, silence_pcm16
from tests.server import Server
from tests.speech_samples import ALSA
from tests.stt_models import ARCTIC, ARCTIC_TEXT, VOCABULARY, write_model
from tests.test_hear_stream import collect, of, send_audio

REAR_CENTER = ALSA / "Rear_Center.wav"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, dict]]:
    tmp = tmp_path_factory.mktemp("remote")
    upstream = Server(
        tmp / "up", {"PYAI_STT_ENGINE": "pocketsphinx", "PYAI_STT_MODEL_DIR": str(write_model(tmp / "model"))}
    ).start()
    up_key = upstream.create_key(scopes="hear:transcribe")
    front = Server(
        tmp / "front",
        {
            "PYAI_STT_ENGINE": "openai",
            "PYAI_STT_BASE_URL": upstream.url + "/v1",
            "PYAI_STT_API_KEY": up_key["api_key"],
            "PYAI_STT_MODEL": "pyai-hear",
        },
    ).start()
    try:
        yield upstream, front, up_key
    finally:
        front.stop()
        upstream.stop()


async def stream_frames(front: Server, key: str, pcm: bytes, pace: float = 0) -> list[dict]:
    url = front.url.replace("http", "ws") + "/v1/audio/transcriptions/stream"
    async with connect(url, subprotocols=[f"pyai-key.{key}"]) as ws:
        await send_audio(ws, pcm, pace=pace)
        await ws.send("EOF")
        return await collect(ws)


def test_batch_goes_to_the_upstream_model(servers: tuple[Server, Server, dict]) -> None:
    _, front, _ = servers
    key = front.create_key(scopes="hear:*")["api_key"]
    client = openai.OpenAI(base_url=front.url + "/v1", api_key=key, max_retries=0)
    with ARCTIC.open("rb") as f:
        verbose = client.audio.transcriptions.create(
            model="pyai-hear", file=f, response_format="verbose_json", timestamp_granularities=["word"]
        )
    assert wer(ARCTIC_TEXT, verbose.text) <= 0.1
    assert verbose.words and all(0 <= w.start < w.end <= verbose.duration + 0.05 for w in verbose.words)
    with REAR_CENTER.open("rb") as f:
        heard = client.audio.transcriptions.create(model="pyai-hear", file=f).text
    assert heard and set(heard.lower().split()) <= set(VOCABULARY), heard
    assert "[ok  ] stt: openai endpoint" in front.cli("doctor", check=False).stdout


def test_stream_partials_are_local_and_finals_come_from_upstream(servers: tuple[Server, Server, dict]) -> None:
    _, front, _ = servers
    key = front.create_key(scopes="hear:*")["api_key"]
    # in real time, so partials come while the caller speaks (they stop at the speech_final, which
    # carries the final's text when the upstream answers before the local decoder)
    audio = silence_pcm16(0.3) + pcm16(REAR_CENTER.read_bytes()) + silence_pcm16(1.0)
    frames = asyncio.run(stream_frames(front, key, audio, pace=0.1))
    finals = of(frames, "final")
    assert finals and all(set(f["text"].lower().split()) <= set(VOCABULARY) for f in finals), finals
    assert "center" in " ".join(f["text"] for f in of(frames, "partial")).lower()  # the local model


def test_upstream_failure_is_503_and_stream_finals_fall_back(servers: tuple[Server, Server, dict]) -> None:
    upstream, front, up_key = servers
    key = front.create_key(scopes="hear:*")["api_key"]
    upstream.cli("keys", "revoke", up_key["key_id"])
    deadline = time.time() + 10  # revocation reaches the upstream's key cache within seconds
    while True:
        resp = httpx.post(
            front.url + "/v1/audio/transcriptions",
            headers=front.headers(key),
            files={"file": ("a.wav", ARCTIC.read_bytes())},
            timeout=60,
        )
        if resp.status_code != 200 or time.time() > deadline:
            break
        time.sleep(0.5)
    problem = assert_problem(resp, 503, "engine_unavailable")
    assert "HTTP 401" in problem["detail"] and int(resp.headers["Retry-After"]) > 0

    frames = asyncio.run(stream_frames(front, key, pcm16(REAR_CENTER.read_bytes()) + silence_pcm16(1.0)))
    finals = of(frames, "final")
    assert finals and "center" in " ".join(f["text"] for f in finals).lower()  # the local full decode
    assert of(frames, "usage")
