"""Background priority for work that may wait: the CPU goes to what a caller is waiting on now.

On a 2-core machine a Whisper decode keeps both cores busy for ~0.5-1 s, and the work a live
caller hears or sees within a fraction of a second — the event loop, pocketsphinx partials and
``speech_final``, the turn model, the agent's speech synthesis — ran at the same priority beside
it, so under load it queued behind decodes: at 4 streams the first partial came 5 s after the
speech began (docs/benchmarks.md, "Concurrent real-time streams"). Decodes therefore run on
threads with a higher nice value: the scheduler gives them whatever the real-time work leaves
(CFS weights nice 10 at about a tenth of nice 0 when both want a core, so they are never starved),
and an idle machine decodes exactly as fast as before.

Linux applies nice per thread, and a thread inherits its creator's value, so the compute threads
an engine starts from a background thread (CTranslate2's workers and their OpenMP teams) are
background too. Raising a thread's nice needs no privilege; lowering it again does, which is why
background threads belong to their own executor and are never handed back to shared pools.
Elsewhere than Linux (where ``setpriority`` is per process) this is a no-op.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

#: The nice value of background threads (0 is normal; 19 the lowest priority).
BACKGROUND_NICE = 10


def lower_this_thread(nice: int = BACKGROUND_NICE) -> None:
    """Give the calling thread (and every thread it starts from now on) background priority."""
    if sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError as exc:  # a sandbox that forbids it: run at normal priority
        log.warning("could not lower a background thread's priority: %s", exc)


def background_executor(workers: int, name: str) -> ThreadPoolExecutor:
    """A thread pool whose threads run at background priority."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name, initializer=lower_this_thread)
