"""Background priority: decodes' threads (and the threads they start) yield the CPU to live work."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from pyai.engines.cpu_priority import BACKGROUND_NICE, background_executor

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _nice_of_a_thread_started_here() -> int:
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(_nice()))
    t.start()
    t.join()
    return seen[0]


def test_background_threads_and_the_threads_they_start_run_at_background_priority() -> None:
    before = _nice()
    with background_executor(2, "test-bg") as pool:
        assert pool.submit(_nice).result() == max(BACKGROUND_NICE, before)
        # compute libraries start their worker threads from the calling thread: those inherit it
        assert pool.submit(_nice_of_a_thread_started_here).result() == max(BACKGROUND_NICE, before)
    assert _nice() == before  # the caller's own thread is untouched
    assert _nice_of_a_thread_started_here() == before
