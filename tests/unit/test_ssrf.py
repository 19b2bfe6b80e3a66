"""The SSRF guard checks where the connection is opened, not only the URL: an address that is not
public is refused at connect time even when the URL passed, so a DNS answer that flips between
the check and the connection (rebinding) reaches nothing inside."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pyai.net import ssrf

PUBLIC = "93.184.216.34"


def resolving(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """Make ``rebind.example`` resolve to ``answers`` in turn (the last one thereafter)."""
    real, asked = socket.getaddrinfo, []

    def fake(host, port, *args, **kwargs):  # noqa: ANN001, ANN202
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_a_dns_answer_that_flips_to_loopback_after_the_check_is_refused_at_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = resolving(monkeypatch, [PUBLIC, "127.0.0.1"])
    with pytest.raises(ssrf.UnsafeUrlError, match="non-public"):
        asyncio.run(ssrf.post_json("https://rebind.example/hook", b"{}", {}, timeout=5))
    assert asked == [PUBLIC, "127.0.0.1"]  # the URL check passed; the connection was not made


def test_the_client_itself_refuses_a_private_address() -> None:
    async def get() -> None:
        async with ssrf.vetted_client(5) as client:
            await client.get("http://10.0.0.1/")

    with pytest.raises(ssrf.UnsafeUrlError, match="non-public"):
        asyncio.run(get())


def test_loopback_is_allowed_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:  # something to connect to, so only the guard can refuse
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"

        async def connect(allow: bool) -> None:
            async with ssrf.vetted_client(2, allow_loopback=allow) as client:
                await client.get(url)

        with pytest.raises(ssrf.UnsafeUrlError):
            asyncio.run(connect(False))
        with pytest.raises(Exception) as allowed:  # connected; the listener never answers
            asyncio.run(connect(True))
        assert not isinstance(allowed.value, ssrf.UnsafeUrlError)
