"""Async transcription jobs over real HTTP: sources, idempotency, pagination, cancel, tenancy,
channels, diarization, subtitles, signed webhooks, and durability across a killed server."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from pyai.audio.decode import decode_audio
from tests.contract import assert_problem, validate
from tests.media import encode, flite_wav
from tests.receiver import QuietHandler, serving
from tests.server import Server

URL = "/v1/transcription/jobs"
FIRST = "The quick brown fox jumps over the lazy dog."
SECOND = "Please call me back tomorrow morning about my order."


class _Files(QuietHandler):
    """Serves audio to audio_url jobs and records webhook deliveries."""

    files: dict[str, bytes] = {}
    received: list[tuple[dict, bytes]] = []
    fail_first: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802
        data = self.files.get(self.path)
        self.send_response(200 if data else 404)
        self.send_header("content-length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path in self.fail_first:
            self.fail_first.discard(self.path)
            self.send_response(500)
        else:
            self.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serving(_Files) as url:
        yield url


def client_for(srv: Server, **key_flags: object) -> httpx.Client:
    key = srv.create_key(scopes="transcribe:jobs", **key_flags)["api_key"]
    return httpx.Client(base_url=srv.url, headers=srv.headers(key), timeout=60)


def wait(c: httpx.Client, job_id: str, timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = c.get(f"{URL}/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['status']}")


def submit_upload(c: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return c.post(URL, files={"audio": ("a.wav", data)}, data=fields)


def test_upload_job_completes_with_content_and_subtitles(server: Server) -> None:
    c = client_for(server)
    resp = submit_upload(c, flite_wav(FIRST), output_formats="json,srt,vtt", numerals="false")
    assert resp.status_code == 202, resp.text
    job = resp.json()
    validate(job, "TranscriptionJob")
    assert job["status"] == "queued" and job["job_id"].startswith("job_")
    done = wait(c, job["job_id"])
    validate(done, "TranscriptionJob")
    assert done["status"] == "completed", done
    result = done["result"]
    assert "fox" in result["text"] and result["audio_seconds"] == pytest.approx(2.9, abs=0.5)
    assert result["speakers"] == 1 and result["segments"] and result["words"]
    srt = httpx.get(result["formats"]["srt"]).text  # signed: no key
    assert re.match(r"1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.*fox", srt)
    vtt = httpx.get(result["formats"]["vtt"]).text
    assert vtt.startswith("WEBVTT\n\n") and re.search(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", vtt)
    tampered = result["formats"]["srt"].replace("sig=", "sig=0")
    assert httpx.get(tampered).status_code == 404


def test_audio_url_source_and_source_rules(server: Server, origin: str) -> None:
    _Files.files["/call.wav"] = flite_wav(SECOND)
    c = client_for(server)
    resp = c.post(URL, json={"audio_url": origin + "/call.wav", "numerals": True})
    assert resp.status_code == 202, resp.text
    assert "tomorrow" in wait(c, resp.json()["job_id"])["result"]["text"]
    assert assert_problem(c.post(URL, json={}), 400, "invalid_request")["param"] == "audio_url"
    both = c.post(URL, files={"audio": ("a.wav", b"x")}, data={"audio_url": origin + "/call.wav"})
    assert assert_problem(both, 400, "invalid_request")["param"] == "audio_url"
    assert assert_problem(c.post(URL, json={"audio_url": "ftp://x/y"}), 400, "invalid_request")["param"] == "audio_url"
    bad_fmt = c.post(URL, json={"audio_url": origin + "/call.wav", "output_formats": ["docx"]})
    assert assert_problem(bad_fmt, 400, "invalid_request")["param"] == "output_formats"
    missing = c.post(URL, json={"audio_url": origin + "/missing.wav"})
    failed = wait(c, missing.json()["job_id"])
    assert failed["status"] == "failed" and "404" in failed["error"]


def test_bad_audio_fails_the_job_and_bills_nothing(server: Server) -> None:
    c = client_for(server, env="test", daily_cap=1)
    failed = wait(c, submit_upload(c, b"definitely not audio" * 50).json()["job_id"])
    assert failed["status"] == "failed" and "not a recognised audio format" in failed["error"]
    assert submit_upload(c, flite_wav(FIRST)).status_code == 202  # the failure consumed no units


def test_idempotency_replay_and_conflict(server: Server, origin: str) -> None:
    _Files.files["/idem.wav"] = flite_wav(FIRST)
    c = client_for(server)
    body = {"audio_url": origin + "/idem.wav"}
    first = c.post(URL, json=body, headers={"Idempotency-Key": "abc-1"})
    again = c.post(URL, json=body, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    conflict = c.post(URL, json={**body, "numerals": True}, headers={"Idempotency-Key": "abc-1"})
    assert_problem(conflict, 409, "idempotency_conflict")
    other = client_for(server)  # keys are per org
    assert other.post(URL, json=body, headers={"Idempotency-Key": "abc-1"}).json()["job_id"] != first.json()["job_id"]


def test_pagination_cancel_and_tenancy(server: Server, origin: str) -> None:
    _Files.files["/page.wav"] = flite_wav(FIRST)
    c = client_for(server)
    ids = [c.post(URL, json={"audio_url": origin + "/page.wav"}).json()["job_id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = c.get(URL, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [j["job_id"] for j in page["data"]]
        assert len(page["data"]) <= 2
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))  # newest first, no duplicates, nothing missed
    assert_problem(c.get(URL, params={"limit": 0}), 400, "invalid_request")
    assert_problem(c.get(URL, params={"cursor": "garbage!"}), 400, "invalid_request")
    cancelled = c.delete(f"{URL}/{ids[-1]}").json()
    assert cancelled["status"] in ("cancelled", "completed")
    final = wait(c, ids[-1])
    assert c.delete(f"{URL}/{ids[-1]}").json()["status"] == final["status"]  # idempotent on terminal jobs
    other = client_for(server)
    assert_problem(other.get(f"{URL}/{ids[0]}"), 404, "not_found")
    assert_problem(other.delete(f"{URL}/{ids[0]}"), 404, "not_found")
    assert other.get(URL).json()["data"] == []


def stereo_call() -> bytes:
    left = decode_audio(flite_wav(FIRST), target_rate=16000).samples
    right = decode_audio(flite_wav(SECOND, "rms"), target_rate=16000).samples
    n = len(left) + len(right) + 16000
    pcm = np.zeros((2, n), dtype=np.float32)
    pcm[0, : len(left)] = left
    pcm[1, len(left) + 8000 : len(left) + 8000 + len(right)] = right
    return encode(pcm, 16000, "wav", "pcm_s16le", layout="stereo")


def test_stereo_channels_are_exact_speakers(sqlite_server: Server) -> None:
    c = client_for(sqlite_server)
    job = wait(c, submit_upload(c, stereo_call(), channel="stereo").json()["job_id"])
    result = job["result"]
    assert result["speakers"] == 2
    by_channel = {ch: " ".join(s["text"] for s in result["segments"] if s["channel"] == ch) for ch in (0, 1)}
    assert "fox" in by_channel[0] and "tomorrow" in by_channel[1]
    assert {s["speaker"] for s in result["segments"] if s["channel"] == 1} == {"speaker_1"}
    starts = [s["start"] for s in result["segments"]]
    assert starts == sorted(starts)


def test_mono_diarization_separates_two_voices(sqlite_server: Server) -> None:
    gap = np.zeros(16000, dtype=np.float32)
    parts = [
        decode_audio(flite_wav(t, v), target_rate=16000).samples
        for t, v in ((FIRST, "slt"), (SECOND, "rms"), ("Thank you, that is all I needed.", "slt"))
    ]
    mono = np.concatenate([parts[0], gap, parts[1], gap, parts[2]])
    c = client_for(sqlite_server)
    job = wait(
        c, submit_upload(c, encode(mono.reshape(1, -1), 16000, "wav", "pcm_s16le"), diarize="true").json()["job_id"]
    )
    segs = job["result"]["segments"]
    assert job["result"]["speakers"] == 2
    assert segs[0]["speaker"] == segs[-1]["speaker"] != segs[1]["speaker"]


def test_webhook_secret_is_readable_by_every_scope_that_sets_up_a_webhook(server: Server) -> None:
    """Jobs, recaps and call extractions are signed with the same secret, so a key that can set up
    any of them can read it; a key that can set up none cannot."""
    mine = client_for(server).get("/v1/webhooks/secret").json()
    for scope in ("recap:configure", "omni:session"):
        key = server.create_key(org=mine["org_id"], scopes=scope)["api_key"]
        got = httpx.get(f"{server.url}/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"})
        assert got.status_code == 200 and got.json()["secret"] == mine["secret"], (scope, got.text)
    key = server.create_key(scopes="hear:transcribe")["api_key"]
    refused = httpx.get(f"{server.url}/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert "'transcribe:jobs' or 'recap:configure' or 'omni:session'" in error["message"], error
    assert error["param"] == "transcribe:jobs"


def test_signed_webhook_with_retry(server: Server, origin: str) -> None:
    c = client_for(server)
    secret = c.get("/v1/webhooks/secret").json()["secret"]
    hook = f"/hook-{server.port}-{time.time_ns()}"
    _Files.fail_first.add(hook)  # first delivery gets a 500 and is retried
    job = submit_upload(c, flite_wav(FIRST), webhook_url=origin + hook).json()
    deadline = time.time() + 30
    while time.time() < deadline and not any(
        json.loads(b)["data"]["job_id"] == job["job_id"] for _, b in _Files.received
    ):
        time.sleep(0.3)
    headers, body = next((h, b) for h, b in _Files.received if json.loads(b)["data"]["job_id"] == job["job_id"])
    sig = dict(part.split("=", 1) for part in headers["X-PyAI-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{sig['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sig["v1"], expected)
    assert abs(int(sig["t"]) - time.time()) < 60
    event = json.loads(body)
    assert event["type"] == "transcription.job.completed" and "fox" in event["data"]["result"]["text"]
    assert headers["X-PyAI-Event"] == "transcription.job.completed" and headers["X-PyAI-Delivery"].startswith("dlv_")


def long_audio() -> bytes:
    sentences = [FIRST, SECOND, "Thank you for calling, your order has shipped."] * 6
    pcm = np.concatenate([decode_audio(flite_wav(s), target_rate=16000).samples for s in sentences])
    return encode(pcm.reshape(1, -1), 16000, "wav", "pcm_s16le")


def child_processes(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie awaiting its reaper."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_job_survives_a_killed_server(tmp_path: Path) -> None:
    env = {"PYAI_JOB_LEASE_SECONDS": "3"}
    srv = Server(tmp_path, env).start()
    c = client_for(srv)
    job_id = submit_upload(c, long_audio()).json()["job_id"]
    time.sleep(0.5)
    workers = child_processes(srv.proc.pid)
    assert workers  # the streams' decoder processes, started with the server
    srv.stop(kill=True)  # SIGKILL mid-job: no cleanup ran
    deadline = time.time() + 30
    while time.time() < deadline and any(map(alive, workers)):
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)]  # they went with it
    again = Server(tmp_path, env).start()
    try:
        c2 = httpx.Client(base_url=again.url, headers=c.headers, timeout=60)
        done = wait(c2, job_id, timeout=180)
        assert done["status"] == "completed" and "fox" in done["result"]["text"]
    finally:
        again.stop()


def test_postgres_workers_share_the_queue_without_double_processing(tmp_path: Path, origin: str) -> None:
    import asyncio
    import subprocess

    import asyncpg

    from tests.server import PYAI, create_pg_database, drop_pg_database

    url = create_pg_database()
    env = {"PYAI_DATABASE_URL": url, "PYAI_WORKER_IN_PROCESS": "0"}
    srv = Server(tmp_path, env).start()
    workers = [
        subprocess.Popen(
            [*PYAI, "worker", "--data-dir", str(tmp_path)],
            env=srv.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _Files.files["/pg.wav"] = flite_wav(FIRST)
        c = client_for(srv)
        ids = [c.post(URL, json={"audio_url": origin + "/pg.wav"}).json()["job_id"] for _ in range(6)]
        assert all(wait(c, i, timeout=120)["status"] == "completed" for i in ids)

        async def claims() -> list[tuple[int, str]]:
            conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
            try:
                rows = await conn.fetch("SELECT attempts, worker_id FROM jobs WHERE id = ANY($1)", ids)
            finally:
                await conn.close()
            return [(r["attempts"], r["worker_id"]) for r in rows]

        rows = asyncio.run(claims())
        assert all(attempts == 1 for attempts, _ in rows)  # each job claimed exactly once
        assert len({w for _, w in rows}) == 2  # and both workers took part
    finally:
        for w in workers:
            w.terminate()
            w.wait(15)
        srv.stop()
        drop_pg_database(url)
