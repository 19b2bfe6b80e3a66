"""Hear on its default engine, Whisper tiny.en, over real HTTP/WebSocket: what the engine change
promises callers — silence costs nothing, a language it cannot serve is refused up front, key
terms reach the decoder, telephone audio is heard, and the catalog names the model."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from pyai.audio.decode import decode_audio
from pyai.text.wer import wer
from tests import corpus
from tests.contract import assert_problem
from tests.media import encode, flite_wav
from tests.server import Server
from tests.speech_samples import ALSA, HUMAN_RECORDINGS
from tests.test_hear_stream import collect, run_session, speech, ws_url
from tests.test_transcription_jobs import wait

BATCH = "/v1/audio/transcriptions"
JOBS = "/v1/transcription/jobs"
RATE = 16000
#: A made-up product name: Whisper writes "Zindrak's" unless told the term.
RARE = "Please transfer me to Zyntrax support."
RARE_TERM = "Zyntrax"


def wav(samples: np.ndarray, rate: int = RATE, codec: str = "pcm_s16le") -> bytes:
    return encode(samples.reshape(1, -1).astype(np.float32), rate, "wav", codec)


def samples_of(data: bytes, rate: int = RATE) -> np.ndarray:
    return decode_audio(data, target_rate=rate).samples


@pytest.fixture(scope="module")
def hear(sqlite_server: Server) -> httpx.Client:
    key = sqlite_server.create_key(scopes="hear:*,transcribe:jobs")["api_key"]
    return httpx.Client(base_url=sqlite_server.url, headers=sqlite_server.headers(key), timeout=120)


def batch(c: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return c.post(BATCH, files={"file": ("a.wav", data)}, data=fields)


def test_silence_and_noise_give_no_text_and_no_charge(hear: httpx.Client) -> None:
    silence = wav(np.zeros(10 * RATE, dtype=np.float32))
    for data in (silence, (ALSA / "Noise.wav").read_bytes()):
        resp = batch(hear, data, response_format="verbose_json")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["text"] == "" and body["words"] == [] and body["segments"] == []
        assert resp.headers["x-pyai-units"] == "0.000"


def test_quiet_speech_is_still_heard(hear: httpx.Client) -> None:
    path, reference = HUMAN_RECORDINGS[0]
    speech_ = samples_of(path.read_bytes())
    quiet = speech_ / np.abs(speech_).max() * 10 ** (-45 / 20)  # peaks at -45 dBFS
    resp = batch(hear, wav(quiet))
    assert wer(reference, resp.json()["text"]) <= 0.1, resp.text
    assert float(resp.headers["x-pyai-units"]) > 3


def test_silent_job_completes_empty_and_bills_nothing(server: Server) -> None:
    key = server.create_key(env="test", scopes="transcribe:jobs", daily_cap=15)["api_key"]
    c = httpx.Client(base_url=server.url, headers=server.headers(key), timeout=60)
    silence = wav(np.zeros(10 * RATE, dtype=np.float32))
    for _ in range(2):  # a billed first job (10 of 15 units) would leave no room for the second
        job = wait(c, c.post(JOBS, files={"audio": ("quiet.wav", silence)}).json()["job_id"])
        assert job["status"] == "completed", job
        assert job["result"]["text"] == "" and job["result"]["speakers"] == 0 and job["result"]["words"] == []


def test_a_language_the_model_cannot_serve_is_400(hear: httpx.Client) -> None:
    problem = assert_problem(batch(hear, flite_wav("Hello there."), language="fr"), 400, "invalid_request")
    assert problem["param"] == "language"
    assert "tiny.en" in problem["detail"] and "base" in problem["detail"] and "large-v3" in problem["detail"]
    problem = assert_problem(batch(hear, flite_wav("Hello there."), language="xx"), 400, "invalid_request")
    assert problem["param"] == "language" and "ISO-639-1" in problem["detail"]
    assert batch(hear, flite_wav("Hello there."), language="EN").status_code == 200

    job = hear.post(JOBS, files={"audio": ("a.wav", flite_wav("Hello there."))}, data={"language": "de"})
    assert assert_problem(job, 400, "invalid_request")["param"] == "language"
    job = hear.post(JOBS, json={"audio_url": "https://example.com/a.wav", "language": "es"})
    assert assert_problem(job, 400, "invalid_request")["param"] == "language"


def test_a_stream_in_another_language_is_refused_in_band(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]

    async def go() -> tuple[list[dict], int | None]:
        async with connect(ws_url(sqlite_server, f"api_key={key}&language=es")) as ws:
            frames = await collect(ws)
        return frames, ws.close_code

    frames, code = asyncio.run(go())
    assert code == 1008 and frames[0]["code"] == "invalid_request" and "language" in frames[0]["message"]


def test_stream_finals_come_from_whisper(sqlite_server: Server) -> None:
    """The final is Whisper's (cased and punctuated), whatever the quick recogniser heard."""
    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]
    sentence = "Please call me back tomorrow morning."
    frames, _ = asyncio.run(run_session(ws_url(sqlite_server, f"api_key={key}"), speech(sentence)))
    final = next(f for f in frames if f["type"] == "final")
    assert wer(sentence, final["text"]) <= 0.2 and final["text"].endswith("."), final


