"""``GET /v1/realtime``: the OpenAI Realtime protocol over the same call engine as ``/v1/omni``.

A thin adapter (docs/realtime.md): the conversation's events become OpenAI server events —
conversation items, responses with their output items and content parts, audio deltas as base64
in JSON — and OpenAI client events become calls on the conversation. GA event names by default;
beta names (``response.audio.delta``, ``conversation.item.created``…) when the client says it is
a beta client (``OpenAI-Beta: realtime=v1``, the ``openai-beta.realtime-v1`` subprotocol, or a
beta-shaped ``session.update``).

What maps to what:

- ``turn_detection`` ``server_vad`` / ``semantic_vad``: caller audio goes to the conversation's
  listener (a fixed silence ends the turn, or the turn model at an eagerness);
  ``create_response`` answers each turn, ``interrupt_response`` stops the agent at speech onset.
  ``null``: push-to-talk — audio is buffered until ``input_audio_buffer.commit`` and transcribed
  whole; the agent answers on ``response.create``.
- A response is one agent turn, or one round of it when the brain calls the client's function
  tools: the response ends with the ``function_call`` items, and after the client's
  ``function_call_output`` the next round waits for its ``response.create``.
- Agent audio is paced at real time, as on every wire, so the server knows what was heard; a
  client's ``conversation.item.truncate`` still sets what the agent remembers it said.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pyai import safe_json
from pyai.audio.g711 import alaw_encode, g711_decode, ulaw_encode
from pyai.audio.pcm import float_to_pcm16, pcm16_to_float
from pyai.audio.resample import StreamResampler, resample
from pyai.gateway.auth import caller
from pyai.gateway.errors import ProblemError
from pyai.gateway.principal import Principal
from pyai.hear.engine import stt_engine
from pyai.hear.streaming import RATE as LISTEN_RATE
from pyai.hear.streaming import StreamOptions
from pyai.knowledge.grounding import validate_grounding_config
from pyai.omni.call_tools import call_tools
from pyai.omni.conversation import Conversation, ConversationOptions, OfferedTool, Output, RunTool, Think
from pyai.realtime.call_runner import CallRunner, serve, session_label
from pyai.realtime.openai_config import ConfigError, RealtimeConfig, format_rate, parse_max_tokens, parse_modalities
from pyai.speak.library import resolve_voice
from pyai.store.ids import new_id

router = APIRouter()

RATE = 24000  # the conversation's rate; G.711 is converted to and from 8 kHz at the edge
MODELS = ("pyai-omni-realtime", "pyai-flow-realtime")
#: OpenAI's own model names, so a client written for OpenAI connects unchanged.
OPENAI_MODELS = ("gpt-realtime", "gpt-4o-realtime", "gpt-4o-mini-realtime", "gpt-audio")
MAX_EVENT_BYTES = 16 << 20  # OpenAI takes up to 15 MiB of audio per append
MIN_COMMIT_MS = 100
#: Client tools answer whenever the app does; a turn waiting on one ends if the caller speaks.
CLIENT_TOOL_TIMEOUT_MS = 3_600_000
_BETA_NAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "conversation.item.added": "conversation.item.created",
}


def parse_model(params: dict[str, str]) -> str:
    """The model from the URL; ValueError names a bad one."""
    model = params.get("model") or MODELS[0]
    if model.startswith(OPENAI_MODELS):
        model = MODELS[0]
    if model not in MODELS:
        raise ValueError(f"model: must be one of {', '.join(MODELS)} (or an OpenAI realtime model name)")
    return model


def wants_beta(ws: WebSocket) -> bool:
    offered = ws.headers.get("sec-websocket-protocol", "")
    return "realtime=v1" in ws.headers.get("openai-beta", "") or "openai-beta.realtime-v1" in offered


@dataclass
class _Item:
    item: dict  # the OpenAI item as the client sees it
    key: str | None = None  # the conversation's tag for its message (None: not in the brain's messages)
    transcript: str = ""  # an assistant message: every word made for it
    audio_ms: int = 0  # ... and how much of its audio was sent
    heard: str | None = None  # ... and the words of that audio, once it was cut short


@dataclass
class _Response:
    id: str
    turn_id: str | None
    modalities: list[str]
    output: list[dict] = field(default_factory=list)
    message: _Item | None = None  # the assistant message being spoken
    cancel_reason: str | None = None  # set by response.cancel


def turn_words(max_tokens: int | str) -> int | None:
    """``max_output_tokens`` as words (4 tokens per 3 words, as ``usage`` counts them)."""
    return None if max_tokens == "inf" else max(1, int(max_tokens) * 3 // 4)


class _RealtimeCall(CallRunner):
    def __init__(self, ws: WebSocket, services: Any, principal: Principal, release: Any, model: str) -> None:
        super().__init__(ws, services, principal, release, RATE)
        self.model = model
        self.beta = wants_beta(ws)
        self.config = RealtimeConfig()
        self.session_id = new_id("sess")
        self.conversation_id = new_id("conv")
        self.items: dict[str, _Item] = {}  # in conversation order
        self.utterances: dict[str, str] = {}  # caller utterance id → item id
        self.sent_transcript: dict[str, str] = {}  # item id → the transcript deltas sent so far
        self.response: _Response | None = None
        self.held: Think | None = None  # the next round after function outputs: waits for response.create
        self.buffer: list[np.ndarray] = []  # push-to-talk audio at 24 kHz, until commit
        self.profile_tools: list[OfferedTool] = []
        self.grounding = validate_grounding_config({}, allow_loopback=services.settings.test_mode)
        self.brain_model: str | None = None
        self.in_resampler: StreamResampler | None = None
        self.out_resampler: StreamResampler | None = None
        self.expires_at = int(time.time() + services.settings.realtime_max_session_seconds)

    # ---- setup ------------------------------------------------------------------------------
    async def setup(self) -> None:
        """The agent profile named by ``session_label`` (if any) sets the start; the client's
        ``session.update`` changes it from there."""
        profile = await self.profile()
        if "persona" in profile:
            self.config.instructions = profile["persona"]
        if "voice" in profile:
            self.config.voice = profile["voice"]
        voice = await resolve_voice(self.services, self.principal.org_id, self.config.voice)
        self.voice, self.voice_id = voice.spec, voice.voice_id
        grounding = {k: profile[k] for k in ("kb_endpoint", "knowledge_base_id") if k in profile}
        self.grounding = validate_grounding_config(
            {**grounding, "session_label": self.label}, allow_loopback=self.services.settings.test_mode
        )
        self.brain_model = profile.get("brain_model")
        self.profile_tools = await call_tools(self.services, self.principal.org_id, self.bindings, None)
        options = ConversationOptions(
            rate=RATE,
            persona=self.config.instructions,
            greeting=profile.get("greeting")
            if self.agent_id
            else None,  # an agent profile greets; a bare session waits
            barge_sensitivity=profile.get("barge_sensitivity", "normal"),
            listen=StreamOptions(
                sample_rate=RATE, lookahead=stt_engine(self.services).forces_prefix, keyterms=self.keyterms
            ),
        )
        self.conv = Conversation(options)
        self._apply_config(self.config)

    def _offered_tools(self, config: RealtimeConfig) -> list[OfferedTool]:
        choice = config.tool_choice
        if choice == "none":
            return []
        tools = [
            OfferedTool(t["name"], "client", t["description"], t["parameters"], timeout_ms=CLIENT_TOOL_TIMEOUT_MS)
            for t in config.tools
        ]
        tools += [t for t in self.profile_tools if t.name not in {c.name for c in tools}]
        if isinstance(choice, dict):
            tools = [t for t in tools if t.name == choice["name"]]
        return tools

    def _apply_config(self, config: RealtimeConfig) -> None:
        """Make ``config`` the session's (it was validated; the voice was resolved)."""
        assert self.conv is not None
        old, self.config = self.config, config
        self.conv.set_persona(config.instructions)
        tools = self._offered_tools(config)
        self.conv.set_tools(tools)
        turn = config.turn_detection
        if turn is not None:
            self.conv.options.auto_respond = turn.create_response
            self.conv.options.barge_in = "interrupt" if turn.interrupt_response else "off"
            if turn.type == "semantic_vad":
                eagerness = {"medium": "normal", "auto": "normal"}.get(turn.eagerness, turn.eagerness)
                self.conv.listener.set_turn_detection(eagerness)
            else:
                self.conv.listener.set_turn_detection(silence_ms=turn.silence_duration_ms, threshold=turn.threshold)
        else:
            self.conv.options.auto_respond, self.conv.options.barge_in = False, "off"
        rate_in, rate_out = format_rate(config.input_format), format_rate(config.output_format)
        if self.in_resampler is None or old.input_format != config.input_format:
            self.in_resampler = StreamResampler(rate_in, RATE) if rate_in != RATE else None
        if self.out_resampler is None or old.output_format != config.output_format:
            self.out_resampler = StreamResampler(RATE, rate_out) if rate_out != RATE else None
        self.speed = config.speed
        self.conv.options.max_turn_words = turn_words(config.max_output_tokens)
        self.silent = config.output_modalities == ["text"]
        self.brain = self.make_brain(self.grounding, tools, model=self.brain_model, temperature=config.temperature)

    def _session(self) -> dict:
        return self.config.render(
            beta=self.beta, session_id=self.session_id, model=self.model, expires_at=self.expires_at
        )

    # ---- sending ----------------------------------------------------------------------------
    async def _send(self, event: dict) -> None:
        """Every server event leaves here: an ``event_id``, and beta names for a beta client."""
        kind = event["type"]
        if self.beta:
            if kind == "conversation.item.done":
                return  # no such event in beta
            event["type"] = _BETA_NAMES.get(kind, kind)
        await self.ws.send_json({"event_id": new_id("event"), **event})

    async def send_event(self, event: dict) -> None:
        """One conversation event, as the OpenAI events it means (most mean none)."""
        handler = getattr(self, "_on_" + event["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(event)

    async def send_audio(self, pcm: bytes) -> None:
        response = await self._ensure_response(None)
        item = await self._ensure_message(response)
        samples = len(pcm) // 2
        item.audio_ms += samples * 1000 // RATE
        fmt = self.config.output_format
        if fmt != "pcm16":
            assert self.out_resampler is not None
            pcm16 = float_to_pcm16(self.out_resampler.process(pcm16_to_float(pcm)))
            pcm = ulaw_encode(pcm16) if fmt == "g711_ulaw" else alaw_encode(pcm16)
        await self._send(
            {
                "type": "response.output_audio.delta",
                **self._part_ref(response, item),
                "delta": base64.b64encode(pcm).decode(),
            }
        )

    async def error(
        self, message: str, code: str, *, param: str | None = None, event_id: str | None = None, kind: str = ""
    ) -> None:
        """An ``error`` event (the session goes on)."""
        error = {"type": kind or "invalid_request_error", "code": code, "message": message, "param": param}
        error["event_id"] = event_id
        async with self.emit_lock:
            await self._send({"type": "error", "error": error})

    # ---- conversation events → OpenAI events ----------------------------------------------------
    async def _on_session_ready(self, event: dict) -> None:
        await self._send({"type": "session.created", "session": self._session()})
        conversation = {"id": self.conversation_id, "object": "realtime.conversation"}
        await self._send({"type": "conversation.created", "conversation": conversation})

    async def _on_caller_speech_started(self, event: dict) -> None:
        item_id = self.utterances[event["utterance_id"]] = new_id("item")
        await self._send(
            {"type": "input_audio_buffer.speech_started", "audio_start_ms": event["t_ms"], "item_id": item_id}
        )

    async def _on_caller_speech_stopped(self, event: dict) -> None:
        item_id = self.utterances.get(event["utterance_id"]) or new_id("item")
        self.utterances[event["utterance_id"]] = item_id
        await self._send(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": event["t_ms"], "item_id": item_id}
        )
        await self._commit_item(item_id, event["utterance_id"])

    async def _commit_item(self, item_id: str, key: str) -> None:
        """The caller's audio is in: it is a user item (its transcript follows)."""
        previous = next(reversed(self.items), None)
        await self._send({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items[item_id] = _Item(item, key)
        await self._item_added(item, previous)

    async def _item_added(self, item: dict, previous: str | None) -> None:
        await self._send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        await self._send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    async def _on_caller_partial(self, event: dict) -> None:
        item_id = self.utterances.get(event["utterance_id"])
        if item_id is not None and self.config.transcription is not None:
            await self._transcript_delta(item_id, event.get("stable_text") or "")

    async def _transcript_delta(self, item_id: str, text: str) -> None:
        """Input transcription deltas only ever add words: the stable words grown since the last."""
        sent = self.sent_transcript.get(item_id, "")
        if text.startswith(sent) and len(text) > len(sent):
            self.sent_transcript[item_id] = text
            await self._send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": text[len(sent) :],
                }
            )

    async def _on_caller_final(self, event: dict) -> None:
        uid = event.get("utterance_id", "")
        item_id = self.utterances.get(uid)
        if item_id is None or item_id not in self.items:
            return
        await self._transcribed(item_id, event.get("text", ""))

    async def _transcribed(self, item_id: str, text: str) -> None:
        self.items[item_id].item["content"][0]["transcript"] = text
        if self.config.transcription is None:
            return
        await self._transcript_delta(item_id, text)
        await self._send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": text,
                "usage": {"type": "duration", "seconds": 0},
            }
        )

    async def _on_agent_text(self, event: dict) -> None:
        response = await self._ensure_response(event["turn_id"])
        item = await self._ensure_message(response)
        delta = (" " if item.transcript else "") + event["text"]
        item.transcript += delta
        kind = "response.output_text.delta" if self._text_only(response) else "response.output_audio_transcript.delta"
        await self._send({"type": kind, **self._part_ref(response, item), "delta": delta})

    async def _on_tool_call(self, event: dict) -> None:
        """Only the client's own function tools are its business; the agent profile's server and
        engine tools run inside the response, unseen (as they do for a phone caller)."""
        if event.get("kind") != "client":
            return
        response = await self._ensure_response(event["turn_id"])
        await self._finish_message(response, "completed")
        arguments = json.dumps(event.get("arguments") or {})
        item = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "completed",
            "call_id": event["call_id"],
            "name": event["name"],
            "arguments": arguments,
        }
        previous = next(reversed(self.items), None)
        self.items[item["id"]] = _Item(item)
        response.output.append(item)
        ref = {"response_id": response.id, "output_index": len(response.output) - 1}
        in_progress = {**item, "status": "in_progress", "arguments": ""}
        await self._send({"type": "response.output_item.added", **ref, "item": in_progress})
        await self._send({"type": "conversation.item.added", "previous_item_id": previous, "item": in_progress})
        call_ref = {**ref, "item_id": item["id"], "call_id": event["call_id"]}
        await self._send({"type": "response.function_call_arguments.delta", **call_ref, "delta": arguments})
        await self._send(
            {"type": "response.function_call_arguments.done", **call_ref, "name": event["name"], "arguments": arguments}
        )
        await self._send({"type": "response.output_item.done", **ref, "item": item})
        await self._send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    async def _on_agent_waiting(self, event: dict) -> None:
        """The round is said and waits for tools: for the client's functions, the response is done."""
        response = self.response
        if response is None or response.turn_id != event["turn_id"]:
            return
        if any(o["type"] == "function_call" and o["call_id"] in event["call_ids"] for o in response.output):
            await self._close_response("completed")

    async def _on_interruption(self, event: dict) -> None:
        response = self.response
        if response is not None and response.message is not None and response.turn_id == event["turn_id"]:
            response.message.heard = event["heard_text"]

    async def _on_agent_turn_end(self, event: dict) -> None:
        response = self.response
        if response is None or response.turn_id not in (None, event["turn_id"]):
            return
        if event["status"] == "completed" and event.get("truncated"):
            await self._close_response("incomplete", "max_output_tokens")
        elif event["status"] == "completed":
            await self._close_response("completed")
        else:
            await self._close_response("cancelled", response.cancel_reason or "turn_detected")

    # ---- responses --------------------------------------------------------------------------
    def _text_only(self, response: _Response) -> bool:
        return response.modalities == ["text"]

    async def _ensure_response(self, turn_id: str | None) -> _Response:
        if self.response is None:
            await self._open_response(turn_id)
        assert self.response is not None
        if self.response.turn_id is None:
            self.response.turn_id = turn_id
        return self.response

    async def _open_response(self, turn_id: str | None, modalities: list[str] | None = None) -> _Response:
        response = self.response = _Response(new_id("resp"), turn_id, modalities or list(self.config.output_modalities))
        self.silent = self._text_only(response)
        await self._send({"type": "response.created", "response": self._response_body(response, "in_progress")})
        remaining = max(0.0, self.expires_at - time.time())
        await self._send(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {
                        "name": "session_seconds",
                        "limit": int(self.services.settings.realtime_max_session_seconds),
                        "remaining": int(remaining),
                        "reset_seconds": round(remaining, 3),
                    }
                ],
            }
        )
        return response

    def _response_body(self, response: _Response, status: str, reason: str | None = None) -> dict:
        details = {"type": status, "reason": reason} if status in ("cancelled", "incomplete") else None
        return {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": details,
            "output": response.output,
            "conversation_id": self.conversation_id,
            "output_modalities": response.modalities,
            "max_output_tokens": self.config.max_output_tokens,
            "audio": {"output": {"format": self.config.output_format, "voice": self.config.voice}},
            "usage": self._usage(response) if status != "in_progress" else None,
            "metadata": None,
        }

    def _usage(self, response: _Response) -> dict:
        """PyAI has no tokenizer of OpenAI's: text counts 4 tokens per 3 words, audio one token per
        100 ms (docs/realtime.md). Billing is ``omni.minutes``, not tokens."""
        said = [o for o in response.output if o["type"] == "message"]
        words = sum(len((self.items[o["id"]].transcript if o["id"] in self.items else "").split()) for o in said)
        audio = sum(self.items[o["id"]].audio_ms // 100 for o in said if o["id"] in self.items)
        assert self.conv is not None
        context = sum(len(str(m.get("content") or "").split()) for m in self.conv.messages)
        out_text, in_text = math.ceil(words * 4 / 3), math.ceil(context * 4 / 3)
        return {
            "total_tokens": in_text + out_text + audio,
            "input_tokens": in_text,
            "output_tokens": out_text + audio,
            "input_token_details": {"text_tokens": in_text, "audio_tokens": 0, "cached_tokens": 0},
            "output_token_details": {"text_tokens": out_text, "audio_tokens": audio},
        }

    def _part_ref(self, response: _Response, item: _Item) -> dict:
        return {
            "response_id": response.id,
            "item_id": item.item["id"],
            "output_index": response.output.index(item.item),
            "content_index": 0,
        }

    def _part(self, response: _Response, item: _Item) -> dict:
        if self._text_only(response):
            return {"type": "text" if self.beta else "output_text", "text": item.transcript}
        return {"type": "audio" if self.beta else "output_audio", "transcript": item.transcript}

    async def _ensure_message(self, response: _Response) -> _Item:
        """The assistant message of the response, opened on its first words or audio."""
        if response.message is not None:
            return response.message
        item = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        previous = next(reversed(self.items), None)
        entry = response.message = self.items[item["id"]] = _Item(item, key=response.turn_id)
        response.output.append(item)
        ref = {"response_id": response.id, "output_index": len(response.output) - 1}
        await self._send({"type": "response.output_item.added", **ref, "item": item})
        await self._send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        part = self._part(response, entry)
        item["content"] = [part]
        await self._send(
            {"type": "response.content_part.added", **ref, "item_id": item["id"], "content_index": 0, "part": part}
        )
        return entry

    async def _finish_message(self, response: _Response, status: str) -> None:
        entry, response.message = response.message, None
        if entry is None:
            return
        ref = self._part_ref(response, entry)
        if self._text_only(response):
            await self._send({"type": "response.output_text.done", **ref, "text": entry.transcript})
        else:
            await self._send({"type": "response.output_audio.done", **ref})
            await self._send({"type": "response.output_audio_transcript.done", **ref, "transcript": entry.transcript})
        part = self._part(response, entry)
        entry.item.update(status=status, content=[part])
        await self._send({"type": "response.content_part.done", **ref, "part": part})
        out_ref = {"response_id": response.id, "output_index": ref["output_index"]}
        await self._send({"type": "response.output_item.done", **out_ref, "item": entry.item})
        await self._send({"type": "conversation.item.done", "previous_item_id": None, "item": entry.item})

    async def _close_response(self, status: str, reason: str | None = None) -> None:
        response = self.response
        if response is None:
            return
        await self._finish_message(response, "completed" if status == "completed" else "incomplete")
        self.response = None
        assert self.conv is not None  # a response's own max_output_tokens ends with it
        self.conv.options.max_turn_words = turn_words(self.config.max_output_tokens)
        await self._send({"type": "response.done", "response": self._response_body(response, status, reason)})

    # ---- client events ----------------------------------------------------------------------
    async def receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                await self.error("Send JSON text frames; audio goes in input_audio_buffer.append.", "invalid_frame")
                continue
            if len(text) > MAX_EVENT_BYTES:
                await self.error(f"Events must be at most {MAX_EVENT_BYTES} bytes.", "event_too_large")
                continue
            try:
                event = safe_json.loads(text)
            except safe_json.InvalidJSON as e:
                await self.error(f"The event is not valid JSON ({e}).", "invalid_json")
                continue
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                await self.error("An event is a JSON object with a string 'type'.", "invalid_event", param="type")
                continue
            event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            handler = getattr(self, "_client_" + event["type"].replace(".", "_"), None)
            if handler is None:
                await self.error(
                    f"Unknown event type {event['type'][:100]!r}.", "unknown_event", param="type", event_id=event_id
                )
                continue
            try:
                await handler(event)
            except ConfigError as e:
                await self.error(e.message, "invalid_value", param=e.param, event_id=event_id)
            except ProblemError as e:  # an unknown voice
                await self.error(e.detail, e.code or "invalid_value", param=e.param, event_id=event_id)

    async def _client_session_update(self, event: dict) -> None:
        assert self.conv is not None
        config, beta = self.config.updated(event.get("session"))
        if config.voice != self.config.voice:
            try:
                voice = await resolve_voice(self.services, self.principal.org_id, config.voice)
            except ProblemError as e:
                raise ConfigError("session.voice" if beta else "session.audio.output.voice", e.detail) from None
            self.voice, self.voice_id = voice.spec, voice.voice_id
        self.beta = self.beta or beta
        if config.turn_detection is None and self.config.turn_detection is not None:
            await self.apply(self.conv.clear_input())  # from now on audio waits for a commit
        self._apply_config(config)
        async with self.emit_lock:
            await self._send({"type": "session.updated", "session": self._session()})

    async def _client_input_audio_buffer_append(self, event: dict) -> None:
        assert self.conv is not None
        audio = event.get("audio")
        try:
            data = base64.b64decode(audio, validate=True) if isinstance(audio, str) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None:
            raise ConfigError("audio", "expected base64-encoded audio")
        fmt = self.config.input_format
        if fmt == "pcm16":
            if len(data) % 2:
                raise ConfigError("audio", "pcm16 audio must hold whole 2-byte samples")
            pcm = data
        else:
            samples = g711_decode(data, fmt)
            assert self.in_resampler is not None
            pcm = float_to_pcm16(self.in_resampler.process(samples)).tobytes()
        if self.recorder is not None:
            self.recorder.on_caller_audio(pcm)
        if self.config.turn_detection is None:
            self.buffer.append(pcm16_to_float(pcm))
            return
        await self.apply(self.conv.feed_caller(pcm))

    async def _client_input_audio_buffer_commit(self, event: dict) -> None:
        assert self.conv is not None and self.listening is not None
        if self.config.turn_detection is not None:
            out = self.conv.commit()
            if not out.events:
                await self._empty_buffer(event)
            await self.apply(out)
            return
        samples = np.concatenate(self.buffer) if self.buffer else np.zeros(0, dtype=np.float32)
        self.buffer = []
        if len(samples) < RATE * MIN_COMMIT_MS // 1000:
            await self._empty_buffer(event)
            return
        item_id = new_id("item")
        async with self.emit_lock:
            await self._commit_item(item_id, item_id)
        with self.listening.gate.final():
            transcript = await self.listening.transcribe(resample(samples, RATE, LISTEN_RATE))
        self.conv.add_message(item_id, "user", transcript.text)
        async with self.emit_lock:
            await self._transcribed(item_id, transcript.text)

    async def _empty_buffer(self, event: dict) -> None:
        await self.error(
            f"Error committing input audio buffer: no speech, or less than {MIN_COMMIT_MS} ms of audio.",
            "input_audio_buffer_commit_empty",
            event_id=event.get("event_id"),
        )

    async def _client_input_audio_buffer_clear(self, event: dict) -> None:
        assert self.conv is not None
        self.buffer = []
        await self.apply(self.conv.clear_input())
        async with self.emit_lock:
            await self._send({"type": "input_audio_buffer.cleared"})

    async def _client_output_audio_buffer_clear(self, event: dict) -> None:
        """The server owns playback (it is paced): clearing it stops the agent's response."""
        await self._client_response_cancel(event, quiet=True)
        async with self.emit_lock:
            await self._send({"type": "output_audio_buffer.cleared", "response_id": None})

    async def _client_conversation_item_create(self, event: dict) -> None:
        assert self.conv is not None
        item = event.get("item")
        if not isinstance(item, dict):
            raise ConfigError("item", "expected an object")
        previous = event.get("previous_item_id")
        last = next(reversed(self.items), None)
        if previous is not None and previous != last:
            raise ConfigError("previous_item_id", "items can only be added at the end of the conversation")
        item_id = item.get("id") or new_id("item")
        if not isinstance(item_id, str) or len(item_id) > 64 or item_id in self.items:
            raise ConfigError("item.id", "expected a new id of at most 64 characters")
        kind = item.get("type", "message")
        if kind == "function_call_output":
            await self._function_output(item_id, item, last)
            return
        if kind != "message":
            raise ConfigError("item.type", "expected message or function_call_output")
        role = item.get("role")
        if role not in ("user", "assistant", "system"):
            raise ConfigError("item.role", "expected user, assistant or system")
        content = item.get("content")
        if not isinstance(content, list) or not content:
            raise ConfigError("item.content", "expected a list of content parts")
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("input_text", "text", "output_text"):
                raise ConfigError(f"item.content[{i}].type", "expected input_text (audio items are not accepted here)")
            if not isinstance(part.get("text"), str):
                raise ConfigError(f"item.content[{i}].text", "expected a string")
            texts.append(part["text"])
        self.conv.add_message(item_id, role, " ".join(texts))
        stored = {"id": item_id, "object": "realtime.item", "type": "message", "role": role, "status": "completed"}
        stored["content"] = content
        self.items[item_id] = _Item(stored, item_id)
        async with self.emit_lock:
            await self._item_added(stored, last)

    async def _function_output(self, item_id: str, item: dict, previous: str | None) -> None:
        """The app's answer to a function call: the next round waits for ``response.create``."""
        assert self.conv is not None
        call_id, output = item.get("call_id"), item.get("output")
        tool = self.conv.pending_tool(call_id) if isinstance(call_id, str) else None
        if tool is None or tool.kind != "client":
            raise ConfigError("item.call_id", "no function call is waiting for this call_id")
        if not isinstance(output, str):
            raise ConfigError("item.output", "expected a string")
        stored = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call_output",
            "status": "completed",
            "call_id": call_id,
            "output": output,
        }
        self.items[item_id] = _Item(stored)
        async with self.emit_lock:
            await self._item_added(stored, previous)
        try:
            result = json.loads(output)
        except ValueError:
            result = output
        await self.apply(self.conv.on_tool_result(call_id, "ok", result, from_app=True))

    async def _client_conversation_item_retrieve(self, event: dict) -> None:
        entry = self._item(event)
        async with self.emit_lock:
            await self._send({"type": "conversation.item.retrieved", "item": entry.item})

    async def _client_conversation_item_delete(self, event: dict) -> None:
        assert self.conv is not None
        entry = self._item(event)
        if entry.key is None or (self.response is not None and self.response.message is entry):
            raise ConfigError("item_id", "only finished message items can be deleted")
        self.conv.forget(entry.key)
        del self.items[entry.item["id"]]
        async with self.emit_lock:
            await self._send({"type": "conversation.item.deleted", "item_id": entry.item["id"]})

    async def _client_conversation_item_truncate(self, event: dict) -> None:
        """What the caller heard of an agent message: the agent remembers only that."""
        assert self.conv is not None
        entry = self._item(event)
        if entry.item.get("role") != "assistant" or entry.key is None:
            raise ConfigError("item_id", "only assistant messages can be truncated")
        if event.get("content_index", 0) != 0:
            raise ConfigError("content_index", "must be 0")
        end = event.get("audio_end_ms")
        if isinstance(end, bool) or not isinstance(end, int) or end < 0:
            raise ConfigError("audio_end_ms", "expected a whole number of milliseconds")
        if end > entry.audio_ms:
            raise ConfigError("audio_end_ms", f"is longer than the item's audio ({entry.audio_ms} ms)")
        if self.response is not None and self.response.message is entry:  # still playing: stop it there
            await self._client_response_cancel(event, quiet=True)
        words = (entry.heard if entry.heard is not None else entry.transcript).split()  # the words of audio_ms
        heard = " ".join(words[: len(words) * end // entry.audio_ms]) if entry.audio_ms else ""
        if not self.conv.revise(entry.key, heard):
            raise ConfigError("item_id", "this item can no longer be truncated")
        entry.transcript, entry.heard, entry.audio_ms = heard, heard, end
        entry.item["content"] = [{**entry.item["content"][0], "transcript": heard}] if entry.item["content"] else []
        async with self.emit_lock:
            await self._send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": entry.item["id"],
                    "content_index": 0,
                    "audio_end_ms": end,
                }
            )

    def _item(self, event: dict) -> _Item:
        item_id = event.get("item_id")
        entry = self.items.get(item_id) if isinstance(item_id, str) else None
        if entry is None:
            raise ConfigError("item_id", f"no item with id {str(item_id)[:64]!r} in this conversation")
        return entry

    async def _client_response_create(self, event: dict) -> None:
        assert self.conv is not None
        if self.response is not None:
            await self.error(
                f"Conversation already has an active response in progress: {self.response.id}.",
                "conversation_already_has_active_response",
                event_id=event.get("event_id"),
            )
            return
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise ConfigError("response", "expected an object")
        modalities = None
        for name in ("output_modalities", "modalities"):
            if name in options:
                modalities = parse_modalities(options[name], f"response.{name}")
        limit = options.get("max_output_tokens", options.get("max_response_output_tokens"))
        if limit is not None:
            self.conv.options.max_turn_words = turn_words(parse_max_tokens(limit, "response.max_output_tokens"))
        instructions = options.get("instructions")
        if instructions is not None and (not isinstance(instructions, str) or len(instructions) > 16000):
            raise ConfigError("response.instructions", "expected a string of at most 16000 characters")
        if self.held is not None:
            work, self.held = self.held, None
            out = Output(work=[work])
        else:
            out = self.conv.respond()
            work = next(w for w in out.work if isinstance(w, Think))
        if instructions:
            work.messages[0] = {"role": "system", "content": instructions}  # this response only
        async with self.emit_lock:
            await self._open_response(work.turn_id, modalities)
        await self.apply(out)

    async def _client_response_cancel(self, event: dict, *, quiet: bool = False) -> None:
        assert self.conv is not None
        response = self.response
        if response is None:
            if not quiet:
                await self.error(
                    "Cancellation failed: no active response found.",
                    "response_cancel_not_active",
                    event_id=event.get("event_id"),
                )
            return
        response.cancel_reason = "client_cancelled"
        await self.apply(self.conv.cancel())
        if self.response is response:  # nothing of the turn was left to stop (it waits on functions)
            async with self.emit_lock:
                await self._close_response("cancelled", "client_cancelled")

    # ---- the engine's work, as this protocol wants it ------------------------------------------
    async def think(self, work: Think) -> None:
        """A turn's first thought starts a response; a round after the client's function outputs
        waits for its ``response.create`` (OpenAI clients always send one)."""
        if self.response is None:
            if work.round > 0:
                self.held = work
                return
            async with self.emit_lock:
                await self._open_response(work.turn_id)
        await super().think(work)

    async def await_client_tool(self, work: RunTool) -> None:
        """A function call is answered when the app answers it: no timeout, no filler."""

    def side_lanes(self) -> list[Coroutine[Any, Any, None]]:
        return [self.expire()]

    async def expire(self) -> None:
        """End the session at the server's maximum duration, as OpenAI does."""
        await asyncio.sleep(max(0.0, self.expires_at - time.time()))
        minutes = round(self.services.settings.realtime_max_session_seconds / 60)
        await self.error(
            f"Your session hit the maximum duration of {minutes} minutes.",
            "session_expired",
            kind="invalid_request_error",
        )
        self.close_code = 1001
        assert self.conv is not None
        await self.apply(self.conv.end("timeout"))


async def realtime_session(ws: WebSocket, principal: Principal) -> None:
    def make(release: Any) -> _RealtimeCall:
        params = dict(ws.query_params)
        call = _RealtimeCall(ws, ws.app.state.services, principal, release, parse_model(params))
        call.label = session_label(params, principal)
        return call

    await serve(ws, principal, make)


@router.websocket("/v1/realtime")
async def realtime(ws: WebSocket, principal: Principal = caller()) -> None:
    await realtime_session(ws, principal)
