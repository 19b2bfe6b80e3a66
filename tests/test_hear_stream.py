"""Streaming transcription over a real WebSocket: auth forms, frame order and fields, flushes,
bad frames, concurrency caps and in-band usage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.media import flite_wav, pcm16, silence_pcm16
from tests.server import Server
from tests.waiting import collect

PATH = "/v1/audio/transcriptions/stream"
SENTENCE = "The quick brown fox jumps over the lazy dog."
SECOND = "Please call me back tomorrow morning."


@pytest.fixture(scope="module")
def stream_key(sqlite_server: Server) -> str:
    return sqlite_server.create_key(scopes="hear:stream")["api_key"]


def ws_url(srv: Server, query: str = "") -> str:
    return f"{srv.ws_url}{PATH}{'?' + query if query else ''}"


async def send_audio(ws: ClientConnection, pcm: bytes, chunk_ms: int = 100, rate: int = 16000, pace: float = 0) -> None:
    step = rate * 2 * chunk_ms // 1000
    for i in range(0, len(pcm), step):
        await ws.send(pcm[i : i + step])
        if pace:
            await asyncio.sleep(pace)


def of(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f["type"] == kind]


def speech(*sentences: str, rate: int = 16000) -> bytes:
    parts = [silence_pcm16(0.5, rate)]
    for s in sentences:
        parts += [pcm16(flite_wav(s), rate), silence_pcm16(1.2, rate)]
    return b"".join(parts)


async def run_session(
    url: str,
    pcm: bytes,
    *,
    subprotocols: list[str] | None = None,
    end: str = "EOF",
    first: str | None = None,
    rate: int = 16000,
    real_time: bool = False,
) -> tuple[list[dict], ClientConnection]:
    async with connect(url, subprotocols=subprotocols, max_size=None) as ws:
        if first:
            await ws.send(first)
        await send_audio(ws, pcm, rate=rate, pace=0.1 if real_time else 0)
        await ws.send(end)
        frames = await collect(ws)
    return frames, ws


def test_frames_order_fields_and_usage(sqlite_server: Server, stream_key: str) -> None:
    frames, ws = asyncio.run(
        run_session(ws_url(sqlite_server), speech(SENTENCE, SECOND), subprotocols=[f"pyai-key.{stream_key}"])
    )
    assert ws.subprotocol == f"pyai-key.{stream_key}"
    assert ws.close_code == 1000
    kinds = [f["type"] for f in frames]
    assert kinds[-1] == "usage" and "error" not in kinds
    # Sent faster than real time, an utterance's final may be known before any partial of it is:
    # then there are none (a live stream's partials: test_first_partial_arrives_early).
    finals, speech_finals = of(frames, "final"), of(frames, "speech_final")
    assert len(finals) == 2 and len(speech_finals) == 2
    ids = [f["utterance_id"] for f in finals]
    assert len(set(ids)) == 2
    for uid in ids:  # per utterance: partials, then speech_final, then final
        idx = [i for i, f in enumerate(frames) if f.get("utterance_id") == uid]
        seq = [frames[i]["type"] for i in idx]
        assert seq[-2:] == ["speech_final", "final"] and set(seq[:-2]) <= {"partial"}
    for f in speech_finals + finals:
        assert f["audio_ms"] > 500 and f["t_ms"] > 0
    assert "fox" in finals[0]["text"].lower() and "tomorrow" in finals[1]["text"].lower()
    # Reading never waits on a decode, so the next utterance's partials may precede this one's
    # final; within each kind and each utterance, time only moves forward.
    for group in [speech_finals, finals, *([f for f in frames if f.get("utterance_id") == uid] for uid in ids)]:
        t_ms = [f["t_ms"] for f in group]
        assert t_ms == sorted(t_ms)
    usage = frames[-1]
    assert usage["product"] == "hear" and usage["meter"] == "hear.minutes"
    speech_s = sum(f["audio_ms"] for f in finals) / 1000
    assert usage["audio_seconds"] == pytest.approx(speech_s, abs=0.01)
    assert usage["audio_seconds"] < len(speech(SENTENCE, SECOND)) / 32000  # speech time, not stream length
    assert usage["minutes"] == pytest.approx(usage["audio_seconds"] / 60, abs=1e-5)


def test_first_partial_arrives_early(sqlite_server: Server, stream_key: str) -> None:
    """Sent in real time, as a microphone would: partials come while the caller is still speaking
    (how early is a benchmark's question, bench/hear.py: on a loaded machine the incremental decoder
    takes bigger bites of audio, and a fixed bound here would only measure the load)."""
    url = ws_url(sqlite_server, f"api_key={stream_key}")
    frames, _ = asyncio.run(run_session(url, speech(SENTENCE), real_time=True))
    partials = of(frames, "partial")
    spoken_ms = len(pcm16(flite_wav(SENTENCE))) // 32  # 16 kHz, 2 bytes a sample
    assert partials[0]["t_ms"] < 500 + spoken_ms  # leading silence + part of the sentence
    for p in partials:
        assert set(p) >= {"text", "stable_text", "active_text", "utterance_id", "t_ms"}
        assert p["text"] == " ".join(x for x in (p["stable_text"], p["active_text"]) if x)
    speech_final = of(frames, "speech_final")[0]
    assert frames.index(speech_final) > frames.index(partials[-1])  # no partial after the speech_final


def test_commit_flushes_without_closing_and_numerals(sqlite_server: Server, stream_key: str) -> None:
    async def go() -> list[dict]:
        async with connect(ws_url(sqlite_server, f"api_key={stream_key}&numerals=true&interim_results=false")) as ws:
            await send_audio(ws, silence_pcm16(0.3) + pcm16(flite_wav("one two three four")))
            await ws.send(json.dumps({"type": "commit"}))
            got = []
            while not any(f["type"] == "final" for f in got):
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            await ws.send("EOF")
            return got + await collect(ws)

    frames = asyncio.run(go())
    assert not of(frames, "partial")  # interim_results=false
    final = of(frames, "final")[0]
    assert "1234" in final["text"].replace(" ", ""), final


def test_close_flushes_and_bills_and_the_cap_stops_a_running_stream(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(env="test", scopes="hear:stream", daily_cap=3)
    url = ws_url(sqlite_server, f"api_key={key['api_key']}")

    async def close_mid_utterance() -> None:
        async with connect(url) as ws:
            await send_audio(ws, silence_pcm16(0.3) + pcm16(flite_wav(SENTENCE)))
        # closed mid-utterance by the client: the buffered speech is finalised and metered (~2.4 s)

    async def session() -> tuple[int | None, list[dict]]:
        async with connect(url) as ws:
            with contextlib.suppress(ConnectionClosed):
                await send_audio(ws, silence_pcm16(0.3) + pcm16(flite_wav(SENTENCE)))
                await ws.send("EOF")
            frames = await collect(ws)
        return ws.close_code, frames

    asyncio.run(close_mid_utterance())
    # Until the first session is billed its hold covers the whole cap, so a new session is refused at
    # the door; once billed, ~0.6 s is left and a session is admitted, then stopped when it runs out.
    deadline = time.time() + 60
    while True:
        code, frames = asyncio.run(session())
        if of(frames, "partial") or of(frames, "speech_final") or time.time() > deadline:
            break
        assert code == 4429 and frames[0]["code"] == "daily_cap_exceeded", frames
        time.sleep(0.2)
    assert code == 4429 and frames[-1] == {**frames[-1], "type": "error", "code": "daily_cap_exceeded"}, frames
    assert not of(frames, "usage")  # stopped, not a graceful end
    assert sum(f["audio_ms"] for f in of(frames, "final")) <= 700
    # The stopped session was billed before its close, at most what it held: what little is left (the
    # fragment's speech may have been shorter than its audio) is all a next session can use.
    code, frames = asyncio.run(session())
    assert code == 4429 and frames[-1]["code"] == "daily_cap_exceeded"
    assert sum(f["audio_ms"] for f in of(frames, "final")) <= 700


@pytest.mark.parametrize(
    ("query", "subprotocols", "code", "close"),
    [
        ("", None, "unauthorized", 1008),
        ("api_key=pyai_live_garbage", None, "unauthorized", 1008),
        ("sample_rate=100", "KEY", "invalid_request", 1008),
        ("encoding=mp3", "KEY", "invalid_request", 1008),
    ],
)
def test_rejections_are_in_band(
    sqlite_server: Server, stream_key: str, query: str, subprotocols: str | None, code: str, close: int
) -> None:
    async def go() -> tuple[list[dict], int | None]:
        protos = [f"pyai-key.{stream_key}"] if subprotocols else None
        async with connect(ws_url(sqlite_server, query), subprotocols=protos) as ws:
            frames = await collect(ws)
        return frames, ws.close_code

    frames, close_code = asyncio.run(go())
    assert close_code == close and frames[0] == {"type": "error", "code": code, "message": frames[0]["message"]}


def test_wrong_scope_is_1008(sqlite_server: Server) -> None:
    key = sqlite_server.create_key(scopes="hear:transcribe")["api_key"]

    async def go() -> tuple[list[dict], int | None]:
        async with connect(ws_url(sqlite_server), subprotocols=[f"pyai-key.{key}"]) as ws:
            frames = await collect(ws)
        return frames, ws.close_code

    frames, code = asyncio.run(go())
    assert code == 1008 and frames[0]["code"] == "forbidden" and "hear:stream" in frames[0]["message"]


def test_bad_frames_get_errors_and_session_survives(sqlite_server: Server, stream_key: str) -> None:
    async def go() -> list[dict]:
        async with connect(ws_url(sqlite_server, f"api_key={stream_key}")) as ws:
            await ws.send("hello?")
            await ws.send(json.dumps({"type": "dance"}))
            await ws.send(b"\x01")  # half a sample: dropped with an error, the stream stays aligned
            await send_audio(ws, silence_pcm16(0.3) + pcm16(flite_wav(SENTENCE)) + silence_pcm16(1.2))
            await ws.send(json.dumps({"type": "config", "grounding": True}))  # too late
            await ws.send("EOF")
            return await collect(ws)

    frames = asyncio.run(go())
    errors = of(frames, "error")
    assert [e["code"] for e in errors] == ["invalid_json", "invalid_frame", "invalid_audio", "invalid_frame"]
    assert of(frames, "final") and frames[-1]["type"] == "usage"


def test_bad_config_frame_closes_1008(sqlite_server: Server, stream_key: str) -> None:
    async def go() -> tuple[list[dict], int | None]:
        async with connect(ws_url(sqlite_server, f"api_key={stream_key}")) as ws:
            await ws.send(json.dumps({"type": "config", "grounding": True, "grounding_k": 99}))
            frames = await collect(ws)
        return frames, ws.close_code

    frames, code = asyncio.run(go())
    assert code == 1008 and frames[0]["code"] == "invalid_config" and "grounding_k" in frames[0]["message"]


def test_resampled_input_rates(sqlite_server: Server, stream_key: str) -> None:
    frames, _ = asyncio.run(
        run_session(
            ws_url(sqlite_server, f"api_key={stream_key}&sample_rate=48000"), speech(SENTENCE, rate=48000), rate=48000
        )
    )
    assert "fox" in of(frames, "final")[0]["text"].lower()
    # 8 kHz telephone audio reaches the 16 kHz model without its upper band: words are
    # recognised less well (see docs/benchmarks.md), but timing and billing stay exact.
    frames, _ = asyncio.run(
        run_session(
            ws_url(sqlite_server, f"api_key={stream_key}&sample_rate=8000"), speech(SENTENCE, rate=8000), rate=8000
        )
    )
    final = of(frames, "final")[0]
    assert len(final["text"].split()) >= 4 and 1500 < final["audio_ms"] < 3500


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("capped"), {"PYAI_REALTIME_CONCURRENCY": "1"}).start()
    yield srv
    srv.stop()


def test_concurrency_cap_closes_4429_and_frees_on_close(capped: Server) -> None:
    key = capped.create_key(scopes="hear:*")["api_key"]

    async def go() -> tuple[int | None, list[dict], int | None]:
        async with connect(ws_url(capped, f"api_key={key}")) as first:
            await first.send(silence_pcm16(0.2))
            async with connect(ws_url(capped, f"api_key={key}")) as second:
                frames = await collect(second)
            await first.send("EOF")
            await collect(first)
        async with connect(ws_url(capped, f"api_key={key}")) as third:
            await third.send("EOF")
            await collect(third)
        return second.close_code, frames, third.close_code

    second_code, frames, third_code = asyncio.run(go())
    assert second_code == 4429 and frames[0]["code"] == "concurrency_limit_exceeded"
    assert third_code == 1000


def opus_packets(pcm: bytes) -> list[bytes]:
    """Raw Opus packets (20 ms at 48 kHz) of 16 kHz PCM16, as a browser's encoder would send."""
    import av
    import numpy as np
    import soxr

    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 48000, "mono", "s16", 32000
    enc.open()
    up = soxr.resample(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768, 16000, 48000)
    x = (np.clip(up, -1, 1) * 32767).astype(np.int16)
    packets = []
    for i in range(0, len(x) - 960, 960):
        frame = av.AudioFrame.from_ndarray(x[i : i + 960].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        packets += [bytes(p) for p in enc.encode(frame)]
    return packets


def test_opus_stream_and_bad_packet(sqlite_server: Server, stream_key: str) -> None:
    async def go() -> list[dict]:
        async with connect(ws_url(sqlite_server, f"api_key={stream_key}&encoding=opus")) as ws:
            await ws.send(b"\xff\x00garbage")
            for packet in opus_packets(speech(SENTENCE)):
                await ws.send(packet)
            await ws.send("EOF")
            return await collect(ws)

    frames = asyncio.run(go())
    assert of(frames, "error")[0]["code"] == "invalid_audio"
    assert "fox" in of(frames, "final")[0]["text"]
