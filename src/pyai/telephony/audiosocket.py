"""Asterisk AudioSocket: a sans-I/O codec and an asyncio TCP server that turns each connection into a call.

A dialplan line such as ``AudioSocket(40325ec2-5efd-4bd3-805f-53576e581d13,pyai.example.com:9092)`` makes
Asterisk connect to us over TCP and stream the call's audio both ways. Asterisk is the *client*; we serve.

Wire format (every message): 1 byte kind, 2 bytes payload length (unsigned, big-endian), then the payload.
The constants below were checked against these sources (Asterisk master at commit f0c1c1a7):

* Asterisk docs, "AudioSocket" (asterisk/documentation ``docs/Configuration/Channel-Drivers/AudioSocket.md``):
  the 3-byte header, big-endian length, hangup is ``00 00 00``, kinds 0x00 terminate, 0x01 UUID (16-byte
  binary), 0x03 DTMF (1 ASCII byte), 0x10 slin 16-bit 8 kHz mono little-endian, 0xff error (optional
  application-specific code).
* Asterisk ``include/asterisk/res_audiosocket.h`` (enum ``ast_audiosocket_msg_kind``): the same values, plus
  0x11-0x18 for slin12/16/24/32/44/48/96/192 (added 2025-10, channel-driver only).
* Asterisk ``res/res_audiosocket.c``: ``ast_audiosocket_init`` writes ``01 00 10`` + the parsed UUID's 16
  bytes first; ``ast_audiosocket_send_frame`` sends voice frames as 0x10 and DTMF (since 2025-02,
  "audiosocket: added support for DTMF frames") as 0x03 with one byte; the receive side accepts only hangup
  (0x00) or audio kinds and treats a zero-length audio payload or any other kind as an error that ends the
  call. Asterisk itself never sends 0x00 or 0xff today: when the caller hangs up it just closes the socket.
* CyCoreSystems/audiosocket ``audiosocket.go`` (the original Go library): KindHangup 0x00, KindID 0x01,
  KindSlin 0x10, KindError 0xff; error codes 0x01 caller hung up, 0x02 frame forwarding, 0x04 memory, which
  older Asterisk builds sent. Its README is where the error codes are listed.

So what we may send to Asterisk is audio (0x10, 1..65535 bytes) and hangup (0x00); anything else makes
Asterisk drop the call with an error. ``app_audiosocket.c`` also gives up after 2 s with no traffic either way.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import struct
import uuid as uuid_lib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("pyai.telephony.audiosocket")

HEADER = struct.Struct(">BH")  # kind, payload length (big-endian), per the protocol definition
MAX_PAYLOAD = 0xFFFF  # the length field is 16 bits
SAMPLE_RATE = 8000  # the 0x10 kind is 8 kHz slin, the only format the AudioSocket() application uses
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono: the size Asterisk sends, and the size we send back
DEFAULT_MAX_AUDIO_PAYLOAD = 16000  # 1 s at 8 kHz; >20 ms even at 192 kHz. Real frames are 320 bytes.


class Kind(enum.IntEnum):
    """Message kinds, as in Asterisk's ``enum ast_audiosocket_msg_kind``."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10  # slin, 8 kHz
    AUDIO_SLIN12 = 0x11
    AUDIO_SLIN16 = 0x12
    AUDIO_SLIN24 = 0x13
    AUDIO_SLIN32 = 0x14
    AUDIO_SLIN44 = 0x15
    AUDIO_SLIN48 = 0x16
    AUDIO_SLIN96 = 0x17
    AUDIO_SLIN192 = 0x18
    ERROR = 0xFF


AUDIO_RATES: dict[int, int] = {
    Kind.AUDIO: 8000,
    Kind.AUDIO_SLIN12: 12000,
    Kind.AUDIO_SLIN16: 16000,
    Kind.AUDIO_SLIN24: 24000,
    Kind.AUDIO_SLIN32: 32000,
    Kind.AUDIO_SLIN44: 44100,
    Kind.AUDIO_SLIN48: 48000,
    Kind.AUDIO_SLIN96: 96000,
    Kind.AUDIO_SLIN192: 192000,
}


