"""A UDP socket's protocol that knows its transport and the port it was given (SIP and RTP both
bind port 0 on tests and tell the peer the port in their messages)."""

from __future__ import annotations

import asyncio


class UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
