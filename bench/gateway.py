"""Gateway benchmark: authorized ``GET /v1/me`` and ``GET /v1/models`` latency and throughput at
concurrency 1 and 32, beside a minimal FastAPI app (``bench/minimal_app.py``) in the same run.

Starts its own ``pyai serve`` (SQLite, default settings but a rate limit high enough not to
interfere) and prints p50/p99 latency, requests/s and each route's throughput as a fraction of
the minimal app's. Usage: ``.venv/bin/python bench/gateway.py``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server import Server, free_port  # noqa: E402

from bench._http import load  # noqa: E402

RUNS = ((1, 3000), (32, 20000))


def measure(label: str, url: str, headers: dict[str, str]) -> dict[int, float]:
    """Print one line per concurrency; return requests/s per concurrency."""
    asyncio.run(load(url, headers, 8, 2000))  # warm-up
    rps = {}
    for concurrency, total in RUNS:
        result = asyncio.run(load(url, headers, concurrency, total))
        print(f"{label:<22} {result.line()}")
        rps[concurrency] = result.rps
    return rps


def minimal_app() -> subprocess.Popen:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("minimal_app.py")), str(port)])
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return proc


def main() -> None:
    print(
        f"# on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    base = minimal_app()
    try:
        baseline = measure("minimal FastAPI app", base.url + "/v1/me", {})  # type: ignore[attr-defined]
    finally:
        base.terminate()
        base.wait()
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "5000", "PYAI_RATE_LIMIT_BURST": "5000"}).start()
        try:
            key = srv.create_key()["api_key"]
            headers = {"Authorization": f"Bearer {key}"}
            for path in ("/v1/me", "/v1/models"):
                rps = measure(f"GET {path}", srv.url + path, headers)
                ratios = ", ".join(f"c{c}: {rps[c] / baseline[c]:.2f}x" for c, _ in RUNS)
                print(f"{'':<22} throughput vs minimal app: {ratios}")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
