"""Decodes are waited on in threads of their own (hear.engine.in_stt_thread): never the event loop's,
never asyncio's default executor, and with the caller's context (log ids, trace) as to_thread has."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from pyai.hear.engine import in_stt_thread

REQUEST = contextvars.ContextVar("request", default="none")


class Services:
    def __init__(self) -> None:
        self.extras: dict[str, object] = {}

    def singleton(self, name: str, factory):  # noqa: ANN001, ANN201 - as pyai.services.Services
        if name not in self.extras:
            self.extras[name] = factory()
        return self.extras[name]


def test_a_decode_waits_on_an_stt_thread_with_the_callers_context() -> None:
    services = Services()

    def seen(word: str) -> tuple[str, str, str]:
        return threading.current_thread().name, REQUEST.get(), word

    async def main() -> tuple[str, str, str]:
        REQUEST.set("req_1")
        return await in_stt_thread(services, seen, word="hello")

    name, request, word = asyncio.run(main())
    assert name.startswith("stt") and request == "req_1" and word == "hello"


def test_waiting_decodes_leave_the_default_executor_free() -> None:
    """Many decodes blocked in the engine do not hold the threads the turn model and TTS use."""
    services, release = Services(), threading.Event()

    async def main() -> bool:
        blocked = [asyncio.ensure_future(in_stt_thread(services, release.wait)) for _ in range(16)]
        await asyncio.sleep(0.1)
        quick = await asyncio.wait_for(asyncio.to_thread(lambda: True), timeout=30)
        release.set()
        await asyncio.gather(*blocked)
        return quick

    assert asyncio.run(main())
