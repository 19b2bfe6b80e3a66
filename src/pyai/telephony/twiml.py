"""TwiML documents PyAI hands Twilio, built by escaping every value (never by formatting raw text
into XML), because numbers, parameters and refusal text can come from callers and tenants.

Twilio's Media Streams connect with no query string and no subprotocol, so whatever the bridge
needs per call (a one-time token, the agent) rides in ``<Parameter>`` elements and comes back in
the stream's ``start.customParameters``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

#: What a webhook answering with TwiML sends as its Content-Type.
CONTENT_TYPE = "text/xml; charset=utf-8"

# Characters XML 1.0 cannot carry at all, even escaped (C0 controls except tab, LF, CR; lone
# surrogates; U+FFFE/U+FFFF). They are dropped rather than producing a document Twilio rejects.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def xml_text(value: str) -> str:
    """``value`` safe as element text."""
    return _NOT_XML.sub("", str(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(value: str) -> str:
    """``value`` safe inside a double-quoted attribute (newlines and tabs kept as character
    references, since a parser would otherwise normalise them to spaces)."""
    text = xml_text(value).replace('"', "&quot;").replace("'", "&apos;")
    return text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


def connect_stream(
    ws_url: str, parameters: Mapping[str, str] | None = None, *, status_callback: str | None = None
) -> str:
    """``<Connect><Stream>``: a bidirectional media stream to ``ws_url`` (the bridge's endpoint).

    ``ws_url`` must be ``wss://`` without a query string or fragment: Twilio refuses or strips
    those (errors 31920/31922), so per-call data must go in ``parameters``. Plain ``ws://`` is
    allowed to a loopback host only, for a local test double of Twilio.
    """
    parts = urlsplit(ws_url)
    local = parts.scheme == "ws" and parts.hostname in ("127.0.0.1", "localhost", "::1")  # a local double
    if (parts.scheme != "wss" and not local) or not parts.hostname:
        raise ValueError("stream URL must be an absolute wss:// URL (ws:// only to a loopback host)")
    if parts.query or parts.fragment or "?" in ws_url or "#" in ws_url:
        raise ValueError("stream URL may not carry a query string or fragment; use parameters")
    callback = f' statusCallback="{xml_attr(status_callback)}"' if status_callback else ""
    items = []
    for name, value in (parameters or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError("stream parameter names must be non-empty strings")
        items.append(f'<Parameter name="{xml_attr(name)}" value="{xml_attr(value)}"/>')
    return (
        f'<Response><Connect><Stream url="{xml_attr(ws_url)}"{callback}>{"".join(items)}</Stream></Connect></Response>'
    )


def dial(number: str, caller_id: str | None = None) -> str:
    """``<Dial>`` a number: how a live call is transferred (the rest of the current TwiML, i.e.
    PyAI's stream, ends). Both numbers must be E.164 so no SIP URI or client name sneaks in."""
    if not isinstance(number, str) or not _E164.match(number):
        raise ValueError("number must be in E.164 form, like +14155550123")
    if caller_id is not None and not _E164.match(caller_id):
        raise ValueError("caller_id must be in E.164 form, like +14155550123")
    attr = f' callerId="{xml_attr(caller_id)}"' if caller_id else ""
    return f"<Response><Dial{attr}>{xml_text(number)}</Dial></Response>"


def hangup() -> str:
    """End the call."""
    return "<Response><Hangup/></Response>"


def say_and_hangup(text: str) -> str:
    """Speak ``text`` with Twilio's voice, then end the call: for refusing a call PyAI will not
    take (unknown number, no agent, out of credit) without leaving the caller in silence."""
    return f"<Response><Say>{xml_text(text)}</Say><Hangup/></Response>"
