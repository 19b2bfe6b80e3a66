"""Running a Hear :class:`~pyai.hear.streaming.StreamSession`'s work beside a WebSocket's receive
loop — the listening half of every realtime surface (Hear streams, Omni conversations).

The work goes to two kinds of lane that never hold up reading audio: the *recogniser lane* (one
task) sends audio to the session's incremental decoder in its worker process, in order,
coalescing whatever piled up while the previous call ran (so a busy machine gets fewer, larger
partial ticks, never a backlog); each *final*, *look-ahead* and *turn judgement* is its own task
(the full-context engine and the turn model run in threads). Every result goes back through the
session, and what that returns is handed to ``deliver`` — on the event loop, so session state is
touched by one task at a time.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from pyai.engines.stt.base import EngineUnavailable, Transcript
from pyai.engines.stt.pocketsphinx_partials import PartialSession
from pyai.engines.turn.smart_turn import turn_probability
from pyai.hear.engine import decode_gate, in_stt_thread, partial_workers, stt_engine
from pyai.hear.keyterms import keyterm_prompt
from pyai.hear.streaming import Decode, Finish, JudgeTurn, LookAhead, Output, Recognize, StreamSession, Work
from pyai.ops.tracing import span

log = logging.getLogger("pyai.hear.stream")


class Listening:
    def __init__(
        self,
        session: StreamSession,
        services: Any,
        deliver: Callable[[Output], Awaitable[None]],
        tasks: asyncio.TaskGroup,
    ) -> None:
        self.session = session
        self.services = services
        self.deliver = deliver
        self.tasks = tasks
        self.stt = stt_engine(services)
        self.gate = decode_gate(services)
        self.recognizer: PartialSession | None = None
        self.lane: collections.deque[Recognize | Finish] = collections.deque()
        self.lane_ready = asyncio.Event()
        #: The span a decode's ``stt`` span goes under (an Omni call's turn); None: the current one.
        self.span_parent: Callable[[Decode | LookAhead], Any] = lambda work: None

    def submit(self, work: Work) -> None:
        """Hand one piece of the session's work to its lane."""
        if isinstance(work, Recognize | Finish):
            self.lane.append(work)
            self.lane_ready.set()
        elif isinstance(work, Decode):
            self.tasks.create_task(self._final(work))
        elif isinstance(work, LookAhead):
            self.tasks.create_task(self._look_ahead(work))
        else:
            self.tasks.create_task(self._judge(work))

    def close(self) -> None:
        if self.recognizer is not None:
            self.recognizer.close()

    async def recognizer_lane(self) -> None:
        """Run for the session's life (cancel it when done)."""
        while True:
            await self.lane_ready.wait()
            self.lane_ready.clear()
            while self.lane:
                work = self.lane.popleft()
                if self.recognizer is None:
                    self.recognizer = await partial_workers(self.services).open()
                if isinstance(work, Finish):
                    await self.deliver(self.session.on_quick(work.uid, await self.recognizer.finish()))
                    continue
                pcm = [work.pcm]
                while self.lane and isinstance(self.lane[0], Recognize) and self.lane[0].uid == work.uid:
                    work = self.lane.popleft()  # type: ignore[assignment]
                    pcm.append(work.pcm)
                hypothesis = await self.recognizer.accept(b"".join(pcm))
                await self.deliver(self.session.on_partial(work.uid, hypothesis, work.t_ms))

    async def _decode(self, work: Decode | LookAhead) -> Transcript:
        with span("stt", self.span_parent(work), **{"pyai.stt.decode": type(work).__name__.lower()}):
            return await self.transcribe(work.samples, work.prefix)

    async def transcribe(self, samples: np.ndarray, prefix: str = "") -> Transcript:
        """A whole utterance (16 kHz float) with the full-context engine, as the session's options
        say (language, key terms): the final of a stream, or a push-to-talk turn."""
        options = self.session.options
        kwargs = {"prefix": prefix} if prefix else {}
        return await in_stt_thread(
            self.services,
            self.stt.transcribe,
            samples,
            language=options.language,
            prompt=keyterm_prompt(options.keyterms),
            **kwargs,
        )

    async def _final(self, work: Decode) -> None:
        with self.gate.final():
            try:
                transcript = await self._decode(work)
            except EngineUnavailable as e:  # e.g. a remote engine failing: the quick transcript stands in
                log.warning("full-context decode unavailable, using the incremental result: %s", e)
                transcript = None
        await self.deliver(self.session.on_final(work.uid, transcript))

    async def _look_ahead(self, work: LookAhead) -> None:
        """Optional: skipped (answered with None) when the engine is busy or fails."""
        transcript = None
        with self.gate.look_ahead(work.at_pause) as admitted:
            if admitted:
                try:
                    transcript = await self._decode(work)
                except EngineUnavailable:
                    transcript = None
        await self.deliver(self.session.on_lookahead(work, transcript))

    async def _judge(self, work: JudgeTurn) -> None:
        probability = await asyncio.to_thread(turn_probability, work.audio)
        await self.deliver(self.session.on_turn(work.uid, work.pause, probability))
