"""SSRF guard for URLs the server fetches or calls (audio_url, webhooks, kb endpoints, tools).

A URL must be https (http too in test mode), and every address its host resolves to must be a
public unicast address: private, loopback, link-local (cloud metadata), multicast and reserved
ranges are refused. Test mode additionally allows loopback so the suite can run local receivers.
Redirects are never followed (a redirect could point inside).

The check is made twice: on the URL, for a clear error early (at registration, before a request),
and again where the connection is opened (:func:`vetted_client`'s network backend resolves the
host, vets every address and connects to a vetted one), so a DNS answer that flips between the
check and the connection (rebinding) reaches nothing inside. TLS still verifies the certificate
against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx


class UnsafeUrlError(ValueError):
    """The URL may not be fetched; the message says why (safe to show the caller)."""


async def vet_url(url: str, *, allow_loopback: bool = False) -> tuple[str, str]:
    """Validate ``url``; returns ``(host, ip)`` of a vetted address to connect to."""
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError(f"URL scheme must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise UnsafeUrlError("URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrlError("URL may not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, (await vetted_addresses(parts.hostname, port, allow_loopback))[0]


async def vetted_addresses(host: str, port: int, allow_loopback: bool) -> list[str]:
    """Every address ``host`` resolves to, sorted, if all are public (or loopback, when allowed)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UnsafeUrlError(f"cannot resolve host {host}") from e
    addresses = sorted({info[4][0] for info in infos})
    for addr in addresses:
        ip = ipaddress.ip_address(addr.split("%")[0])
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            raise UnsafeUrlError(f"host {host} resolves to a non-public address")
    return addresses


class _VettedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to vetted addresses, resolved at connect time."""

    def __init__(self, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001, ANN201
        address = (await vetted_addresses(host, port, self.allow_loopback))[0]
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):  # noqa: ANN001, ANN201
        raise UnsafeUrlError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _VettedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow_loopback: bool) -> None:
        super().__init__()
        # httpx has no parameter for httpcore's network backend: the pool is rebuilt with ours,
        # keeping httpx's TLS context (certificates verified against the URL's host name).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,  # noqa: SLF001
            network_backend=_VettedBackend(allow_loopback),
        )


def vetted_client(timeout: float, allow_loopback: bool = False) -> httpx.AsyncClient:
    """An HTTP client for URLs from users: connects only to vetted addresses, follows no redirect."""
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=_VettedTransport(allow_loopback))


async def fetch_limited(
    url: str, *, max_bytes: int, timeout: float, allow_loopback: bool = False
) -> tuple[bytes, str | None]:
    """GET a vetted URL, refusing bodies over ``max_bytes``; returns ``(body, content_type)``."""
    await vet_url(url, allow_loopback=allow_loopback)
    async with vetted_client(timeout, allow_loopback) as client:
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise UnsafeUrlError(f"fetching the URL returned HTTP {resp.status_code}")
            return await _read_limited(resp, max_bytes, "remote file"), resp.headers.get("content-type")


async def _read_limited(resp: httpx.Response, max_bytes: int, what: str) -> bytes:
    """The body of a streamed response, refused (UnsafeUrlError) as soon as it passes ``max_bytes``."""
    too_large = UnsafeUrlError(f"{what} is larger than {max_bytes} bytes")
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def post_json(
    url: str, content: bytes, headers: dict[str, str], *, timeout: float, allow_loopback: bool = False
) -> httpx.Response:
    """POST to a vetted URL without following redirects (a redirect could point inside)."""
    await vet_url(url, allow_loopback=allow_loopback)
    async with vetted_client(timeout, allow_loopback) as client:
        return await client.post(url, content=content, headers={"content-type": "application/json", **headers})


async def post_limited(
    url: str, content: bytes, headers: dict[str, str], *, max_bytes: int, timeout: float, allow_loopback: bool = False
) -> tuple[int, bytes]:
    """``post_json`` that also reads the answer, refusing one over ``max_bytes``: ``(status, body)``."""
    await vet_url(url, allow_loopback=allow_loopback)
    async with vetted_client(timeout, allow_loopback) as client:
        request_headers = {"content-type": "application/json", **headers}
        async with client.stream("POST", url, content=content, headers=request_headers) as resp:
            return resp.status_code, await _read_limited(resp, max_bytes, "the response")
