"""A scripted OpenAI-compatible chat-completions server, for tests of the LLM brain.

It speaks the real wire format over real HTTP (Starlette under uvicorn, in a thread of the test
process): ``POST /v1/chat/completions`` with ``stream: true`` answers ``text/event-stream`` lines
``data: {chat.completion.chunk}`` — a first chunk with the assistant role, one chunk per scripted
delta, a last one with the ``finish_reason`` — then ``data: [DONE]``; ``GET /v1/models`` lists
models. A test queues what the next requests get, in order, and reads what they sent::

    with ScriptedLLM() as llm:
        hold = Hold()
        llm.stream(*say("Hello the", "re. How"), hold, *say(" can I help?"))
        ...  # the client gets "Hello there. How" and the server waits until hold.release()
        llm.requests[0].body["messages"]

Script items: delta dicts (``say``, ``call_start``, ``call_args`` make them; a dict with several
``tool_calls`` entries sends fragments of parallel calls in one chunk), :class:`Hold` (send
nothing more until released), :class:`Drop` (cut the connection mid-stream) and
:class:`ErrorEvent` (an ``error`` object in the stream, as OpenAI sends on a mid-stream failure).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class Hold:
    """A point in a stream where the server stops sending until the test calls :meth:`release`.
    ``reached`` is set once the server got there (everything before it has been sent)."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class Drop:
    """Cut the connection here, mid-stream (no ``[DONE]``, no end of the chunked body)."""


class _Dropped(Exception):
    """Raised inside a response to make uvicorn cut the connection (a scripted :class:`Drop`)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Dropped))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass(frozen=True)
class ErrorEvent:
    """``data: {"error": {...}}`` in the stream, as OpenAI reports a failure after the 200."""

    message: str = "The server had an error while processing your request."


@dataclass
class Streamed:
    items: list
    finish_reason: str


@dataclass
class Failure:
    status: int
    message: str
    code: str | None = None


@dataclass
class Received:
    """One request as the server got it."""

    path: str
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def say(*pieces: str) -> list[dict]:
    """Content deltas, one chunk each (split them anywhere, mid-word included)."""
    return [{"content": piece} for piece in pieces]


def call_start(index: int, call_id: str | None, name: str, arguments: str = "") -> dict:
    """A tool call's first delta: its index, id, type and name (and usually no arguments yet)."""
    fragment: dict = {"index": index, "type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        fragment["id"] = call_id
    return {"tool_calls": [fragment]}


def call_args(index: int, fragment: str) -> dict:
    """More of a tool call's arguments (a fragment of its JSON text)."""
    return {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScriptedLLM:
    def __init__(self, models: tuple[str, ...] = ("scripted-model",)) -> None:
        self.models = list(models)
        self.requests: list[Received] = []
        self._script: deque[Streamed | Failure] = deque()
        self._holds: list[Hold] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="scripted-llm", daemon=True)

    @property
    def server_env(self) -> dict[str, str]:
        """The settings that make a PyAI server's brain this model (its first)."""
        return {"PYAI_LLM_BASE_URL": self.url, "PYAI_LLM_MODEL": self.models[0], "PYAI_LLM_API_KEY": "sk-test"}

    # ---- what the test does ------------------------------------------------------------------
    def stream(self, *items: dict | Hold | Drop | ErrorEvent | list, finish_reason: str = "stop") -> None:
        """Queue one streamed reply (lists among ``items`` are flattened)."""
        flat = [x for item in items for x in (item if isinstance(item, list) else [item])]
        with self._lock:
            self._holds += [x for x in flat if isinstance(x, Hold)]
            self._script.append(Streamed(flat, finish_reason))

    def fail(self, status: int, message: str = "scripted failure", code: str | None = None) -> None:
        """Queue one error reply: ``status`` with OpenAI's error body."""
        with self._lock:
            self._script.append(Failure(status, message, code))

    @property
    def pending(self) -> int:
        """Scripted replies not yet asked for."""
        with self._lock:
            return len(self._script)

    def start(self, timeout: float = 10) -> ScriptedLLM:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        with self._lock:
            for hold in self._holds:
                hold.release()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the server --------------------------------------------------------------------------
    async def _models(self, request: Request) -> Response:
        self.requests.append(Received(request.url.path, {}, dict(request.headers)))
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(Received(request.url.path, body, dict(request.headers)))
        with self._lock:
            reply = self._script.popleft() if self._script else Failure(500, "nothing scripted for this request")
        if isinstance(reply, Failure):
            error = {"message": reply.message, "type": "server_error", "param": None, "code": reply.code}
            return JSONResponse({"error": error}, status_code=reply.status)
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "this scripted server only streams"}}, status_code=400)
        return StreamingResponse(self._events(reply, body.get("model", "")), media_type="text/event-stream")

    async def _events(self, reply: Streamed, model: str) -> AsyncIterator[str]:
        chunk_id, created = f"chatcmpl-scripted{next(self._ids)}", int(time.time())

        def chunk(delta: dict, finish_reason: str | None = None) -> str:
            data = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_scripted",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            return f"data: {json.dumps(data)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for item in reply.items:
            if isinstance(item, Hold):
                item.reached.set()
                await asyncio.to_thread(item.released.wait)
            elif isinstance(item, Drop):
                raise _Dropped  # uvicorn cuts the response off here
            elif isinstance(item, ErrorEvent):
                yield f"data: {json.dumps({'error': {'message': item.message, 'type': 'server_error'}})}\n\n"
                return
            else:
                yield chunk(item)
        yield chunk({}, reply.finish_reason)
        yield "data: [DONE]\n\n"
