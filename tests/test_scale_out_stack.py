"""The scale-out stack of deploy/compose.yaml, run here as processes from the same files.

No container runtime exists on this machine, so the services of ``deploy/compose.yaml`` are started
the way their containers would start them: ``pyai migrate`` once (the one-shot ``migrate`` service),
then two API replicas (``api``, its ``command`` and ``environment``) and one ``pyai worker`` (``worker``)
on a fresh PostgreSQL database and the test Redis, sharing one data directory (the ``pyai-data``
volume), and nginx (``proxy``) running ``deploy/nginx.conf`` rendered exactly as the compose file
renders it (its envsubst variables, the upstream line with ``api:8080`` replaced by each replica's
address). Only hosts and ports differ from compose.

Through nginx: an async transcription job (which only the separate worker can run, since the
replicas have ``PYAI_WORKER_IN_PROCESS=false``), a Hear WebSocket stream held at real-time pace, and
plain requests that the replicas' own logs show were spread over both.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pyai.api.body_limits import MULTIPART_OVERHEAD, UPLOAD_ROUTES, too_large
from pyai.settings import Settings
from tests.media import flite_wav, pcm16, silence_pcm16
from tests.server import PYAI, REDIS_URL, create_pg_database, drop_pg_database, free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SENTENCE = "The quick brown fox jumps over the lazy dog."
START_TIMEOUT = 120  # two replicas and a worker load their engines at once on two cores


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's variable syntax: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""

    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise KeyError(f"compose needs {name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def service(name: str) -> dict:
    """A compose service with its ``<<`` merges resolved (PyYAML does that) and its variables interpolated."""
    return COMPOSE["services"][name]


def service_env(name: str, variables: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), variables) for k, v in service(name)["environment"].items()}


def service_command(name: str, variables: dict[str, str]) -> list[str]:
    return [interpolate(str(a), variables) for a in service(name)["command"]]


def render_nginx_conf(variables: dict[str, str]) -> str:
    """deploy/nginx.conf through the proxy service's own ``envsubst '${A} ${B}'``: only those names."""
    script = " ".join(service("proxy")["command"])
    names = re.findall(r"\$\{(\w+)\}", re.search(r"envsubst '([^']*)'", script).group(1).replace("$$", "$"))
    template = (DEPLOY / "nginx.conf").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", template)) == set(names), "nginx.conf and compose disagree on variables"
    for name in names:
        template = template.replace("${" + name + "}", variables[name])
    return template


