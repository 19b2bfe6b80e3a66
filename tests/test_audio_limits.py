"""Decompression bombs (issue #8, item 2): decoded audio is capped, and decoding stays in bounded memory.

An hour of silence is a 0.5 MB FLAC that used to expand to ~2 GB of server memory (kept after the
request). Now decoding stops at the cap with a 400 naming it, and the server's peak RSS (VmHWM)
grows by about the capped output at 16 kHz, not by the whole file at its source rate.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from tests.conftest import BACKENDS, start_server
from tests.contract import assert_problem
from tests.media import decode, encode, flite_wav
from tests.server import Server, drop_pg_database

SENTENCE = "The quick brown fox jumps over the lazy dog."
BATCH_URL = "/v1/audio/transcriptions"
JOBS_URL = "/v1/transcription/jobs"
CAPS = {"PYAI_MAX_BATCH_AUDIO_SECONDS": "20", "PYAI_MAX_JOB_AUDIO_SECONDS": "30"}


def silence_flac(seconds: int, rate: int = 48000) -> bytes:
    """``seconds`` of digital silence as FLAC, encoded ten seconds at a time (an hour is ~0.5 MB)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        block = np.zeros((1, rate * 10), dtype=np.int16)
        for _ in range(seconds // 10):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def speech_then_silence(seconds: float) -> bytes:
    """A FLAC at 44.1 kHz: one spoken sentence, then silence up to ``seconds``."""
    speech, rate, _ = decode(flite_wav(SENTENCE))
    padded = np.zeros((1, int(seconds * rate)), dtype=np.float32)
    padded[:, : speech.shape[1]] = speech[:1]
    import soxr

    return encode(soxr.resample(padded.T, rate, 44100).T.astype(np.float32), 44100, "flac", "flac")


def memory_kb(srv: Server) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of the server process, in kB."""
    fields = {}
    for line in Path(f"/proc/{srv.proc.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def transcribe(srv: Server, key: str, data: bytes) -> httpx.Response:
    return httpx.post(srv.url + BATCH_URL, headers=srv.headers(key), files={"file": ("a.flac", data)}, timeout=120)


@pytest.fixture(scope="module", params=BACKENDS)
def capped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with low caps (20 s batch, 30 s jobs), so the limits are reached with small files."""
    srv, pg_url = start_server(tmp_path_factory.mktemp(f"capped-{request.param}"), request.param, CAPS)
    yield srv
    srv.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def fresh() -> Iterator[Server]:
    """A server with the default caps that serves nothing else, so its peak RSS is this module's."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp)).start()
        yield srv
        srv.stop()


def test_batch_refuses_audio_past_the_cap(capped: Server) -> None:
    key = capped.create_key(scopes="hear:*")["api_key"]
    ok = transcribe(capped, key, speech_then_silence(10))
    assert ok.status_code == 200, ok.text
    assert "fox" in ok.json()["text"]
    body = assert_problem(transcribe(capped, key, speech_then_silence(25)), 400, "audio_too_long")
    assert body["param"] == "file"
    assert "20 s" in body["detail"] and body["detail"].startswith("file:"), body


def wait_job(c: httpx.Client, job_id: str, timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = c.get(f"{JOBS_URL}/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['status']}")


def test_jobs_have_their_own_longer_cap(capped: Server) -> None:
    key = capped.create_key(scopes="transcribe:jobs")["api_key"]
    with httpx.Client(base_url=capped.url, headers=capped.headers(key), timeout=60) as c:
        within = c.post(JOBS_URL, files={"audio": ("a.flac", speech_then_silence(25))})  # past batch's 20 s
        past = c.post(JOBS_URL, files={"audio": ("a.flac", speech_then_silence(40))})
        assert within.status_code == past.status_code == 202, (within.text, past.text)
        done = wait_job(c, within.json()["job_id"])
        assert done["status"] == "completed" and "fox" in done["result"]["text"], done
        failed = wait_job(c, past.json()["job_id"])
        assert failed["status"] == "failed", failed
        assert "longer than" in failed["error"] and "30 s" in failed["error"], failed


def test_hour_of_silence_is_refused_in_bounded_memory(fresh: Server) -> None:
    """The issue's bomb against the default batch cap (1800 s): a 400 naming it, and the server's
    peak memory grows by about the capped output (1800 s x 16 kHz x 4 B = 115 MB), not ~2 GB."""
    key = fresh.create_key(scopes="hear:*")["api_key"]
    bomb = silence_flac(3600)
    assert len(bomb) < 1_000_000
    assert transcribe(fresh, key, speech_then_silence(5)).status_code == 200  # engines loaded, heap warm
    before = memory_kb(fresh)
    body = assert_problem(transcribe(fresh, key, bomb), 400, "audio_too_long")
    after = memory_kb(fresh)
    assert "1800 s (30 min)" in body["detail"] and body["param"] == "file", body
    growth_mb = (after["VmHWM"] - before["VmHWM"]) / 1024
    assert growth_mb < 150, f"peak RSS grew by {growth_mb:.0f} MB"
    kept_mb = (after["VmRSS"] - before["VmRSS"]) / 1024
    assert kept_mb < 50, f"{kept_mb:.0f} MB still resident after the request"
