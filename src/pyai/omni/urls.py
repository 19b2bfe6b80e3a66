"""Outbound URLs a customer registers (tool webhooks, extraction webhooks, knowledge endpoints).

They pass the SSRF guard when registered, so a URL that could never be called is a 400 naming
its field now; whoever calls one checks it again at call time, since DNS may have changed since.
"""

from __future__ import annotations

from pyai.gateway.errors import bad_request
from pyai.net.ssrf import UnsafeUrlError, vet_url


async def vetted_url(url: str, param: str, *, test_mode: bool) -> str:
    """``url`` when it is an https URL of a public host (http and loopback too in test mode)."""
    try:
        await vet_url(url, allow_loopback=test_mode)
    except UnsafeUrlError as e:
        raise bad_request(f"{param}: {e}.", param=param, code="unsafe_url") from None
    return url
