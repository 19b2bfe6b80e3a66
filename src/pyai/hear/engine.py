"""The process-wide Hear engines, built once on first use and shared by every Hear surface:
the full-context engine (``PYAI_STT_ENGINE``) for whole utterances and files, and the
incremental pocketsphinx workers that give streams their eager partials."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pyai.engines.stt.base import SpeechToText
from pyai.engines.stt.model_dir import model_config
from pyai.engines.stt.pocketsphinx_partials import PartialWorkers
from pyai.engines.stt.registry import get_stt
from pyai.engines.turn import smart_turn
from pyai.engines.vad import silero
from pyai.hear.decode_gate import DecodeGate


def stt_engine(services) -> SpeechToText:  # noqa: ANN001 - pyai.services.Services (import cycle)
    return services.singleton("stt", lambda: get_stt(services.settings))


#: Threads that wait on the full-context engine: every caller waiting for a decode holds one.
STT_WAITERS = 64
T = TypeVar("T")


async def in_stt_thread(services, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:  # noqa: ANN001
    """Run a call into the full-context engine (a transcribe) off the event loop, on threads of
    its own. A decode can wait seconds for the engine under load, and each waiting caller holds
    its thread: on asyncio's default executor (six threads on 2 cores) eight streams' finals
    filled it, and the turn model and speech synthesis, which need a thread for milliseconds,
    queued behind them."""
    waiters = services.singleton("stt_waiters", lambda: ThreadPoolExecutor(STT_WAITERS, thread_name_prefix="stt"))
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)  # log ids, trace: as to_thread
    return await asyncio.get_running_loop().run_in_executor(waiters, call)


def decode_gate(services) -> DecodeGate:  # noqa: ANN001
    """The process's one gate in front of the full-context engine (finals first, look-aheads when idle)."""
    return services.singleton("stt_gate", lambda: DecodeGate(getattr(stt_engine(services), "workers", 1)))


def partial_workers(services) -> PartialWorkers:  # noqa: ANN001
    settings = services.settings
    config = model_config(settings.stt_model_dir) if settings.stt_model_dir else {}
    return services.singleton("stt_partials", lambda: PartialWorkers(config, settings.stt_processes))


def warm_stream_models() -> None:
    """Load (and verify) the VAD and turn models of streaming sessions."""
    silero.load()
    smart_turn.load()