@dataclass
class Proc:
    """One service's process, its output in a log file of the shared tmp dir."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None  # an API replica's
    proc: subprocess.Popen | None = None
    _log: object = field(default=None, repr=False)

    def start(self) -> Proc:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)  # a replica drains first (PYAI_DRAIN_TIMEOUT_SECONDS), with nothing open
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()


def wait_for(url: str, procs: list[Proc], timeout: float = START_TIMEOUT) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in procs:
            p.alive()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready after {timeout} s")


@dataclass
class Stack:
    proxy_url: str
    replicas: list[Proc]
    worker: Proc
    nginx: Proc
    env: dict[str, str]
    pg_url: str
    key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if "postgres" not in os.environ.get("PYAI_TEST_BACKENDS", "sqlite,postgres"):
        pytest.skip("the scale-out stack runs on PostgreSQL (PYAI_TEST_BACKENDS leaves it out)")
    nginx_bin = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx_bin is None:
        pytest.fail("nginx is missing: scripts/setup.sh installs it (deploy/apt-packages-dev.txt)")
    tmp = tmp_path_factory.mktemp("scale-out")
    data = tmp / "data"  # the pyai-data volume every replica and worker mounts
    pg_url = create_pg_database()
    variables = {"POSTGRES_PASSWORD": "unused", "PYAI_SECRET_KEY": "scale-out-test-" + os.urandom(12).hex()}
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYAI_")}
    image_env = {"PYAI_DATA_DIR": str(data)}  # the Dockerfile's ENV PYAI_DATA_DIR=/data
    hosts = {"PYAI_DATABASE_URL": pg_url, "PYAI_REDIS_URL": REDIS_URL}  # compose's hosts are postgres and redis
    env = {
        name: {**base, **image_env, **service_env(name, variables), **hosts} for name in ("migrate", "api", "worker")
    }
    started: list[Proc] = []
    try:
        migrate = subprocess.run(
            [*PYAI, *service_command("migrate", variables)], env=env["migrate"], capture_output=True, text=True
        )
        assert migrate.returncode == 0, migrate.stderr  # others start only after it completed successfully

        api_cmd = service_command("api", variables)
        assert api_cmd[:1] == ["serve"] and "--port" in api_cmd and "--host" in api_cmd
        replicas = []
        for i in range(2):
            port = free_port()
            argv = list(api_cmd)
            argv[argv.index("--host") + 1], argv[argv.index("--port") + 1] = "127.0.0.1", str(port)
            replicas.append(Proc(f"api-{i + 1}", [*PYAI, *argv], env["api"], tmp / f"api-{i + 1}.log", port))
        worker = Proc("worker", [*PYAI, *service_command("worker", variables)], env["worker"], tmp / "worker.log")
        for p in [*replicas, worker]:
            started.append(p.start())
        for r in replicas:
            wait_for(f"http://127.0.0.1:{r.port}/readyz", started)  # the api service's healthcheck

        proxy_env = service("proxy")["environment"]
        proxy_port = free_port()
        upstream = interpolate(proxy_env["PYAI_API_UPSTREAMS"], variables)
        assert "api:8080" in upstream
        prefix = tmp / "nginx"
        (prefix / "tmp").mkdir(parents=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                {
                    "PYAI_PROXY_PORT": f"127.0.0.1:{proxy_port}",
                    "PYAI_API_UPSTREAMS": " ".join(
                        upstream.replace("api:8080", f"127.0.0.1:{r.port}") for r in replicas
                    ),
                }
            )
        )
        nginx = Proc(
            "nginx", [nginx_bin, "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"], base, tmp / "nginx.log"
        )
        started.append(nginx.start())
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        wait_for(proxy_url + "/healthz", started, timeout=30)

        keys = subprocess.run(
            [*PYAI, "keys", "create", "--json", "--plan", "self-hosted", "--label", "scale-out"],
            env=env["api"],
            capture_output=True,
            text=True,
        )
        assert keys.returncode == 0, keys.stderr
        yield Stack(proxy_url, replicas, worker, nginx, env["api"], pg_url, json.loads(keys.stdout)["api_key"])
    finally:
        for p in reversed(started):
            p.stop()
        drop_pg_database(pg_url)


def test_compose_wires_the_stack_as_tested() -> None:
    """What the processes below stand for: the compose file's ordering, replicas and settings."""
    api, worker, migrate, proxy = (service(n) for n in ("api", "worker", "migrate", "proxy"))
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    for s in (api, worker):
        assert s["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert s["environment"]["PYAI_WORKER_IN_PROCESS"] == "false"
        assert s["volumes"] == ["pyai-data:/data"]
    assert api["command"][0] == "serve" and worker["command"][0] == "worker"
    assert interpolate(str(api["deploy"]["replicas"]), {}) == "2"
    assert int(interpolate(str(worker["deploy"]["replicas"]), {})) >= 1
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    # a replica's stop grace outlasts its drain
    drain = float(interpolate(api["environment"]["PYAI_DRAIN_TIMEOUT_SECONDS"], {}))
    assert float(api["stop_grace_period"].rstrip("s")) > drain
    # the proxy enforces the server's body limits (api/body_limits.py) on the same routes
    conf = (DEPLOY / "nginx.conf").read_text()
    upload, json_limit = int(api["environment"]["PYAI_MAX_UPLOAD_BYTES"]), Settings().max_json_bytes
    limits = [int(n) for n in re.findall(r"client_max_body_size (\d+);", conf)]
    assert limits == [json_limit, upload + MULTIPART_OVERHEAD]
    routes = re.search(r"location ~ \^/v1/\(([^)]*)\)\$ \{\s*client_max_body_size", conf).group(1).split("|")
    assert {"/v1/" + r.replace("[^/]+", "{id}") for r in routes} == set(UPLOAD_ROUTES)


def test_job_runs_on_the_separate_worker(stack: Stack) -> None:
    c = httpx.Client(base_url=stack.proxy_url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=60)
    resp = c.post(
        "/v1/transcription/jobs",
        files={"audio": ("fox.wav", flite_wav(SENTENCE))},
        data={"output_formats": "json,srt"},
        headers={"x-request-id": "scale-job-submit"},
    )
    assert resp.status_code == 202, resp.text
    assert resp.headers["x-request-id"] == "scale-job-submit"
    job_id = resp.json()["job_id"]
    deadline, job = time.time() + 150, {}
    while time.time() < deadline:
        job = c.get(f"/v1/transcription/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        stack.worker.alive()
        time.sleep(0.5)
    assert job["status"] == "completed", job
    assert "fox" in job["result"]["text"].lower()
    # Run by the worker process (the replicas run none): the row names it as host:pid:…
    rows = asyncio.run(_fetch(stack.pg_url, "SELECT worker_id FROM jobs WHERE id = $1", job_id))
    assert rows[0][0].split(":")[1] == str(stack.worker.proc.pid)
    # The signed subtitle link is served by whichever replica gets it (one secret, one blob volume).
    srt = httpx.get(job["result"]["formats"]["srt"], timeout=30)
    assert srt.status_code == 200 and "fox" in srt.text.lower()


async def _fetch(url: str, sql: str, *args: object) -> list[tuple]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def test_websocket_stream_through_nginx(stack: Stack) -> None:
    """A Hear stream, sent at real-time pace (~5 s), upgraded and held by nginx to the end."""
    pcm = silence_pcm16(0.5) + pcm16(flite_wav(SENTENCE)) + silence_pcm16(1.5)
    url = stack.proxy_url.replace("http://", "ws://") + "/v1/audio/transcriptions/stream"

    async def session() -> tuple[list[dict], int | None, str | None]:
        frames: list[dict] = []
        async with connect(
            url, subprotocols=[f"pyai-key.{stack.key}"], additional_headers={"x-request-id": "scale-ws"}, max_size=None
        ) as ws:
            step = 16000 * 2 // 10  # 100 ms
            for i in range(0, len(pcm), step):
                await ws.send(pcm[i : i + step])
                await asyncio.sleep(0.1)
            await ws.send("EOF")
            try:
                while True:
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))
            except ConnectionClosed:
                pass
        return frames, ws.close_code, ws.subprotocol

    frames, close_code, subprotocol = asyncio.run(session())
    kinds = [f["type"] for f in frames]
    assert subprotocol == f"pyai-key.{stack.key}" and close_code == 1000, kinds
    assert "error" not in kinds and kinds[-1] == "usage"
    finals = [f for f in frames if f["type"] == "final"]
    assert finals and "fox" in finals[0]["text"].lower()
    assert any("scale-ws" in r.log() for r in stack.replicas)


