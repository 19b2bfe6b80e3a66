"""A minimal keep-alive HTTP/1.1 load client on asyncio streams.

General-purpose clients spend more CPU per request than the server under test does on this
2-core machine, which would measure the client; this one only writes a request and reads one
Content-Length body per round trip.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q / 100 * len(data)))]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"concurrency {self.concurrency:>3}: {self.requests} req in {self.seconds:.2f}s = "
            f"{self.rps:,.0f} req/s, p50 {self.pct(50):.2f} ms, p99 {self.pct(99):.2f} ms, "
            f"mean {statistics.fmean(self.latencies_ms):.2f} ms, errors {self.errors}"
        )


async def _worker(url: str, headers: dict[str, str], n: int, lat: list[float], errors: list[int]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    )
    raw = head.encode()
    for _ in range(n):
        t0 = time.perf_counter()
        writer.write(raw)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        lat.append((time.perf_counter() - t0) * 1000)
        if b" 200 " not in status_line:
            errors.append(1)
    writer.close()


async def load(url: str, headers: dict[str, str], concurrency: int, total: int) -> LoadResult:
    lat: list[float] = []
    errors: list[int] = []
    per = total // concurrency
    t0 = time.perf_counter()
    await asyncio.gather(*(_worker(url, headers, per, lat, errors) for _ in range(concurrency)))
    return LoadResult(concurrency, per * concurrency, len(errors), time.perf_counter() - t0, lat)