def test_stable_text_only_grows_and_begins_the_final(sqlite_server: Server) -> None:
    """A long utterance (two human readings back to back, 12 s) streamed in real time: its
    ``stable_text`` appears before the turn ends, never takes a word back, and is where the
    ``final`` begins."""
    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]
    readings = [corpus.load("librivox")[0], corpus.load("librivox")[2]]  # 7.1 s and 5.3 s
    gap = np.zeros(24000, dtype=np.float32)
    pcm = corpus.pcm16(np.concatenate([gap[:8000], *(r.samples for r in readings), gap])).tobytes()
    frames, _ = asyncio.run(run_session(ws_url(sqlite_server, f"api_key={key}"), pcm, real_time=True))

    stable: dict[str, str] = {}
    for p in (f for f in frames if f["type"] == "partial"):
        before = stable.get(p["utterance_id"], "")
        assert p["stable_text"].startswith(before), (before, p)  # never takes a stable word back
        assert p["text"].startswith(p["stable_text"])
        stable[p["utterance_id"]] = p["stable_text"]
    finals = [f for f in frames if f["type"] == "final"]
    assert finals and any(stable.values()), (finals, stable)
    for final in finals:
        assert final["text"].startswith(stable.get(final["utterance_id"], "")), (stable, final)
    both = dataclasses.replace(readings[0], reference=" ".join(r.reference for r in readings))
    heard = " ".join(f["text"] for f in finals)
    assert corpus.score(both, heard).wer <= 0.1, heard


def test_batch_prompt_and_job_keyterms_reach_the_decoder(hear: httpx.Client) -> None:
    audio = flite_wav(RARE)
    assert RARE_TERM not in batch(hear, audio).json()["text"]
    prompted = batch(hear, audio, prompt=RARE_TERM).json()["text"]
    assert RARE_TERM in prompted and wer(RARE, prompted) == 0, prompted  # and not repeated after the speech

    plain = wait(hear, hear.post(JOBS, files={"audio": ("a.wav", audio)}).json()["job_id"])
    assert RARE_TERM not in plain["result"]["text"]
    biased = hear.post(JOBS, files={"audio": ("a.wav", audio)}, data={"keyterms": f"Okonkwo,{RARE_TERM}"})
    text = wait(hear, biased.json()["job_id"])["result"]["text"]
    assert RARE_TERM in text and wer(RARE, text) == 0, text
    by_json = hear.post(JOBS, json={"audio_url": "https://example.com/a.wav", "keyterms": ["x" * 51]})
    assert assert_problem(by_json, 400, "invalid_request")["param"].startswith("keyterms")
    too_many = hear.post(JOBS, files={"audio": ("a.wav", audio)}, data={"keyterms": ",".join(["term"] * 101)})
    assert assert_problem(too_many, 400, "invalid_request")["param"] == "keyterms"


@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_alaw"])
def test_8khz_telephone_wav_is_heard(hear: httpx.Client, codec: str) -> None:
    import soxr

    total = 0.0
    for path, reference in HUMAN_RECORDINGS[:5]:
        narrow = soxr.resample(samples_of(path.read_bytes()), RATE, 8000)
        resp = batch(hear, wav(narrow, 8000, codec), response_format="verbose_json")
        assert resp.status_code == 200, resp.text
        total += wer(reference, resp.json()["text"])
        assert resp.json()["duration"] == pytest.approx(len(narrow) / 8000, abs=0.01)
    assert total / 5 <= 0.15