class ErrorCode(enum.IntEnum):
    """Asterisk's bit-packed error codes (CyCoreSystems/audiosocket README and ``audiosocket.go``)."""

    NONE = 0x00
    HANGUP = 0x01
    FRAME_FORWARDING = 0x02
    MEMORY = 0x04


class ProtocolError(ValueError):
    """The peer broke the framing (unknown kind, bad length, bad payload); the connection must be closed,
    because after a bad header there is no way to find the next message boundary."""


class AudioSocketClosed(ConnectionError):
    """The call is over (either side hung up or the socket died); nothing more can be sent."""


# --- codec (sans I/O) -------------------------------------------------------------------------------------------


def encode(kind: int, payload: bytes = b"") -> bytes:
    """One message: header + payload. Refuses what cannot be framed (kind outside a byte, payload > 65535)."""
    if not 0 <= kind <= 0xFF:
        raise ValueError(f"kind {kind} does not fit in a byte")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the 16-bit length field")
    return HEADER.pack(kind, len(payload)) + payload


def audio(pcm: bytes) -> bytes:
    """An 8 kHz slin message. Empty or odd-length PCM is refused: Asterisk rejects a zero-length audio
    payload (ending the call), and an odd byte would split a 16-bit sample."""
    if not pcm:
        raise ValueError("audio payload must not be empty (Asterisk treats it as an error)")
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    return encode(Kind.AUDIO, pcm)


def hangup() -> bytes:
    """The terminate message, ``00 00 00``."""
    return encode(Kind.HANGUP)


def uuid_message(call_id: uuid_lib.UUID | str) -> bytes:
    """The first message Asterisk sends: kind 0x01 and the UUID's 16 bytes in RFC 4122 (network) order,
    which is what libuuid's ``uuid_parse`` produces."""
    value = call_id if isinstance(call_id, uuid_lib.UUID) else uuid_lib.UUID(call_id)
    return encode(Kind.UUID, value.bytes)


def dtmf(digit: str) -> bytes:
    """A DTMF message: one ASCII character (Asterisk sends the frame's digit as is)."""
    if len(digit) != 1 or not digit.isascii() or not digit.isprintable():
        raise ValueError(f"DTMF digit must be one printable ASCII character, not {digit!r}")
    return encode(Kind.DTMF, digit.encode("ascii"))


