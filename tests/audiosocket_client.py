"""A stand-in for Asterisk's ``AudioSocket()`` dialplan application, for tests and local trials.

It frames messages with its own ``struct`` code, not with ``pyai.telephony.audiosocket``, so a bug in the
library's codec cannot cancel itself out. Like Asterisk (``res_audiosocket.c``) it sends the UUID first,
then 8 kHz slin in 20 ms messages, and from the server accepts only hangup (0x00) and audio (0x10) with a
non-empty payload; anything else is recorded in ``protocol_errors`` and ends the connection, as Asterisk
would end the call.

    async with AudioSocketClient("127.0.0.1", port) as client:
        await client.stream(pcm)              # real-time pace; speed=0 for as fast as possible
        await client.wait_audio(3200)         # the server's reply
        await client.send_hangup()
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid as uuid_lib

HEADER = struct.Struct(">BH")
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono
FRAME_SECONDS = 0.020


class AudioSocketClient:
    """One fake Asterisk call leg. Everything the server sends is collected by a background reader."""

    def __init__(self, host: str, port: int, call_id: uuid_lib.UUID | None = None) -> None:
        self.host = host
        self.port = port
        self.call_id = call_id or uuid_lib.uuid4()
        self.audio = bytearray()  # every audio payload from the server, concatenated
        self.frame_sizes: list[int] = []  # payload length of each audio message from the server
        self.protocol_errors: list[str] = []
        self.hangup_received = asyncio.Event()  # the server sent 00 00 00
        self.eof = asyncio.Event()  # the server closed the socket (or it broke)
        self._changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AudioSocketClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, *, send_uuid: bool = True) -> None:
        """Open the TCP connection and, as Asterisk does first thing, send the UUID message."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._task = asyncio.create_task(self._read_loop())
        if send_uuid:
            await self.send_raw(HEADER.pack(0x01, 16) + self.call_id.bytes)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (garbage, partial frames) and flush."""
        assert self._writer is not None, "connect() first"
        self._writer.write(data)
        await self._writer.drain()

    async def send_audio_frame(self, pcm: bytes) -> None:
        await self.send_raw(HEADER.pack(0x10, len(pcm)) + pcm)

    async def stream(self, pcm: bytes, *, speed: float = 1.0) -> None:
        """Send ``pcm`` (8 kHz slin) in 20 ms messages. ``speed`` 1.0 is real time, 2.0 twice as fast,
        0 no pacing. Paced against a monotonic schedule so per-frame delays do not accumulate drift."""
        start = time.monotonic()
        for n, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
            if speed > 0:
                delay = start + n * FRAME_SECONDS / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.send_audio_frame(pcm[offset : offset + FRAME_BYTES])

    async def send_dtmf(self, digit: str) -> None:
        await self.send_raw(HEADER.pack(0x03, 1) + digit.encode("ascii"))

    async def send_hangup(self) -> None:
        """Send the terminate message and close (older Asterisk and other clients do this)."""
        with contextlib.suppress(ConnectionError):
            await self.send_raw(HEADER.pack(0x00, 0))
        await self.close()

    async def close(self) -> None:
        """Close the socket without a hangup message: how today's Asterisk ends a call."""
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_audio(self, nbytes: int, timeout: float = 10.0) -> bytes:
        """Wait until at least ``nbytes`` of audio arrived (or the server closed); returns all of it."""
        async with asyncio.timeout(timeout):
            while len(self.audio) < nbytes and not self.eof.is_set():
                self._changed.clear()
                await self._changed.wait()
        return bytes(self.audio)

    async def wait_eof(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.eof.wait(), timeout)

    async def _read_loop(self) -> None:
        assert self._reader is not None
        buf = b""
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= HEADER.size:
                    kind, length = HEADER.unpack_from(buf)
                    if len(buf) < HEADER.size + length:
                        break
                    payload, buf = buf[HEADER.size : HEADER.size + length], buf[HEADER.size + length :]
                    if kind == 0x00:
                        self.hangup_received.set()
                    elif kind == 0x10 and length > 0:
                        self.audio += payload
                        self.frame_sizes.append(length)
                    else:
                        self.protocol_errors.append(f"kind 0x{kind:02x} length {length}")
                        return
                    self._changed.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.eof.set()
            self._changed.set()
            if self.protocol_errors and self._writer is not None:
                self._writer.close()
