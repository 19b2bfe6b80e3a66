"""Jobs that fail for good leave their resource failed, with the reason, over real HTTP.

The server runs no worker; each test starts ``pyai worker`` processes pointed at a broken
transcription endpoint (``PYAI_STT_ENGINE=openai``), an honest fault every voice and hear job meets:
one that refuses connections (each attempt fails and is retried until none are left), or one that
accepts and never answers (so a worker can be killed mid-job, as a crashed machine would be).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, start_server
from tests.media import flite_wav
from tests.server import PYAI, Server, drop_pg_database, free_port
from tests.test_transcription_jobs import _Files, origin  # noqa: F401 - the webhook receiver fixture
from tests.test_voice_clone_design import reference_wav
from tests.waiting import eventually

JOB_LEASE_SECONDS = 2


@pytest.fixture(scope="module", params=BACKENDS)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server, pg_url = start_server(
        tmp_path_factory.mktemp(f"job-failures-{request.param}"), request.param, {"PYAI_WORKER_IN_PROCESS": "false"}
    )
    yield server
    server.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def client(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=srv.headers(srv.create_key()["api_key"]), timeout=60) as c:
        yield c


class SilentEndpoint:
    """A TCP listener that accepts connections and never answers; counts the requests it swallowed."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@contextmanager
def worker(srv: Server, stt_url: str) -> Iterator[subprocess.Popen]:
    env = {
        **srv.env,
        "PYAI_STT_ENGINE": "openai",
        "PYAI_STT_BASE_URL": stt_url,
        "PYAI_STT_TIMEOUT_SECONDS": "600",
        "PYAI_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
    }
    with open(srv.data_dir / "workers.log", "ab") as log:
        proc = subprocess.Popen([*PYAI, "worker", "--data-dir", str(srv.data_dir)], env=env, stderr=log)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # stuck in a call that never returns
            proc.kill()
            proc.wait()


def design_status(c: httpx.Client, design_id: str) -> dict:
    return c.get(f"/v1/voice/design/{design_id}").json()


def clone_status(c: httpx.Client, voice_id: str) -> dict:
    return next(v for v in c.get("/v1/voice/clones").json()["data"] if v["id"] == voice_id)


def blob(srv: Server, key: str) -> Path:
    return srv.data_dir / "blobs" / key


def test_jobs_out_of_retries_fail_their_resources(srv: Server, client: httpx.Client, origin: str) -> None:  # noqa: F811
    refused = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: every attempt fails at once
    hook = f"/failed-{srv.port}-{time.time_ns()}"
    with worker(srv, refused):
        design = client.post("/v1/voice/design", json={"prompt": "a calm woman", "candidates": 1}).json()
        clone = client.post("/v1/voice/clones", data={"name": "x"}, files={"file": ("r.wav", reference_wav())}).json()
        job = client.post(
            "/v1/transcription/jobs",
            files={"audio": ("a.wav", flite_wav("Hello there."))},
            data={"webhook_url": origin + hook},
        ).json()
        reason = "the transcription endpoint did not answer"

        done = eventually(
            lambda: (d := design_status(client, design["design_id"]))["status"] == "failed" and d, "design"
        )
        assert reason in done["error"] and done["candidates"] == []

        voice = eventually(lambda: (v := clone_status(client, clone["id"]))["status"] == "failed" and v, "clone")
        assert reason in voice["error"]
        assert not blob(srv, f"clones/{clone['id']}/reference.bin").exists()  # the recording is not kept

        event = eventually(
            lambda: next(
                (json.loads(b) for h, b in _Files.received if json.loads(b)["data"]["job_id"] == job["job_id"]), None
            ),
            "the failed-job webhook",
        )
        assert event["type"] == "transcription.job.failed" and reason in event["data"]["error"]
        assert client.get(f"/v1/transcription/jobs/{job['job_id']}").json()["status"] == "failed"
        assert not blob(srv, f"jobs/{job['job_id']}/input.bin").exists()


def test_a_job_whose_workers_keep_dying_fails_its_design(srv: Server, client: httpx.Client) -> None:
    silent = SilentEndpoint()  # each attempt hangs in the transcription call until its worker is killed
    try:
        design = client.post("/v1/voice/design", json={"prompt": "a calm woman", "candidates": 1}).json()
        for attempt in (1, 2, 3):
            with worker(srv, silent.url) as proc:
                eventually(lambda n=attempt: len(silent.accepted) >= n, f"attempt {attempt} to reach the endpoint")
                proc.kill()  # SIGKILL mid-job: no cleanup, the lease just lapses
        assert design_status(client, design["design_id"])["status"] == "running"
        with worker(srv, silent.url):
            done = eventually(
                lambda: (d := design_status(client, design["design_id"]))["status"] != "running" and d, "the design"
            )
        assert done["status"] == "failed" and "3 of 3" in done["error"], done
        assert len(silent.accepted) == 3  # no fourth attempt
    finally:
        silent.close()