def error(code: int = ErrorCode.NONE) -> bytes:
    """An error message carrying a one-byte code. Only for peers other than Asterisk, which ends the call
    with an error on receiving this kind."""
    if not 0 <= code <= 0xFF:
        raise ValueError(f"error code {code} does not fit in a byte")
    return encode(Kind.ERROR, bytes([code]))


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded message; the properties read the payload for its kind."""

    kind: int
    payload: bytes = b""

    @property
    def uuid(self) -> uuid_lib.UUID:
        if self.kind != Kind.UUID:
            raise ValueError(f"message kind 0x{self.kind:02x} carries no UUID")
        return uuid_lib.UUID(bytes=self.payload)

    @property
    def pcm(self) -> bytes:
        if self.kind not in AUDIO_RATES:
            raise ValueError(f"message kind 0x{self.kind:02x} carries no audio")
        return self.payload

    @property
    def sample_rate(self) -> int:
        if self.kind not in AUDIO_RATES:
            raise ValueError(f"message kind 0x{self.kind:02x} carries no audio")
        return AUDIO_RATES[self.kind]

    @property
    def digit(self) -> str:
        if self.kind != Kind.DTMF:
            raise ValueError(f"message kind 0x{self.kind:02x} carries no DTMF digit")
        return self.payload.decode("ascii")

    @property
    def error_code(self) -> int | None:
        """The first payload byte of an error message (the code is optional, so it may be absent)."""
        if self.kind != Kind.ERROR:
            raise ValueError(f"message kind 0x{self.kind:02x} carries no error code")
        return self.payload[0] if self.payload else None


_MAX_ERROR_PAYLOAD = 255  # "application-specific": allow some room, but not a stream's worth


class Decoder:
    """Incremental decoder: feed it whatever the socket returned, get whole messages back.

    Each header is validated as soon as its 3 bytes arrive, so garbage (an HTTP request, a port scanner) is
    refused at once instead of after buffering up to 64 KiB. After a ``ProtocolError`` the decoder stays
    broken: the byte stream has no resynchronisation point.
    """

    def __init__(self, *, max_audio_payload: int = DEFAULT_MAX_AUDIO_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max_audio = max_audio_payload
        self._failed: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete message held back (non-zero at EOF means the peer quit mid-frame)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        if self._failed is not None:
            raise self._failed
        self._buf += data
        out: list[Message] = []
        pos = 0
        try:
            while len(self._buf) - pos >= HEADER.size:
                kind, length = HEADER.unpack_from(self._buf, pos)
                self._check_header(kind, length)
                end = pos + HEADER.size + length
                if len(self._buf) < end:
                    break
                msg = Message(kind, bytes(self._buf[pos + HEADER.size : end]))
                self._check_payload(msg)
                out.append(msg)
                pos = end
        except ProtocolError as e:
            self._failed = e
            self._buf.clear()
            raise
        del self._buf[:pos]
        return out

    def _check_header(self, kind: int, length: int) -> None:
        if kind == Kind.HANGUP:
            ok = length == 0
        elif kind == Kind.UUID:
            ok = length == 16
        elif kind == Kind.DTMF:
            ok = length == 1
        elif kind == Kind.ERROR:
            ok = length <= _MAX_ERROR_PAYLOAD
        elif kind in AUDIO_RATES:
            if length > self._max_audio:
                raise ProtocolError(f"audio payload of {length} bytes exceeds the {self._max_audio}-byte limit")
            ok = length > 0 and length % 2 == 0
        else:
            raise ProtocolError(f"unknown message kind 0x{kind:02x}")
        if not ok:
            raise ProtocolError(f"invalid payload length {length} for message kind 0x{kind:02x}")

    @staticmethod
    def _check_payload(msg: Message) -> None:
        if msg.kind == Kind.DTMF:
            ch = msg.payload[0]
            if not 0x20 < ch < 0x7F:
                raise ProtocolError(f"DTMF payload 0x{ch:02x} is not a printable ASCII character")


# --- calls and the server ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dtmf:
    """The caller pressed a key."""

    digit: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """The call ended; always the last event. ``reason``: ``remote`` (peer sent the hangup kind),
    ``disconnected`` (socket closed or reset, which is how Asterisk ends a call), ``error`` (peer sent the
    error kind; ``error_code`` holds its code), ``protocol_error`` (peer sent garbage; see ``detail``),
    ``timeout`` (peer silent for ``CallLimits.idle_timeout``) or ``local`` (we hung up, or the server shut
    down)."""

    reason: str
    error_code: int | None = None
    detail: str = ""


CallEvent = bytes | Dtmf | Hangup  # bytes: a chunk of 8 kHz slin from the caller, as Asterisk framed it


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Per-connection limits; the defaults suit Asterisk, which sends a 320-byte frame every 20 ms.

    ``uuid_timeout``: seconds a new connection has to send its UUID. ``idle_timeout``: seconds without any
    byte from the peer before the call is ended as dead (None: never; a live Asterisk channel is never
    silent on the wire, and Asterisk itself gives up after 2 s without traffic). ``max_audio_payload``:
    largest audio message accepted. ``max_buffered_audio``: caller audio held for an application that is
    not reading; newer chunks beyond it are dropped. ``close_timeout``: how long a closing socket may take
    to flush before it is aborted (a peer that stopped reading would otherwise pin it open).
    """

    uuid_timeout: float = 5.0
    idle_timeout: float | None = None
    max_audio_payload: int = DEFAULT_MAX_AUDIO_PAYLOAD
    max_buffered_audio: int = 10 * SAMPLE_RATE * 2
    close_timeout: float = 5.0


