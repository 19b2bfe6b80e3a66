"""Twilio's ``X-Twilio-Signature``: how PyAI knows a webhook or media-stream upgrade really comes
from Twilio (the stream cannot carry a PyAI key, see ``twiml.py``).

The algorithm, as Twilio documents it (https://www.twilio.com/docs/usage/security#validating-requests)
and its SDKs implement it: start from the full URL Twilio requested (scheme, host, path, query);
for a form POST append each parameter sorted by name, name then value (a repeated name: its
distinct values sorted); HMAC-SHA1 that string with the account's auth token; base64 it.
A proxy may add or strip the port, so — like the SDKs — a URL with an explicit port is also
checked without it, and one without a port also with the scheme's standard port.
Query-string parameters are not appended: they are already part of the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None


def _grouped(params: Params) -> dict[str, list[str]]:
    """``{name: [values]}`` from a dict (values may be lists) or ``(name, value)`` pairs such as
    Starlette's ``form.multi_items()``."""
    grouped: dict[str, list[str]] = {}
    if params is None:
        return grouped
    pairs = params.items() if isinstance(params, Mapping) else params
    for name, value in pairs:
        values = [value] if isinstance(value, str) else list(value)
        grouped.setdefault(name, []).extend(values)
    return grouped


def sign(auth_token: str, url: str, params: Params = None) -> str:
    """The signature Twilio would send for a request to ``url`` with form ``params``."""
    data = url
    grouped = _grouped(params)
    for name in sorted(grouped):
        for value in sorted(set(grouped[name])):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """``url`` as given, plus the same without its port or with the standard port added."""
    parts = urlsplit(url)
    variants = [url]
    try:
        port = parts.port
    except ValueError:
        return variants
    if parts.hostname is None:
        return variants
    userinfo, _, hostport = parts.netloc.rpartition("@")
    prefix = f"{userinfo}@" if userinfo else ""
    host = hostport.rsplit(":", 1)[0] if port is not None else hostport
    if port is not None:
        variants.append(urlunsplit(parts._replace(netloc=prefix + host)))
    else:
        standard = {"https": 443, "http": 80, "wss": 443, "ws": 80}.get(parts.scheme)
        if standard:
            variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{standard}")))
    return variants


def validate(auth_token: str, url: str, params: Params, signature: str | None) -> bool:
    """Whether ``signature`` (the header's value) is Twilio's for this request. Compared in
    constant time; an empty or missing signature or token is never valid."""
    if not signature or not auth_token:
        return False
    given = signature.encode()
    grouped = _grouped(params)
    ok = False
    for candidate in _url_variants(url):
        # No early exit: every variant is compared so timing does not reveal which one matched.
        ok |= hmac.compare_digest(sign(auth_token, candidate, grouped).encode(), given)
    return ok
