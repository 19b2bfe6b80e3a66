"""Asterisk AudioSocket: the codec against the wire bytes Asterisk produces, and a real loopback server
driven by a fake Asterisk (tests/audiosocket_client.py) through handshakes, audio both ways, hangups from
either side, silent and garbage-sending peers, and peers that vanish mid-frame."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from pyai.telephony import audiosocket as asock
from pyai.telephony.audiosocket import (
    AudioSocketCall,
    AudioSocketClosed,
    AudioSocketServer,
    CallLimits,
    Decoder,
    Dtmf,
    Hangup,
    Kind,
    Message,
    ProtocolError,
    start_audiosocket_server,
)
from tests.audiosocket_client import AudioSocketClient

WAIT = 10.0  # generous: only a broken implementation ever waits this long
CALL_ID = uuid.UUID("40325ec2-5efd-4bd3-805f-53576e581d13")


def pcm(nbytes: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 256 for i in range(nbytes))


# --- codec -------------------------------------------------------------------------------------------------------


def test_wire_bytes_match_asterisk() -> None:
    assert asock.hangup() == b"\x00\x00\x00"
    # res_audiosocket.c ast_audiosocket_init: 0x01, 0x00, 0x10, then the 16 bytes uuid_parse() gives
    assert asock.uuid_message(CALL_ID) == b"\x01\x00\x10" + bytes.fromhex("40325ec25efd4bd3805f53576e581d13")
    assert asock.uuid_message(str(CALL_ID)) == asock.uuid_message(CALL_ID)
    assert asock.audio(b"\x01\x02") == b"\x10\x00\x02\x01\x02"
    assert asock.encode(Kind.AUDIO, bytes(300))[:3] == b"\x10\x01\x2c"  # length is big-endian
    assert asock.dtmf("5") == b"\x03\x00\x015"
    assert asock.error(asock.ErrorCode.HANGUP) == b"\xff\x00\x01\x01"


def test_round_trip_every_kind() -> None:
    stream = (
        asock.uuid_message(CALL_ID)
        + asock.audio(pcm(320))
        + asock.dtmf("#")
        + asock.encode(Kind.AUDIO_SLIN16, pcm(640))
        + asock.error(4)
        + asock.hangup()
    )
    msgs = Decoder().feed(stream)
    assert [m.kind for m in msgs] == [Kind.UUID, Kind.AUDIO, Kind.DTMF, Kind.AUDIO_SLIN16, Kind.ERROR, Kind.HANGUP]
    assert msgs[0].uuid == CALL_ID
    assert msgs[1].pcm == pcm(320) and msgs[1].sample_rate == 8000
    assert msgs[2].digit == "#"
    assert msgs[3].sample_rate == 16000
    assert msgs[4].error_code == 4
    assert Message(Kind.ERROR).error_code is None  # the code is optional
    assert msgs[5] == Message(Kind.HANGUP, b"")


def test_partial_feeds_yield_the_same_messages() -> None:
    stream = asock.uuid_message(CALL_ID) + asock.audio(pcm(320)) + asock.dtmf("1") + asock.hangup()
    whole = Decoder().feed(stream)
    decoder = Decoder()
    pieces: list[Message] = []
    for i in range(len(stream)):
        pieces += decoder.feed(stream[i : i + 1])
        if i == 10:
            assert decoder.buffered == 11 and not pieces  # mid-UUID: held back, nothing emitted
    assert pieces == whole and decoder.buffered == 0
    assert Decoder().feed(b"") == []


def test_garbage_is_refused_at_its_header_and_the_decoder_stays_broken() -> None:
    decoder = Decoder()
    with pytest.raises(ProtocolError, match="unknown message kind 0x47"):
        decoder.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProtocolError):
        decoder.feed(asock.hangup())  # no resynchronising after a bad header


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x01\x00\x0f" + bytes(15), "invalid payload length 15"),  # UUID must be 16 bytes
        (b"\x03\x00\x02ab", "invalid payload length 2"),
        (b"\x00\x00\x01\x00", "invalid payload length 1"),  # hangup carries nothing
        (b"\x10\x00\x00", "invalid payload length 0"),  # Asterisk rejects empty audio too
        (b"\x10\x00\x03abc", "invalid payload length 3"),  # would split a sample
        (b"\x10\xff\xfe", "exceeds"),  # refused from the header alone, before 64 KiB are buffered
        (b"\x03\x00\x01\x00", "not a printable"),
    ],
)
def test_malformed_messages_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        Decoder().feed(data)


def test_audio_limit_is_configurable() -> None:
    assert Decoder(max_audio_payload=65534).feed(asock.audio(bytes(65534)))[0].pcm == bytes(65534)
    with pytest.raises(ProtocolError):
        Decoder(max_audio_payload=320).feed(asock.audio(bytes(322))[:3])


def test_encoder_refuses_what_cannot_be_framed() -> None:
    with pytest.raises(ValueError):
        asock.audio(b"")
    with pytest.raises(ValueError):
        asock.audio(b"\x00")
    with pytest.raises(ValueError):
        asock.encode(Kind.AUDIO, bytes(65536))
    with pytest.raises(ValueError):
        asock.encode(256)
    with pytest.raises(ValueError):
        asock.dtmf("12")
    with pytest.raises(ValueError):
        asock.error(256)
    with pytest.raises(ValueError):
        _ = Message(Kind.AUDIO, b"").uuid
    with pytest.raises(ValueError):
        _ = Message(Kind.UUID, bytes(16)).pcm


# --- server + fake Asterisk ----------------------------------------------------------------------------------------

OnCall = Callable[[AudioSocketCall], Awaitable[None]]


@asynccontextmanager
async def running(on_call: OnCall, limits: CallLimits | None = None) -> AsyncIterator[AudioSocketServer]:
    server = await start_audiosocket_server("127.0.0.1", 0, on_call, limits)
    try:
        yield server
    finally:
        await server.close()


async def drain(call: AudioSocketCall) -> list[bytes | Dtmf | Hangup]:
    return [event async for event in call]


async def still_serves(port: int, seen: asyncio.Queue[AudioSocketCall]) -> None:
    """A well-behaved call after whatever went before: UUID handshake, audio in, hangup from the client."""
    async with AudioSocketClient("127.0.0.1", port) as client:
        await client.stream(pcm(640), speed=0)
        call = await asyncio.wait_for(seen.get(), WAIT)
        assert call.uuid == client.call_id
        assert await asyncio.wait_for(call.recv(), WAIT) == pcm(640)[:320]


def recording() -> tuple[asyncio.Queue[AudioSocketCall], OnCall]:
    """An on_call that reports each call and then waits for it to end."""
    seen: asyncio.Queue[AudioSocketCall] = asyncio.Queue()

    async def on_call(call: AudioSocketCall) -> None:
        seen.put_nowait(call)
        await call.wait_closed()

    return seen, on_call


async def test_handshake_audio_both_ways_and_server_hangup() -> None:
    heard = bytearray()
    reply = pcm(1000, seed=3)  # three 20 ms frames and a 40-byte tail
    calls: list[AudioSocketCall] = []

    async def on_call(call: AudioSocketCall) -> None:
        calls.append(call)
        while len(heard) < 1600:
            event = await call.recv()
            assert isinstance(event, bytes)
            heard.extend(event)
        await call.send_audio(reply)
        await call.hangup()

    async with running(on_call) as server:
        client = AudioSocketClient("127.0.0.1", server.port, CALL_ID)
        await client.connect()
        await client.stream(pcm(1600), speed=0)
        await asyncio.wait_for(client.hangup_received.wait(), WAIT)
        await client.wait_eof(WAIT)
        await client.close()

    assert calls[0].uuid == CALL_ID
    assert bytes(heard) == pcm(1600)
    assert bytes(client.audio) == reply
    assert client.frame_sizes == [320, 320, 320, 40]
    assert client.protocol_errors == []
    assert calls[0].closed and calls[0].end == Hangup("local")


async def test_client_streams_at_real_time_pace() -> None:
    seen, on_call = recording()
    async with running(on_call) as server, AudioSocketClient("127.0.0.1", server.port) as client:
        started = time.monotonic()
        await client.stream(pcm(320 * 6), speed=1.0)  # frames go out at 0, 20, ..., 100 ms
        assert time.monotonic() - started >= 0.09
        call = await asyncio.wait_for(seen.get(), WAIT)
        got = bytearray()
        while len(got) < 320 * 6:
            chunk = await asyncio.wait_for(call.recv(), WAIT)
            assert isinstance(chunk, bytes)
            got += chunk
        assert bytes(got) == pcm(320 * 6)


async def test_dtmf_then_client_hangup_reach_the_call() -> None:
    events: list[bytes | Dtmf | Hangup] = []
    ended = asyncio.Event()

    async def on_call(call: AudioSocketCall) -> None:
        events.extend(await drain(call))
        assert call.closed
        ended.set()

    async with running(on_call) as server:
        client = AudioSocketClient("127.0.0.1", server.port)
        await client.connect()
        await client.send_audio_frame(pcm(320))
        await client.send_dtmf("7")
        await client.send_hangup()
        await asyncio.wait_for(ended.wait(), WAIT)

    assert events == [pcm(320), Dtmf("7"), Hangup("remote")]


async def test_socket_closure_is_a_hangup_too() -> None:
    seen, on_call = recording()
    async with running(on_call) as server:
        async with AudioSocketClient("127.0.0.1", server.port):
            call = await asyncio.wait_for(seen.get(), WAIT)
        assert await asyncio.wait_for(call.recv(), WAIT) == Hangup("disconnected")
        assert await call.recv() == Hangup("disconnected")  # repeated, never blocks
        with pytest.raises(AudioSocketClosed):
            await call.send_audio(pcm(320))


async def test_peer_error_message_ends_the_call_with_its_code() -> None:
    seen, on_call = recording()
    async with running(on_call) as server, AudioSocketClient("127.0.0.1", server.port) as client:
        call = await asyncio.wait_for(seen.get(), WAIT)
        await client.send_raw(asock.error(asock.ErrorCode.FRAME_FORWARDING))
        assert await asyncio.wait_for(call.recv(), WAIT) == Hangup("error", error_code=2)
        await client.wait_eof(WAIT)


async def test_connection_without_uuid_is_closed_after_the_timeout() -> None:
    seen, on_call = recording()
    async with running(on_call, CallLimits(uuid_timeout=0.2)) as server:
        client = AudioSocketClient("127.0.0.1", server.port)
        await client.connect(send_uuid=False)
        await client.wait_eof(WAIT)
        await client.close()
        assert seen.empty()
        await still_serves(server.port, seen)


async def test_garbage_before_uuid_closes_only_that_connection() -> None:
    seen, on_call = recording()
    async with running(on_call) as server, AudioSocketClient("127.0.0.1", server.port) as bystander:
        bystander_call = await asyncio.wait_for(seen.get(), WAIT)
        probe = AudioSocketClient("127.0.0.1", server.port)
        await probe.connect(send_uuid=False)
        await probe.send_raw(b"GET / HTTP/1.1\r\nHost: pbx\r\n\r\n")
        await probe.wait_eof(WAIT)
        await probe.close()
        assert seen.empty() and not bystander_call.closed and not bystander.eof.is_set()  # untouched
        await still_serves(server.port, seen)


async def test_first_message_must_be_the_uuid() -> None:
    seen, on_call = recording()
    async with running(on_call) as server:
        client = AudioSocketClient("127.0.0.1", server.port)
        await client.connect(send_uuid=False)
        await client.send_audio_frame(pcm(320))
        await client.wait_eof(WAIT)
        await client.close()
        assert seen.empty()
        await still_serves(server.port, seen)


async def test_garbage_mid_call_ends_that_call_only() -> None:
    seen, on_call = recording()
    async with running(on_call) as server:
        async with AudioSocketClient("127.0.0.1", server.port) as client:
            call = await asyncio.wait_for(seen.get(), WAIT)
            await client.send_raw(b"\x42\x00\x00")
            end = await asyncio.wait_for(call.recv(), WAIT)
            assert isinstance(end, Hangup) and end.reason == "protocol_error" and "0x42" in end.detail
            await client.wait_eof(WAIT)
        await still_serves(server.port, seen)


async def test_disconnect_mid_frame_ends_that_call_only() -> None:
    seen, on_call = recording()
    async with running(on_call) as server:
        async with AudioSocketClient("127.0.0.1", server.port) as client:
            call = await asyncio.wait_for(seen.get(), WAIT)
            await client.send_raw(b"\x10\x01\x40" + pcm(100))  # a 320-byte frame, cut after 100 bytes
        end = await asyncio.wait_for(call.recv(), WAIT)
        assert isinstance(end, Hangup) and end.reason == "disconnected" and "partial" in end.detail
        await still_serves(server.port, seen)


async def test_messages_arriving_with_the_uuid_are_not_lost() -> None:
    seen, on_call = recording()
    async with running(on_call) as server:
        client = AudioSocketClient("127.0.0.1", server.port)
        await client.connect(send_uuid=False)
        await client.send_raw(asock.uuid_message(CALL_ID) + asock.audio(pcm(320)) + asock.dtmf("9"))
        call = await asyncio.wait_for(seen.get(), WAIT)
        assert call.uuid == CALL_ID
        assert await asyncio.wait_for(call.recv(), WAIT) == pcm(320)
        assert await asyncio.wait_for(call.recv(), WAIT) == Dtmf("9")
        await client.close()


async def test_failing_on_call_hangs_up_and_the_server_carries_on() -> None:
    seen: asyncio.Queue[AudioSocketCall] = asyncio.Queue()

    async def on_call(call: AudioSocketCall) -> None:
        if call.uuid == CALL_ID:
            raise RuntimeError("application bug")
        seen.put_nowait(call)
        await call.wait_closed()

    async with running(on_call) as server:
        async with AudioSocketClient("127.0.0.1", server.port, CALL_ID) as client:
            await asyncio.wait_for(client.hangup_received.wait(), WAIT)
            await client.wait_eof(WAIT)
        await still_serves(server.port, seen)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for state the server reaches on its own schedule (checked every few ms, bounded by WAIT)."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.005)


async def test_unconsumed_caller_audio_is_bounded() -> None:
    seen, on_call = recording()
    async with running(on_call, CallLimits(max_buffered_audio=640)) as server:
        async with AudioSocketClient("127.0.0.1", server.port) as client:
            call = await asyncio.wait_for(seen.get(), WAIT)
            frames = b"".join(asock.audio(pcm(320, seed=n)) for n in range(5))
            await client.send_raw(frames + asock.dtmf("1"))
            await until(lambda: call.dropped_audio_bytes == 960)
            assert await asyncio.wait_for(call.recv(), WAIT) == pcm(320, seed=0)
            assert await asyncio.wait_for(call.recv(), WAIT) == pcm(320, seed=1)
            assert await asyncio.wait_for(call.recv(), WAIT) == Dtmf("1")  # control events are never dropped


async def test_server_close_hangs_up_active_calls() -> None:
    seen, on_call = recording()
    server = await start_audiosocket_server("127.0.0.1", 0, on_call)
    client = AudioSocketClient("127.0.0.1", server.port)
    await client.connect()
    call = await asyncio.wait_for(seen.get(), WAIT)
    await asyncio.wait_for(server.close(), WAIT)
    assert call.end == Hangup("local")
    await asyncio.wait_for(client.hangup_received.wait(), WAIT)
    await client.wait_eof(WAIT)
    await client.close()


async def test_silent_peer_times_out_when_an_idle_limit_is_set() -> None:
    seen, on_call = recording()
    async with running(on_call, CallLimits(idle_timeout=0.2)) as server:
        async with AudioSocketClient("127.0.0.1", server.port) as client:
            call = await asyncio.wait_for(seen.get(), WAIT)
            end = await asyncio.wait_for(call.recv(), WAIT)
            assert isinstance(end, Hangup) and end.reason == "timeout"
            await client.wait_eof(WAIT)


async def test_server_close_drops_connections_still_owing_a_uuid() -> None:
    seen, on_call = recording()
    server = await start_audiosocket_server("127.0.0.1", 0, on_call)  # default 5 s UUID timeout
    client = AudioSocketClient("127.0.0.1", server.port)
    await client.connect(send_uuid=False)
    await until(lambda: bool(server._handshaking))
    started = time.monotonic()
    await asyncio.wait_for(server.close(), WAIT)
    assert time.monotonic() - started < 2  # not held for the UUID timeout
    await client.wait_eof(WAIT)
    await client.close()
    assert seen.empty()
