"""Streaming Hear's flow under the conditions an outside test found broken: a commit in the middle
of speech, silence, a slow full-context engine and a client that drops (partial stability needs an
engine that forces a prefix: tests/test_hear_whisper.py).

The server's full-context engine here is a deliberately slow OpenAI-compatible stub, so a test can
tell whether reading audio ever waits on a decode; partials and ``speech_final`` come from the
local incremental recogniser as always. One realtime session per key is allowed, so a leaked
lease shows up as a 4429.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.media import flite_wav, pcm16, silence_pcm16, speech_pcm16
from tests.server import Server, free_port
from tests.test_hear_stream import collect, of, send_audio

PATH = "/v1/audio/transcriptions/stream"
PROMPT = "Please read me the balance of my savings account and the date of the last deposit."
SLOW_FINAL_S = 6.0  # longer than two turns of the test below, even with late turn verdicts


class _SlowTranscriber(BaseHTTPRequestHandler):
    """An OpenAI-compatible /audio/transcriptions that takes SLOW_FINAL_S to answer."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["content-length"]))
        time.sleep(SLOW_FINAL_S)
        words = [{"word": "slow", "start": 0.1, "end": 0.6}, {"word": "final", "start": 0.6, "end": 1.1}]
        body = json.dumps({"text": "slow final", "words": words}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    stub = ThreadingHTTPServer(("127.0.0.1", free_port()), _SlowTranscriber)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    env = {
        "PYAI_STT_ENGINE": "openai",
        "PYAI_STT_BASE_URL": f"http://127.0.0.1:{stub.server_port}/v1",
        "PYAI_STT_TIMEOUT_SECONDS": "30",
        "PYAI_REALTIME_CONCURRENCY": "1",
    }
    server = Server(tmp_path_factory.mktemp("stream-flow"), env).start()
    yield server
    server.stop()
    stub.shutdown()


@pytest.fixture(scope="module")
def key(srv: Server) -> str:
    return srv.create_key(scopes="hear:stream")["api_key"]


def url(srv: Server, key: str) -> str:
    return f"{srv.ws_url}{PATH}?api_key={key}"


def test_speech_after_a_mid_utterance_commit_starts_the_next_utterance(srv: Server, key: str) -> None:
    audio = silence_pcm16(0.3) + pcm16(flite_wav(PROMPT))
    cut = 16000 * 2 * 2  # commit 2 s into the prompt, while it is still being spoken

    async def go() -> list[dict]:
        async with connect(url(srv, key)) as ws:
            await send_audio(ws, audio[:cut])
            await ws.send(json.dumps({"type": "commit"}))
            await send_audio(ws, audio[cut:] + silence_pcm16(1.0))
            await ws.send("EOF")
            return await collect(ws)

    frames = asyncio.run(go())
    quick = of(frames, "speech_final")
    assert len(quick) >= 2, frames  # the commit closed one utterance; the rest of the prompt made another
    said = " ".join(f["text"] for f in quick).lower()
    assert "deposit" in said or "last" in said, said  # words from after the commit were heard
    assert frames[-1]["type"] == "usage"


def test_silence_is_neither_transcribed_nor_billed(srv: Server, key: str) -> None:
    async def go() -> tuple[int | None, list[dict]]:
        async with connect(url(srv, key)) as ws:
            await send_audio(ws, silence_pcm16(10.0))
            await ws.send("EOF")
            frames = await collect(ws)
        return ws.close_code, frames

    code, frames = asyncio.run(go())
    assert code == 1000 and frames == []  # no text, and no usage frame: nothing was billed


def test_reading_audio_never_waits_on_a_final(srv: Server, key: str) -> None:
    """Each final takes the stub SLOW_FINAL_S; the next utterance's speech_final must not wait behind it."""

    async def go() -> tuple[list[tuple[float, dict]], float]:
        stamped: list[tuple[float, dict]] = []
        async with connect(url(srv, key)) as ws:

            async def reader() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for raw in ws:
                        stamped.append((time.monotonic(), json.loads(raw)))

            task = asyncio.create_task(reader())
            # 1.6 s apart: past the silence fallback, so the turn ends there even if the turn
            # model's verdict comes late on a loaded machine
            first = silence_pcm16(0.3) + pcm16(flite_wav("The quick brown fox.")) + silence_pcm16(1.6)
            second = pcm16(flite_wav("Call me back tomorrow.")) + silence_pcm16(1.0)
            await send_audio(ws, first, pace=0.1)
            await send_audio(ws, second, pace=0.1)
            sent = time.monotonic()
            await ws.send("EOF")
            await asyncio.wait_for(task, 60)
        return stamped, sent

    stamped, sent = asyncio.run(go())
    frames = [f for _, f in stamped]
    speech_finals = [(t, f) for t, f in stamped if f["type"] == "speech_final"]
    finals = [(t, f) for t, f in stamped if f["type"] == "final"]
    assert len(speech_finals) == 2 and len(finals) == 2, frames
    # The second utterance's speech_final came while the first's final was still being decoded...
    assert speech_finals[1][0] < finals[0][0], frames
    # ...and promptly after its audio, not after the first final's slow decode.
    assert speech_finals[1][0] - sent < SLOW_FINAL_S - 1.0
    assert [f["utterance_id"] for _, f in finals] == [f["utterance_id"] for _, f in speech_finals]  # in order
    assert frames[-1]["type"] == "usage"


def test_a_dropped_client_frees_its_session_at_once(srv: Server, key: str) -> None:
    """Two minutes of speech sent at once, then the client vanishes: the slot is free long before
    that backlog could have been decoded (and the server decodes none of it)."""
    backlog = (silence_pcm16(0.3) + pcm16(flite_wav(PROMPT)) + silence_pcm16(0.8)) * 20

    async def drop() -> None:
        ws = await connect(url(srv, key))
        await send_audio(ws, backlog, chunk_ms=500)
        ws.transport.abort()  # no close handshake: a network drop

    async def reconnect() -> tuple[int | None, list[dict]]:
        async with connect(url(srv, key)) as ws:
            with contextlib.suppress(ConnectionClosed):  # refused meanwhile: the error frame says why
                await ws.send("EOF")
            frames = await collect(ws)
        return ws.close_code, frames

    asyncio.run(drop())
    dropped = time.monotonic()
    deadline = dropped + 60
    while True:
        code, frames = asyncio.run(reconnect())
        if code == 1000 or time.monotonic() > deadline:
            break
        assert code == 4429 and frames[0]["code"] == "concurrency_limit_exceeded"
        time.sleep(0.2)
    assert code == 1000, frames
    assert time.monotonic() - dropped < 10  # decoding the backlog would take far longer than this


def _turns(srv: Server, key: str, pcm: bytes, query: str = "") -> list[dict]:
    async def go() -> list[dict]:
        async with connect(url(srv, key) + query) as ws:
            await send_audio(ws, pcm, pace=0.1)  # real time: the turn model answers while the caller is silent
            await ws.send("EOF")
            return await collect(ws)

    return asyncio.run(go())


def test_a_pause_inside_a_phone_number_does_not_end_the_turn(srv: Server, key: str) -> None:
    """ "My number is five five five" — one second's pause — "one two three four": one turn, where a
    fixed 600 ms silence rule cut it in two."""
    pcm = silence_pcm16(0.3) + speech_pcm16("My number is five five five.") + silence_pcm16(1.0)
    pcm += speech_pcm16("One two three four.") + silence_pcm16(2.5)
    frames = _turns(srv, key, pcm)
    assert len(of(frames, "speech_final")) == 1, frames
    said = of(frames, "speech_final")[0]["text"]
    assert "five" in said and ("four" in said or "three" in said), said


def test_a_finished_question_ends_before_the_silence_fallback(srv: Server, key: str) -> None:
    speech = speech_pcm16("Can you tell me my account balance?")
    speech_end_ms = 300 + len(speech) * 1000 // 32000
    frames = _turns(srv, key, silence_pcm16(0.3) + speech + silence_pcm16(3.0))
    (ended,) = of(frames, "speech_final")
    # normal eagerness: a turn judged finished ends 450 ms into the silence, one judged unfinished
    # (or never judged) at 1.5 s; the verdict arrives within the first of those windows
    assert ended["t_ms"] - speech_end_ms < 1400, (ended["t_ms"], speech_end_ms)
    # with eagerness=low (finished turns end 600 ms into the silence) the same question waits longer
    frames = _turns(srv, key, silence_pcm16(0.3) + speech + silence_pcm16(4.0), "&eagerness=low")
    assert of(frames, "speech_final")[0]["t_ms"] - speech_end_ms >= 550
