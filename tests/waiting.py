"""Waiting as the tests must on a loaded machine: on a condition or an event, with a generous
deadline, never a short fixed window."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


def eventually(probe: Callable[[], object], what: str, timeout: float = 90) -> object:
    """``probe()``'s first truthy value, polled until ``timeout`` seconds; else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def collect(ws: ClientConnection, timeout: float = 60) -> list[dict]:
    """Every JSON frame until the server closes (each awaited at most ``timeout`` seconds)."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except ConnectionClosed:
        return frames
