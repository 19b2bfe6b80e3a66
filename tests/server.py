"""Start real ``pyai serve`` processes for the tests, on SQLite or a fresh PostgreSQL database.

Tests talk to these servers exactly as clients do: over HTTP and WebSockets on a free port.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx

from pyai.audio.encode import wav_header

PYAI = [sys.executable, "-m", "pyai.cli"]
PG_ADMIN_DSN = os.environ.get("PYAI_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PYAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def bare_env(**extra: str) -> dict[str, str]:
    """A minimal environment for a ``pyai`` run: PATH, PYTHONPATH (so a checkout's own ``src`` is what
    runs, as in every server the tests start) and ``extra``."""
    keep = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {"PATH": "/usr/bin:/bin", **keep, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    """A brand-new database per server group, dropped afterwards; returns its SQLAlchemy URL."""
    name = "pyai_t_" + secrets.token_hex(6)
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Server:
    """One ``pyai serve`` process; several may share a data dir / database (replicas)."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYAI_TEST_MODE": "1", "PYAI_LOG_LEVEL": "warning", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.admin_key: str | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [*PYAI, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start in time")
        os.set_blocking(self.proc.stdout.fileno(), False)
        out = (self.proc.stdout.read() or b"").decode()
        if m := re.search(r"PYAI_API_KEY=(\S+)", out):
            self.admin_key = m.group(1)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(
            [*PYAI, *args, "--data-dir", str(self.data_dir)], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"pyai {' '.join(args)} failed: {res.stderr}")
        return res

    def create_key(
        self,
        *,
        org: str | None = None,
        env: str = "live",
        scopes: str = "*",
        credit_cents: int | None = None,
        plan: str | None = "self-hosted",
        **flags: object,
    ) -> dict:
        """``pyai keys create --json``; by default an ungated org so product tests are not billed out."""
        args = ["keys", "create", "--json", "--env", env, "--scopes", scopes]
        if org:
            args += ["--org", org]
        elif plan:
            args += ["--plan", plan]
        if credit_cents is not None:
            args += ["--credit-cents", str(credit_cents)]
        for name, value in flags.items():
            if value is not None:
                args += [f"--{name.replace('_', '-')}", str(value)]
        return json.loads(self.cli(*args).stdout)

    def transcribe(self, pcm16: bytes, rate: int) -> str:
        """What this server's batch transcription hears in mono PCM16 (what a test's caller heard)."""
        key = self.create_key(scopes="hear:*")["api_key"]
        wav = wav_header(rate, len(pcm16)) + pcm16
        resp = httpx.post(
            f"{self.url}/v1/audio/transcriptions", headers=self.headers(key), files={"file": ("a.wav", wav)}, timeout=60
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["text"]

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def query(self, sql: str) -> list[tuple]:
        """Rows straight from the server's own database (SQLite file or PostgreSQL), to check what
        it stores rather than what it shows."""
        if url := self.env.get("PYAI_DATABASE_URL"):
            import asyncpg

            async def fetch() -> list[tuple]:
                conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
                try:
                    return [tuple(row) for row in await conn.fetch(sql)]
                finally:
                    await conn.close()

            return asyncio.run(fetch())
        with closing(sqlite3.connect(self.data_dir / "pyai.db")) as db:
            return db.execute(sql).fetchall()