def test_requests_reach_both_replicas(stack: Stack) -> None:
    c = httpx.Client(base_url=stack.proxy_url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=30)
    ids = [f"scale-me-{i}" for i in range(10)]
    for rid in ids:
        resp = c.get("/v1/me", headers={"x-request-id": rid})
        assert resp.status_code == 200 and resp.headers["x-request-id"] == rid
    # nginx made up an id where the client sent none, and passed it to the replica
    anonymous = c.get("/v1/me")
    assert re.fullmatch(r"[0-9a-f]{32}", anonymous.headers["x-request-id"])
    deadline = time.time() + 10
    while time.time() < deadline:  # access lines are written as each request ends
        served = [{rid for rid in ids if re.search(rf"\b{rid}\b", r.log())} for r in stack.replicas]
        if set().union(*served) == set(ids):
            break
        time.sleep(0.2)
    assert set().union(*served) == set(ids), served
    assert all(served), f"one replica got every request: {served}"
    upstreams = set(re.findall(r"upstream=(127\.0\.0\.1:\d+)", stack.nginx.log()))
    assert upstreams == {f"127.0.0.1:{r.port}" for r in stack.replicas}


def test_oversized_bodies_get_the_servers_413_from_nginx(stack: Stack) -> None:
    """Over the server's limits, nginx refuses first (a replica refusing mid-body would be a 502) with
    the very envelope the server sends."""
    c = httpx.Client(base_url=stack.proxy_url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=60)
    upload = int(service("api")["environment"]["PYAI_MAX_UPLOAD_BYTES"])
    cases = [
        ("/v1/audio/transcriptions", {"files": {"file": ("big.wav", b"\0" * (upload + 256 * 1024))}}, "file", upload),
        ("/v1/transcription/jobs", {"files": {"audio": ("big.wav", b"\0" * (upload + 256 * 1024))}}, "audio", upload),
        ("/v1/agents", {"json": {"name": "x" * (Settings().max_json_bytes + 1)}}, "body", Settings().max_json_bytes),
    ]
    for path, body, param, limit in cases:
        resp = c.post(path, headers={"x-request-id": f"too-big-{param}"}, **body)
        assert resp.status_code == 413, (path, resp.status_code, resp.text[:200])
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.headers["x-request-id"] == f"too-big-{param}"
        expected = json.loads(too_large(limit, param).response(f"too-big-{param}").body)
        assert resp.json() == expected
