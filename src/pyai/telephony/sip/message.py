"""SIP messages (RFC 3261 §7): parse what a PBX or trunk sends over UDP, and build our responses
and our BYE. Sans I/O. Only what a user-agent server answering calls needs: header names are
matched case-insensitively and in their compact forms (§7.3.3), repeated headers keep their order
(Via above all), and the body is cut at ``Content-Length``."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

COMPACT = {  # §7.3.3 compact header names
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
}
REASONS = {
    100: "Trying",
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
}
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
_URI_USER = re.compile(r"^sips?:([^@;>]+)@", re.IGNORECASE)
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.IGNORECASE)
_ANGLE = re.compile(r"<([^>]+)>")


class SipParseError(ValueError):
    """Not a SIP message we can read (no answer is possible: the datagram is dropped)."""


@dataclass
class SipMessage:
    """A request (``method`` + ``uri``) or a response (``status`` + ``reason``)."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # (lower-case full name, value), in order
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str) -> str | None:
        """The first value of a header (its full name, any case)."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = (self.get("cseq") or "0 ").partition(" ")
        return int(number) if number.isdigit() else 0, method.strip().upper()

    def encode(self) -> bytes:
        first = f"{self.method} {self.uri} SIP/2.0" if self.is_request else f"SIP/2.0 {self.status} {self.reason}"
        lines = [first] + [f"{_display(k)}: {v}" for k, v in self.headers if k != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def _display(name: str) -> str:
    return {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}.get(
        name, "-".join(part.capitalize() for part in name.split("-"))
    )


def parse(data: bytes) -> SipMessage:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SipParseError("the header is not UTF-8") from e
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].split(" ", 2)
    if len(first) != 3:
        raise SipParseError(f"bad start line {lines[0][:80]!r}")
    msg = SipMessage()
    if first[0] == "SIP/2.0":
        if not first[1].isdigit():
            raise SipParseError(f"bad status line {lines[0][:80]!r}")
        msg.status, msg.reason = int(first[1]), first[2]
    elif first[2] == "SIP/2.0" and first[0].isalpha():
        msg.method, msg.uri = first[0].upper(), first[1]
    else:
        raise SipParseError(f"bad start line {lines[0][:80]!r}")
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # a folded continuation line
            name, value = msg.headers[-1]
            msg.headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"bad header line {line[:80]!r}")
        name = name.strip().lower()
        msg.headers.append((COMPACT.get(name, name), value.strip()))
    length = msg.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > len(body):
            raise SipParseError(f"Content-Length {length!r} does not match the body")
        body = body[: int(length)]
    msg.body = body
    for required in ("via", "from", "to", "call-id", "cseq"):
        if msg.get(required) is None:
            raise SipParseError(f"no {required} header")
    return msg


def response(request: SipMessage, status: int, *, to_tag: str | None = None, extra=(), body: bytes = b"") -> SipMessage:  # noqa: ANN001
    """A response to ``request`` (§8.2.6): its Vias, From, Call-ID and CSeq, and its To with our tag."""
    to = request.get("to") or ""
    if to_tag and not tag_of(to):
        to = f"{to};tag={to_tag}"
    headers = [("via", v) for v in request.all("via")]
    headers += [("from", request.get("from") or ""), ("to", to), ("call-id", request.call_id)]
    headers += [("cseq", request.get("cseq") or ""), *extra]
    return SipMessage(status=status, reason=REASONS.get(status, "Unknown"), headers=headers, body=body)


def tag_of(header: str) -> str | None:
    found = _TAG.search(header)
    return found.group(1) if found else None


def uri_of(header: str) -> str:
    """The URI in a From/To/Contact value, with or without angle brackets."""
    found = _ANGLE.search(header)
    return (found.group(1) if found else header.split(";")[0]).strip()


def user_of(uri: str) -> str | None:
    """The user part of a SIP URI (``+14155550123`` of ``sip:+14155550123@pbx``)."""
    found = _URI_USER.match(uri.strip())
    return found.group(1) if found else None


def e164(user: str | None) -> str | None:
    """A dialled user part as E.164: ``+`` and digits kept, 10 digits taken as a US number."""
    if not user:
        return None
    digits = re.sub(r"[\s\-().]", "", user)
    if digits.startswith("+") and digits[1:].isdigit():
        return digits
    if digits.isdigit():
        return "+1" + digits if len(digits) == 10 else "+" + digits
    return None


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)  # the RFC 3261 magic cookie