class AudioSocketCall:
    """One AudioSocket connection after its UUID arrived.

    A reader task decodes the socket into an inbox, so hangups are noticed (``closed``) even while the
    application is busy sending. Caller audio that the application does not consume is bounded by
    ``CallLimits.max_buffered_audio`` bytes; beyond it new chunks are dropped (and counted) rather than growing
    memory.
    """

    def __init__(
        self,
        call_id: uuid_lib.UUID,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: Decoder,
        limits: CallLimits | None = None,
    ) -> None:
        self.uuid = call_id
        self.peer = _peer_name(writer)
        self.dropped_audio_bytes = 0
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._limits = limits or CallLimits()
        self._inbox: collections.deque[bytes | Dtmf] = collections.deque()
        self._buffered = 0
        self._ready = asyncio.Event()
        self._done = asyncio.Event()
        self._end: Hangup | None = None
        self._reader_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<AudioSocketCall {self.uuid} from {self.peer}{' closed' if self.closed else ''}>"

    @property
    def closed(self) -> bool:
        return self._end is not None

    @property
    def end(self) -> Hangup | None:
        """How the call ended, once it has."""
        return self._end

    async def recv(self) -> CallEvent:
        """The next caller event. Buffered events are delivered before the ``Hangup``; after it, every call
        returns the same ``Hangup`` again, so a late reader cannot block forever."""
        while True:
            if self._inbox:
                event = self._inbox.popleft()
                if isinstance(event, bytes):
                    self._buffered -= len(event)
                return event
            if self._end is not None:
                return self._end
            self._ready.clear()
            await self._ready.wait()

    async def __aiter__(self) -> AsyncIterator[CallEvent]:
        """Caller events up to and including the final ``Hangup``."""
        while True:
            event = await self.recv()
            yield event
            if isinstance(event, Hangup):
                return

    async def send_audio(self, pcm: bytes) -> None:
        """Send 8 kHz slin to the caller in 20 ms (320-byte) messages; a shorter tail goes as is.

        No pacing here: Asterisk writes each message to the channel as it arrives, so the caller of this
        method must send in real time (roughly one 20 ms frame per 20 ms) or the phone's jitter buffer will
        drop the burst. Raises ``AudioSocketClosed`` once the call is over.
        """
        if self._end is not None:
            raise AudioSocketClosed(f"call {self.uuid} is closed ({self._end.reason})")
        if len(pcm) % 2:
            raise ValueError("16-bit PCM must have an even number of bytes")
        if not pcm:
            return
        data = b"".join(audio(pcm[i : i + FRAME_BYTES]) for i in range(0, len(pcm), FRAME_BYTES))
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as e:
            self._finish(Hangup("disconnected", detail=str(e)))
            raise AudioSocketClosed(f"call {self.uuid}: {e}") from e

    async def hangup(self) -> None:
        """Send the hangup kind and close the socket; a no-op if the call is already over."""
        if self._end is None:
            self._finish(Hangup("local"), send_hangup=True)
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the call is over and its socket closed; a socket that cannot flush within
        ``close_timeout`` (the peer stopped reading) is aborted."""
        await self._done.wait()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), self._limits.close_timeout)
        except TimeoutError:
            self._writer.transport.abort()
        except (ConnectionError, OSError):
            pass

    # internals

    def _start(self, pending: list[Message]) -> None:
        """Deliver messages that came in the same read as the UUID, then read the socket in the background."""
        try:
            for msg in pending:
                self._dispatch(msg)
        except ProtocolError as e:
            self._protocol_error(e)
            return
        if self._end is None:
            self._reader_task = asyncio.create_task(self._read_loop(), name=f"audiosocket-read-{self.uuid}")

    async def _read_loop(self) -> None:
        try:
            while self._end is None:
                try:
                    async with asyncio.timeout(self._limits.idle_timeout):
                        data = await self._reader.read(65536)
                except TimeoutError:
                    log.warning(
                        "audiosocket %s: nothing from %s for %s s; closing",
                        self.uuid,
                        self.peer,
                        self._limits.idle_timeout,
                    )
                    self._finish(Hangup("timeout", detail=f"no data for {self._limits.idle_timeout} s"))
                    return
                if not data:
                    detail = f"{self._decoder.buffered} bytes of a partial message" if self._decoder.buffered else ""
                    if detail:
                        log.warning(
                            "audiosocket %s: peer %s disconnected mid-message (%s)", self.uuid, self.peer, detail
                        )
                    self._finish(Hangup("disconnected", detail=detail))
                    return
                for msg in self._decoder.feed(data):
                    self._dispatch(msg)
                    if self._end is not None:
                        return
        except ProtocolError as e:
            self._protocol_error(e)
        except (ConnectionError, OSError) as e:
            self._finish(Hangup("disconnected", detail=str(e)))

    def _protocol_error(self, e: ProtocolError) -> None:
        log.warning("audiosocket %s: protocol error from %s: %s; closing", self.uuid, self.peer, e)
        self._finish(Hangup("protocol_error", detail=str(e)))

    def _dispatch(self, msg: Message) -> None:
        if msg.kind == Kind.AUDIO:
            if self._buffered + len(msg.payload) > self._limits.max_buffered_audio:
                if not self.dropped_audio_bytes:
                    log.warning("audiosocket %s: caller audio not being consumed; dropping", self.uuid)
                self.dropped_audio_bytes += len(msg.payload)
                return
            self._buffered += len(msg.payload)
            self._inbox.append(msg.payload)
        elif msg.kind == Kind.DTMF:
            self._inbox.append(Dtmf(msg.digit))
        elif msg.kind == Kind.HANGUP:
            self._finish(Hangup("remote"))
        elif msg.kind == Kind.ERROR:
            self._finish(Hangup("error", error_code=msg.error_code))
        elif msg.kind == Kind.UUID:
            raise ProtocolError("a second UUID message on the same connection")
        else:  # the other audio kinds: channel-driver codecs we do not take
            raise ProtocolError(
                f"audio kind 0x{msg.kind:02x} ({msg.sample_rate} Hz) is not supported; only 8 kHz slin (0x10)"
            )
        self._ready.set()

    def _finish(self, end: Hangup, *, send_hangup: bool = False) -> None:
        """End the call once: record why, wake readers, stop the reader task, close the socket."""
        if self._end is not None:
            return
        self._end = end
        self._ready.set()
        if self._reader_task is not None and self._reader_task is not asyncio.current_task():
            self._reader_task.cancel()
        if send_hangup and not self._writer.is_closing():
            with contextlib.suppress(Exception):
                self._writer.write(hangup())
        self._writer.close()  # flushes what was written (the hangup) before closing
        self._done.set()
        log.info("audiosocket %s: call from %s ended (%s)", self.uuid, self.peer, end.reason)


OnCall = Callable[[AudioSocketCall], Awaitable[None]]


class AudioSocketServer:
    """Accepts Asterisk connections; runs ``on_call(call)`` for each once its UUID has arrived.

    When ``on_call`` returns (or raises, which is logged) the call is hung up. A connection that sends no
    UUID within ``limits.uuid_timeout`` seconds, sends something else first, or breaks the framing is logged
    and closed; other connections and the listener carry on.
    """

    def __init__(self, on_call: OnCall, limits: CallLimits | None = None) -> None:
        self._on_call = on_call
        self._limits = limits or CallLimits()
        self._server: asyncio.Server | None = None
        self._calls: set[AudioSocketCall] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._handshaking: set[asyncio.Task[None]] = set()

    @property
    def calls(self) -> frozenset[AudioSocketCall]:
        return frozenset(self._calls)

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server is not listening")
        return self._server.sockets[0].getsockname()[1]

    async def start(self, host: str | None, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port)
        log.info("audiosocket listening on %s", ", ".join(str(s.getsockname()) for s in self._server.sockets))

    async def serve_forever(self) -> None:
        if self._server is None:
            raise RuntimeError("call start() first")
        await self._server.serve_forever()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop listening, hang up every call, and give handlers ``timeout`` seconds before cancelling them."""
        if self._server is not None:
            self._server.close()
        for task in list(self._handshaking):  # no call yet, nothing to hang up: just drop them
            task.cancel()
        for call in list(self._calls):
            await call.hangup()
        handlers = list(self._handlers)
        if handlers:
            _, pending = await asyncio.wait(handlers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout)

    async def __aenter__(self) -> AudioSocketServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._run_connection(reader, writer)
        except Exception:  # never let one connection's bug reach the listener
            log.exception("audiosocket: connection handler failed")
            writer.close()
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _run_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_name(writer)
        decoder = Decoder(max_audio_payload=self._limits.max_audio_payload)
        task = asyncio.current_task()
        if task is not None:
            self._handshaking.add(task)
        try:
            async with asyncio.timeout(self._limits.uuid_timeout):
                messages = await _read_messages(reader, decoder)
        except asyncio.CancelledError:
            writer.close()
            raise
        except TimeoutError:
            log.warning("audiosocket: %s sent no UUID within %.1f s; closing", peer, self._limits.uuid_timeout)
            writer.close()
            return
        except ProtocolError as e:
            log.warning("audiosocket: protocol error from %s before its UUID: %s; closing", peer, e)
            writer.close()
            return
        except (ConnectionError, OSError, EOFError) as e:
            log.info("audiosocket: %s went away before its UUID (%s)", peer, e or type(e).__name__)
            writer.close()
            return
        finally:
            if task is not None:
                self._handshaking.discard(task)
        first, rest = messages[0], messages[1:]
        if first.kind != Kind.UUID:
            log.warning("audiosocket: %s sent kind 0x%02x before its UUID; closing", peer, first.kind)
            writer.close()
            return
        call = AudioSocketCall(first.uuid, reader, writer, decoder, self._limits)
        log.info("audiosocket %s: call from %s", call.uuid, peer)
        self._calls.add(call)
        try:
            call._start(rest)
            await self._on_call(call)
        except Exception:
            log.exception("audiosocket %s: on_call failed; hanging up", call.uuid)
        finally:
            self._calls.discard(call)
            await call.hangup()


async def _read_messages(reader: asyncio.StreamReader, decoder: Decoder) -> list[Message]:
    """Read until at least one whole message is decoded; EOFError if the peer closes first."""
    while True:
        data = await reader.read(65536)
        if not data:
            raise EOFError("connection closed")
        messages = decoder.feed(data)
        if messages:
            return messages


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


async def start_audiosocket_server(
    host: str | None, port: int, on_call: OnCall, limits: CallLimits | None = None
) -> AudioSocketServer:
    """Listen and return at once (like ``asyncio.start_server``); ``await server.close()`` to stop."""
    server = AudioSocketServer(on_call, limits)
    await server.start(host, port)
    return server


async def serve_audiosocket(host: str | None, port: int, on_call: OnCall, limits: CallLimits | None = None) -> None:
    """Listen and serve until cancelled, then hang up every call."""
    server = await start_audiosocket_server(host, port, on_call, limits)
    try:
        await server.serve_forever()
    finally:
        await server.close()
