"""``GET /v1/audio/transcriptions/stream``: streaming Hear, and Cue when grounding is enabled.

Wire protocol (documented in docs/hear-stream.md): binary frames carry audio; text frames carry
``{"type":"config",…}`` (first frame only; turns on Cue grounding), ``{"type":"commit"}``
(force-finalise the utterance) or the literal ``EOF`` (flush, send ``usage``, close 1000).
The server sends ``partial``, ``speech_final``, ``final``, ``usage`` and ``error`` frames.
Recognition runs in a worker thread per call so one session never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pyai import safe_json
from pyai.audio.g711 import ENCODINGS as G711
from pyai.gateway.auth import caller
from pyai.gateway.errors import ApiError
from pyai.gateway.principal import Principal
from pyai.gateway.streaming_hold import StreamingHold
from pyai.hear.engine import stt_engine
from pyai.hear.language import language_problem
from pyai.hear.streaming import StreamOptions, StreamSession
from pyai.knowledge.grounding import GroundingConfig, ground, validate_grounding_config
from pyai.realtime.admission import CLOSE_ENGINE_ERROR, CLOSE_NORMAL, CLOSE_POLICY, leased, reject, reject_error

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
    return StreamOptions(
        sample_rate=sample_rate,
        encoding=encoding,
        interim_results=flag("interim_results", True),
        numerals=flag("numerals", False),
        language=params.get("language", "en"),
        endpointing_ms=None if endpointing is None else min(5000, max(50, endpointing)),
        seed=number("seed", int, None),
        temperature=number("temperature", float, None),
    )


class _Stream:
    """One accepted session: frames in, events out, usage at the end."""

    def __init__(self, ws: WebSocket, session: StreamSession, services: Any, principal: Any) -> None:
        self.ws = ws
        self.session = session
        self.services = services
        self.principal = principal
        self.budget: StreamingHold | None = None  # opened at the first audio, once the product is known
        self.grounding: GroundingConfig | None = None
        self.seen_audio = False
        self.client_gone = False
        self.finished = False

    async def send(self, frame: dict) -> None:
        """Send unless the client already closed: its queued audio must still be heard and billed."""
        if self.client_gone:
            return
        try:
            await self.ws.send_json(frame)
        except Exception:  # closed mid-send; keep draining until the disconnect message
            self.client_gone = True

    async def send_events(self, events: list[dict]) -> None:
        """Send events; while an utterance awaits its full-context final, compute and send it."""
        await self._send_now(events)
        while self.session.has_pending_final:
            await self._send_now(await asyncio.to_thread(self.session.finalize))

    async def _send_now(self, events: list[dict]) -> None:
        for event in events:
            if event["type"] == "speech_final" and self.grounding is not None:
                passages = await self._ground(event["text"])
                event["grounding"] = passages
                self.session.remember_grounding(event["utterance_id"], passages)
            elif event["type"] == "final" and self.grounding is not None:
                event["grounding"] = self.session.grounding_for(event["utterance_id"])
            await self.send(event)

    async def _ground(self, text: str) -> list[dict]:
        assert self.grounding is not None
        return await ground(self.services, self.principal.org_id, self.grounding, text)

    async def on_text(self, text: str) -> bool:
        """Handle a control frame; returns False when the session should end (EOF)."""
        if text.strip() == "EOF":
            await self.send_events(await asyncio.to_thread(self.session.flush))
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
            await self.send_events(await asyncio.to_thread(self.session.flush))
        elif kind == "config":
            if self.seen_audio or self.grounding is not None:
                await self._soft_error("invalid_frame", "config must be the first frame of the session")
                return True
            try:
                config = validate_grounding_config(frame, allow_loopback=self.services.settings.test_mode)
            except ValueError as e:
                await reject(self.ws, "invalid_config", str(e), CLOSE_POLICY)
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
                    events = await asyncio.to_thread(self.session.feed_bytes, data)
                except ValueError as e:  # undecodable Opus packet or a torn PCM16 frame
                    await self._soft_error("invalid_audio", str(e))
                    continue
                await self.send_events(events)
                await self._check_budget()
            elif (text := message.get("text")) is not None and not await self.on_text(text):
                return

    async def _open_budget(self) -> None:
        """Hold the first chunk of units at the first audio frame (the product is fixed by then)."""
        if self.budget is not None:
            return
        meter = f"{self.session.product}.minutes"
        self.budget = StreamingHold(self.services.billing, self.principal, meter)
        try:
            await self.budget.open()
        except ApiError as e:
            await reject_error(self.ws, e)
            raise _Closed from None

    async def _check_budget(self) -> None:
        """Re-check the billing limits as the session runs; out of room, end it like a commit would."""
        assert self.budget is not None
        if await self.budget.cover(self.session.exposure_seconds):
            return
        await self.send_events(await asyncio.to_thread(self.session.flush))
        refusal = self.budget.refusal
        assert refusal is not None
        await self.finish(graceful=False)
        await reject_error(self.ws, refusal)
        raise _Closed

    async def finish(self, graceful: bool) -> None:
        """Bill what was heard (at most what was held); on a graceful end send ``usage`` and close 1000."""
        if self.finished:
            return
        self.finished = True
        meter = f"{self.session.product}.minutes"
        seconds = await self.budget.close(self.session.billed_seconds) if self.budget else 0.0
        if graceful:
            if seconds > 0:
                await self.send(
                    {
                        "type": "usage",
                        "product": self.session.product,
                        "meter": meter,
                        "audio_seconds": round(seconds, 3),
                        "minutes": round(seconds / 60, 6),
                    }
                )
            with contextlib.suppress(Exception):
                await self.ws.close(CLOSE_NORMAL)


class _Closed(Exception):
    """The session was already closed with an error frame."""


@router.websocket("/v1/audio/transcriptions/stream")
async def transcription_stream(ws: WebSocket, principal: Principal = caller()) -> None:
    services = ws.app.state.services
    async with leased(ws, principal) as accepted:
        if not accepted:
            return
        try:
            options = parse_options(dict(ws.query_params))
        except ValueError as e:
            await reject(ws, "invalid_request", str(e), CLOSE_POLICY)
            return
        if problem := language_problem(stt_engine(services), options.language):
            await reject(ws, "invalid_request", problem, CLOSE_POLICY)
            return
        session = StreamSession(stt_engine(services), options)
        stream = _Stream(ws, session, services, principal)
        graceful = False
        try:
            await stream.run()
            graceful = True
        except WebSocketDisconnect:
            # The client closed: finalise buffered audio (billed even though nothing can be sent).
            await asyncio.to_thread(session.end_of_stream)
        except _Closed:
            pass
        except Exception:
            log.exception("stream engine error")
            await reject(ws, "engine_error", "The speech engine failed; the session is closed.", CLOSE_ENGINE_ERROR)
        finally:
            await asyncio.to_thread(session.close)
            await stream.finish(graceful)