def test_models_and_doctor_name_the_loaded_model(sqlite_server: Server, hear: httpx.Client) -> None:
    models = {m["id"]: m for m in hear.get("/v1/models").json()["data"]}
    for model_id in ("pyai-hear", "pyai-hear-telephony"):
        engine = models[model_id]["engine"]
        assert engine["name"] == "faster-whisper" and engine["model"] == "tiny.en" and engine["license"] == "MIT"
        assert engine["sha256"].startswith("1a5afae0") and engine["partials"]["name"] == "pocketsphinx"
        assert models[model_id]["languages"] == ["en"]
    doctor = sqlite_server.cli("doctor", check=False).stdout
    assert "[ok  ] stt: whisper" in doctor and "tiny.en" in doctor and "sha256 verified" in doctor, doctor


def test_unreachable_hub_stops_serve_with_a_clear_error_and_the_bundled_model_needs_none(tmp_path) -> None:  # noqa: ANN001
    import subprocess

    from tests.server import PYAI, bare_env, free_port

    closed = free_port()  # nothing listens here
    env = bare_env(PYAI_STT_MODEL="base.en", HF_ENDPOINT=f"http://127.0.0.1:{closed}", HF_HOME=str(tmp_path / "hf"))
    t0 = time.time()
    run = subprocess.run(
        [*PYAI, "serve", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 1 and "PYAI_STT_MODEL" in run.stderr, run.stderr
    assert "'base.en' is not in faster-whisper's cache and cannot be fetched" in run.stderr
    assert "tiny.en (bundled" in run.stderr and time.time() - t0 < 60

    # The bundled model needs no hub at all: the same unreachable hub, and Hear works.
    offline = {"HF_ENDPOINT": env["HF_ENDPOINT"], "HF_HOME": env["HF_HOME"]}
    srv = Server(tmp_path / "offline", offline).start()
    try:
        key = srv.create_key(scopes="hear:*")["api_key"]
        resp = httpx.post(
            srv.url + BATCH, headers=srv.headers(key), files={"file": ("a.wav", flite_wav(RARE))}, timeout=120
        )
        assert resp.status_code == 200 and "transfer" in resp.json()["text"], resp.text
    finally:
        srv.stop()


@pytest.mark.parametrize("encoding", ["g711_ulaw", "g711_alaw"])
def test_raw_g711_stream_is_heard(sqlite_server: Server, encoding: str) -> None:
    import soxr

    from pyai.audio.g711 import alaw_encode, ulaw_encode

    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]
    path, reference = HUMAN_RECORDINGS[0]
    narrow = soxr.resample(samples_of(path.read_bytes()), RATE, 8000)
    pcm = (np.concatenate([np.zeros(2400), narrow, np.zeros(9600)]) * 32767).astype(np.int16)
    law = (ulaw_encode if encoding == "g711_ulaw" else alaw_encode)(pcm)  # 1 byte per 8 kHz sample

    async def go(query: str, audio: bytes) -> tuple[list[dict], int | None]:
        async with connect(ws_url(sqlite_server, f"api_key={key}&{query}")) as ws:
            for i in range(0, len(audio), 160):  # 20 ms frames, as a telephony bridge sends them
                await ws.send(audio[i : i + 160])
            if audio:
                await ws.send("EOF")
            frames = await collect(ws)
        return frames, ws.close_code

    frames, code = asyncio.run(go(f"encoding={encoding}", law))
    finals = [f["text"] for f in frames if f["type"] == "final"]
    assert code == 1000 and wer(reference, " ".join(finals)) <= 0.2, frames
    frames, code = asyncio.run(go(f"encoding={encoding}&sample_rate=16000", b""))
    assert code == 1008 and "8000 Hz" in frames[0]["message"]


def test_stream_keyterms_reach_the_final(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(scopes="hear:stream")["api_key"]

    def final_text(query: str) -> str:
        frames, _ = asyncio.run(run_session(ws_url(sqlite_server, f"api_key={key}{query}"), speech(RARE)))
        return next(f for f in frames if f["type"] == "final")["text"]

    assert RARE_TERM not in final_text("")
    assert RARE_TERM in final_text(f"&keyterms=Okonkwo,{RARE_TERM}")

    async def rejected() -> tuple[list[dict], int | None]:
        # The server refuses before reading audio: send nothing, so no send races its close.
        async with connect(ws_url(sqlite_server, f"api_key={key}&keyterms={'x' * 51}")) as ws:
            frames = await collect(ws)
        return frames, ws.close_code

    frames, code = asyncio.run(rejected())
    assert code == 1008 and frames[0]["code"] == "invalid_request" and frames[0]["message"].startswith("keyterms")
