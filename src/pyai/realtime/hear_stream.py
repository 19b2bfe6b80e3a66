"""``GET /v1/audio/transcriptions/stream``: streaming Hear, and Cue when grounding is enabled.

Wire protocol (documented in docs/hear-stream.md): binary frames carry audio; text frames carry
``{"type":"config",…}`` (first frame only; turns on Cue grounding), ``{"type":"commit"}``
(force-finalise the utterance) or the literal ``EOF`` (flush, send ``usage``, close 1000).
The server sends ``partial``, ``speech_final``, ``final``, ``usage`` and ``error`` frames.
Recognition never runs on the event loop: partials come from a pocketsphinx decoder in a worker
process, finals from the full-context engine in a thread (see ``_Stream``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pyai import safe_json
from pyai.audio.g711 import ENCODINGS as G711
from pyai.engines.turn.policy import EAGERNESS_LEVELS
from pyai.gateway.auth import caller
from pyai.gateway.errors import ApiError
from pyai.gateway.principal import Principal
from pyai.gateway.streaming_hold import StreamingHold
from pyai.hear.engine import stt_engine
from pyai.hear.keyterms import parse_keyterms
from pyai.hear.language import language_problem
from pyai.hear.streaming import (
    Output,
    StreamOptions,
    StreamSession,
)
from pyai.knowledge.grounding import GroundingConfig, ground, validate_grounding_config
from pyai.realtime.admission import (
    CLOSE_ENGINE_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    close_code_for,
    leased,
    reject,
)
from pyai.realtime.listening import Listening

log = logging.getLogger("pyai.hear.stream")
router = APIRouter()

MAX_FRAME_BYTES = 1 << 20


def parse_options(params: dict[str, str]) -> StreamOptions:
    """Query parameters → options; ValueError names the bad parameter."""

    def flag(name: str, default: bool) -> bool:
        raw = params.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{name}: expected true or false, got {raw!r}")

    def number(name: str, kind: type, default: Any) -> Any:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {raw!r}") from None

    encoding = params.get("encoding", "pcm16")
    if encoding not in ("pcm16", "opus", *G711):
        raise ValueError(f"encoding: must be pcm16, opus, {' or '.join(G711)}")
    sample_rate = number("sample_rate", int, 8000 if encoding in G711 else 16000)
    if not 8000 <= sample_rate <= 48000:
        raise ValueError("sample_rate: must be between 8000 and 48000")
    if encoding in G711 and sample_rate != 8000:
        raise ValueError(f"sample_rate: {encoding} is 8000 Hz telephone audio")
    model = params.get("model", "pyai-hear")
    if model not in ("pyai-hear", "pyai-hear-telephony"):
        raise ValueError(f"model: unknown streaming model {model!r}")
    endpointing = number("endpointing_ms", int, None)
    eagerness = params.get("eagerness", "normal")
    if eagerness not in EAGERNESS_LEVELS:
        raise ValueError(f"eagerness: must be one of {', '.join(EAGERNESS_LEVELS)}")
    return StreamOptions(
        sample_rate=sample_rate,
        encoding=encoding,
        interim_results=flag("interim_results", True),
        numerals=flag("numerals", False),
        language=params.get("language", "en"),
        endpointing_ms=None if endpointing is None else min(5000, max(50, endpointing)),
        eagerness=eagerness,
        keyterms=parse_keyterms(params.get("keyterms")),
        seed=number("seed", int, None),
        temperature=number("temperature", float, None),
    )


class _Stream:
    """One accepted session: the receive loop feeds the sans-I/O session; recognition runs beside
    it in the listening lanes (realtime/listening.py). All session state is touched on the event
    loop only."""

    def __init__(
        self, ws: WebSocket, session: StreamSession, services: Any, principal: Any, release_lease: Callable
    ) -> None:
        self.ws = ws
        self.release_lease = release_lease
        self.session = session
        self.services = services
        self.principal = principal
        self.budget: StreamingHold | None = None  # opened at the first audio, once the product is known
        self.grounding: GroundingConfig | None = None
        self.seen_audio = False
        self.finished = False
        self.listening: Listening | None = None  # made when the session's task group starts
        self.progress = asyncio.Event()  # set whenever an utterance result was applied
        self.send_lock = asyncio.Lock()
        self.emit_lock = asyncio.Lock()  # session events leave in the order they were made

    # ---- output ----------------------------------------------------------------------------
    async def send(self, frame: dict) -> None:
        async with self.send_lock:
            await self.ws.send_json(frame)

    async def apply(self, out: Output) -> None:
        """Send the session's events (grounded for Cue) and hand its work to the lanes.

        Events go out one ``apply`` at a time, in the order the session made them: a
        ``speech_final`` waiting on its grounding must not be overtaken by its ``final``, which
        another lane may hand over meanwhile.
        """
        async with self.emit_lock:
            for event in out.events:
                if event["type"] == "speech_final" and self.grounding is not None:
                    passages = await ground(self.services, self.principal.org_id, self.grounding, event["text"])
                    event["grounding"] = passages
                    self.session.remember_grounding(event["utterance_id"], passages)
                elif event["type"] == "final" and self.grounding is not None:
                    event["grounding"] = self.session.grounding_for(event["utterance_id"])
                await self.send(event)
        assert self.listening is not None
        for work in out.work:
            self.listening.submit(work)
        self.progress.set()

    # ---- input -----------------------------------------------------------------------------
    async def on_text(self, text: str) -> bool:
        """Handle a control frame; returns False when the session should end (EOF)."""
        if text.strip() == "EOF":
            await self.apply(self.session.commit())
            return False
        if len(text) > MAX_FRAME_BYTES:  # a control frame is tiny; do not even scan a huge one
            await self._soft_error("frame_too_large", f"text frames must be at most {MAX_FRAME_BYTES} characters")
            return True
        try:
            frame = safe_json.loads(text)
        except safe_json.InvalidJSON as e:
            await self._soft_error("invalid_json", f"Text frame {e}. Text frames are JSON or the literal EOF.")
            return True
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "commit":
            await self.apply(self.session.commit())
        elif kind == "config":
            if self.seen_audio or self.grounding is not None:
                await self._soft_error("invalid_frame", "config must be the first frame of the session")
                return True
            try:
                config = validate_grounding_config(frame, allow_loopback=self.services.settings.test_mode)
            except ValueError as e:
                await self.close_with("invalid_config", str(e), CLOSE_POLICY)
                raise _Closed from None
            if config.grounding:
                self.grounding = config
                self.session.product = "cue"
        else:
            await self._soft_error(
                "invalid_frame", 'text frames must be JSON {"type":"commit"|"config"} or the literal EOF'
            )
        return True

    async def _soft_error(self, code: str, message: str) -> None:
        await self.send({"type": "error", "code": code, "message": message})

    async def run(self) -> None:
        """Read until EOF (then wait for the last results) or until the client goes away."""
        async with asyncio.TaskGroup() as tasks:
            self.listening = Listening(self.session, self.services, self.apply, tasks)
            lane = tasks.create_task(self.listening.recognizer_lane())
            await self._receive()
            while self.session.busy:  # EOF: every utterance's speech_final and final, then usage
                self.progress.clear()
                await self.progress.wait()
            lane.cancel()

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if (data := message.get("bytes")) is not None:
                if len(data) > MAX_FRAME_BYTES:
                    await self._soft_error("frame_too_large", f"audio frames must be at most {MAX_FRAME_BYTES} bytes")
                    continue
                await self._open_budget()
                self.seen_audio = True
                try:
                    out = self.session.feed_bytes(data)
                except ValueError as e:  # undecodable Opus packet or a torn PCM16 frame
                    await self._soft_error("invalid_audio", str(e))
                    continue
                await self.apply(out)
                await self._check_budget()
            elif (text := message.get("text")) is not None and not await self.on_text(text):
                return

    # ---- billing ---------------------------------------------------------------------------
    async def _open_budget(self) -> None:
        """Hold the first chunk of units at the first audio frame (the product is fixed by then)."""
        if self.budget is not None:
            return
        meter = f"{self.session.product}.minutes"
        self.budget = StreamingHold(self.services.billing, self.principal, meter)
        try:
            await self.budget.open()
        except ApiError as e:
            await self.close_with(e.code, e.message, close_code_for(e))
            raise _Closed from None

    async def _check_budget(self) -> None:
        """Re-check the billing limits as the session runs; out of room, end it like EOF would."""
        assert self.budget is not None
        if await self.budget.cover(self.session.exposure_seconds):
            return
        await self.apply(self.session.commit())
        while self.session.busy:
            self.progress.clear()
            await self.progress.wait()
        refusal = self.budget.refusal
        assert refusal is not None
        await self.close_with(refusal.code, refusal.message, close_code_for(refusal))
        raise _Closed

    async def close_with(self, code: str, message: str, close_code: int) -> None:
        """End the session with an ``error`` frame: bill and free the slot first, then say why."""
        await self.finish(graceful=False)
        await reject(self.ws, code, message, close_code)

    async def finish(self, graceful: bool) -> None:
        """Bill what was heard (at most what was held); on a graceful end send ``usage`` and close 1000."""
        if self.finished:
            return
        self.finished = True
        if self.listening is not None:
            self.listening.close()
        seconds = self.session.billed_seconds if graceful else self.session.abandon()
        meter = f"{self.session.product}.minutes"
        billed = await self.budget.close(seconds) if self.budget else 0.0
        await self.release_lease()  # before the closing frame: a client may reconnect the moment it sees it
        if graceful:
            with contextlib.suppress(Exception):
                if billed > 0:
                    await self.send(
                        {
                            "type": "usage",
                            "product": self.session.product,
                            "meter": meter,
                            "audio_seconds": round(billed, 3),
                            "minutes": round(billed / 60, 6),
                        }
                    )
                await self.ws.close(CLOSE_NORMAL)


class _Closed(Exception):
    """The session was already closed with an error frame."""


@router.websocket("/v1/audio/transcriptions/stream")
async def transcription_stream(ws: WebSocket, principal: Principal = caller()) -> None:
    services = ws.app.state.services
    async with leased(ws, principal) as release:
        if release is None:
            return
        try:
            options = parse_options(dict(ws.query_params))
        except ValueError as e:
            await reject(ws, "invalid_request", str(e), CLOSE_POLICY)
            return
        if problem := language_problem(stt_engine(services), options.language):
            await reject(ws, "invalid_request", problem, CLOSE_POLICY)
            return
        options.lookahead = stt_engine(services).forces_prefix
        stream = _Stream(ws, StreamSession(options), services, principal, release)
        graceful = False
        try:
            await stream.run()
            graceful = True
        except* (WebSocketDisconnect, _Closed):
            pass  # the client went away (its pending work is cancelled; billed by what was heard) or was told why
        except* Exception:
            log.exception("stream engine error")
            await stream.close_with(
                "engine_error", "The speech engine failed; the session is closed.", CLOSE_ENGINE_ERROR
            )
        finally:
            await stream.finish(graceful)
