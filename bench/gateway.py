"""Gateway benchmark: authorized ``GET /v1/me`` latency and throughput at concurrency 1 and 32.

Starts its own ``pyai serve`` (SQLite, default settings but a rate limit high enough not to
interfere) and prints p50/p99 latency and requests/s. Usage: ``.venv/bin/python bench/gateway.py``.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server import Server  # noqa: E402

from bench._http import load  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp), {"PYAI_RATE_LIMIT_RPS": "5000", "PYAI_RATE_LIMIT_BURST": "5000"}).start()
        try:
            key = srv.create_key()["api_key"]
            headers = {"Authorization": f"Bearer {key}"}
            print(
                f"# GET /v1/me on {platform.processor() or platform.machine()}, "
                f"{__import__('os').cpu_count()} cores, python {platform.python_version()}"
            )
            asyncio.run(load(srv.url + "/v1/me", headers, 8, 2000))  # warm-up
            for concurrency, total in ((1, 3000), (32, 20000)):
                print(asyncio.run(load(srv.url + "/v1/me", headers, concurrency, total)).line())
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
