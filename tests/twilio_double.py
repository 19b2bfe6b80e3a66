"""A local Twilio REST API for tests of the carrier adapter: the number and call endpoints
``pyai.telephony.carriers.twilio`` uses, over real HTTP on a loopback port (``tests.receiver.serving``).

It checks every request the way Twilio would refuse it, and records what it saw::

    with TwilioDouble() as tw:
        carrier = TwilioCarrier(tw.account_sid, tw.auth_token, api_base=tw.url)
        call_sid = tw.add_call()
        ...
        tw.requests   # [Seen(method, path, query, headers, form)], in order
        tw.numbers    # {PN sid: {phone_number, voice_url, voice_method, …}} still owned
        tw.calls      # {CA sid: {status, twiml}}
        tw.problems   # every check a request failed (empty when the client got it right)

- Every request: HTTP Basic ``AccountSid:AuthToken`` (else 401, Twilio code 20003) and the
  account in the path being that account (else 404, code 20404).
- ``GET …/AvailablePhoneNumbers/US/Local.json``: query only ``AreaCode``, ``Contains`` (``*`` = any
  digit), ``PageSize``, ``VoiceEnabled``; answers ``{available_phone_numbers: [...]}`` with
  Twilio's search-result shape (capabilities spelt ``voice``/``SMS``/``MMS``).
- ``POST …/IncomingPhoneNumbers.json``: a form with ``PhoneNumber`` and ``VoiceUrl`` and
  optionally ``VoiceMethod``; an unavailable number is 400 code 21422; answers 201 with the new
  ``PN…`` resource (capabilities spelt lower case, as Twilio does there).
- ``POST …/IncomingPhoneNumbers/{PN}.json``: form of ``VoiceUrl``/``VoiceMethod``; 200 or 404.
- ``DELETE …/IncomingPhoneNumbers/{PN}.json``: 204, or 404 (code 20404) when not owned.
- ``POST …/Calls/{CA}.json``: exactly one of ``Status=completed`` or ``Twiml``; a call that has
  already ended answers 400 code 21220 (invalid call state); unknown call 404.

Any parameter about recording (``Record``, ``Recording…``) is always a problem: PyAI never turns on
carrier-side recording. :meth:`fail_next` scripts one Twilio error answer for the next request.
"""

from __future__ import annotations

import base64
import http.server
import itertools
import json
import re
import threading
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.receiver import QuietHandler, serving

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-double-auth-token-0001"
#: What this double sells: (number, locality, region).
INVENTORY = [
    ("+14155550123", "San Francisco", "CA"),
    ("+14155550177", "San Francisco", "CA"),
    ("+14155559999", "San Francisco", "CA"),
    ("+15105550142", "Oakland", "CA"),
    ("+12125550100", "New York", "NY"),
]
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<rest>.+)$")
_SEARCH_QUERY = {"AreaCode", "Contains", "PageSize", "VoiceEnabled"}


@dataclass
class Seen:
    """One request as the double received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's error shape."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioDouble:
    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self.url = ""
        self.reset()

    def reset(self) -> None:
        """Back to a fresh account (full inventory, no numbers, calls, requests or scripted
        errors); the server stays up so a module can share one double."""
        with self._lock:
            self.requests: list[Seen] = []
            self.problems: list[str] = []
            self.available = {n: {"locality": loc, "region": reg} for n, loc, reg in INVENTORY}
            self.numbers: dict[str, dict[str, Any]] = {}
            self.calls: dict[str, dict[str, Any]] = {}
            self._failures: deque[tuple[int, dict[str, Any]]] = deque()
            self._ids = itertools.count(1)

    def __enter__(self) -> TwilioDouble:
        self.url = self._stack.enter_context(serving(self._handler()))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # ---- what the test does ----------------------------------------------------------------
    def add_call(self, status: str = "in-progress") -> str:
        """A live call (as if Twilio had connected one to our voice URL); returns its ``CA`` sid."""
        with self._lock:
            sid = f"CA{next(self._ids):032x}"
            self.calls[sid] = {"status": status, "twiml": None}
            return sid

    def fail_next(self, status: int = 400, code: int = 21452, message: str = "No phone numbers found") -> None:
        """The next request (after auth) answers this Twilio error instead."""
        with self._lock:
            self._failures.append((status, error_body(status, code, message)))

    def seen(self, method: str | None = None, path_end: str = "") -> list[Seen]:
        return [r for r in self.requests if (method is None or r.method == method) and r.path.endswith(path_end)]

    # ---- the server ------------------------------------------------------------------------
    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        double = self

        class Handler(QuietHandler):
            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                with double._lock:
                    status, body = double._route(seen, raw)
                    double.requests.append(seen)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815

        return Handler

    def _problem(self, text: str) -> None:
        self.problems.append(text)

    def _authorized(self, seen: Seen) -> bool:
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            self._problem(f"{seen.method} {seen.path}: no Basic auth")
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _route(self, seen: Seen, raw: bytes) -> tuple[int, Any]:
        if not self._authorized(seen):
            return 401, error_body(401, 20003, "Authentication Error - invalid username")
        m = _PATH.match(seen.path)
        if not m or m.group("account") != self.account_sid:
            self._problem(f"{seen.method} {seen.path}: not this account's resource")
            return 404, error_body(404, 20404, f"The requested resource {seen.path} was not found")
        if seen.method == "POST":
            if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                self._problem(f"POST {seen.path}: content-type {seen.headers.get('content-type')!r}")
            seen.form = parse_qs(raw.decode(), keep_blank_values=True)
            if any(len(v) != 1 for v in seen.form.values()):
                self._problem(f"POST {seen.path}: a repeated form field {sorted(seen.form)}")
        elif raw:
            self._problem(f"{seen.method} {seen.path}: unexpected body")
        for name in [*seen.form, *seen.query]:
            if "record" in name.lower():
                self._problem(f"{seen.method} {seen.path}: recording parameter {name} sent")
        if self._failures:
            return self._failures.popleft()
        form = {k: v[0] for k, v in seen.form.items()}
        rest = m.group("rest")
        if rest == "AvailablePhoneNumbers/US/Local.json" and seen.method == "GET":
            return self._search(seen)
        if rest == "IncomingPhoneNumbers.json" and seen.method == "POST":
            return self._buy(form)
        if n := re.fullmatch(r"IncomingPhoneNumbers/(PN[0-9a-f]{32})\.json", rest):
            return self._number(seen.method, n.group(1), form)
        if (c := re.fullmatch(r"Calls/(CA[0-9a-f]{32})\.json", rest)) and seen.method == "POST":
            return self._call(c.group(1), form)
        self._problem(f"{seen.method} {seen.path}: not an endpoint the adapter should call")
        return 404, error_body(404, 20404, f"The requested resource {seen.path} was not found")

    def _search(self, seen: Seen) -> tuple[int, Any]:
        query = {k: v[0] for k, v in seen.query.items()}
        if set(query) - _SEARCH_QUERY or any(len(v) != 1 for v in seen.query.values()):
            self._problem(f"search query {sorted(seen.query)}")
        if query.get("VoiceEnabled", "true") != "true":
            self._problem(f"VoiceEnabled={query['VoiceEnabled']}")
        size = int(query.get("PageSize", "50"))
        contains = re.compile(re.escape(query.get("Contains", "")).replace(r"\*", "[0-9]"))
        found = [
            {
                "friendly_name": f"({n[2:5]}) {n[5:8]}-{n[8:]}",
                "phone_number": n,
                "lata": "722",
                "locality": info["locality"],
                "rate_center": info["locality"].upper(),
                "latitude": "37.770000",
                "longitude": "-122.420000",
                "region": info["region"],
                "postal_code": "94110",
                "iso_country": "US",
                "address_requirements": "none",
                "beta": False,
                "capabilities": {"voice": True, "SMS": True, "MMS": False},
            }
            for n, info in sorted(self.available.items())
            if (not query.get("AreaCode") or n[2:5] == query["AreaCode"]) and contains.search(n[1:])
        ][:size]
        return 200, {"available_phone_numbers": found, "uri": seen.path}

    def _check_voice_form(self, form: dict[str, str], allowed: set[str], required: set[str]) -> None:
        if set(form) - allowed or required - set(form):
            self._problem(f"form fields {sorted(form)}")
        if form.get("VoiceMethod", "POST") != "POST":
            self._problem(f"VoiceMethod={form['VoiceMethod']}")
        if "VoiceUrl" in form and not re.match(r"^https?://", form["VoiceUrl"]):
            self._problem(f"VoiceUrl={form['VoiceUrl']!r}")

    def _buy(self, form: dict[str, str]) -> tuple[int, Any]:
        self._check_voice_form(form, {"PhoneNumber", "VoiceUrl", "VoiceMethod"}, {"PhoneNumber", "VoiceUrl"})
        number = form.get("PhoneNumber", "")
        if number not in self.available:
            return 400, error_body(400, 21422, "PhoneNumber requested is not available")
        del self.available[number]
        sid = f"PN{next(self._ids):032x}"
        self.numbers[sid] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "phone_number": number,
            "friendly_name": f"({number[2:5]}) {number[5:8]}-{number[8:]}",
            "voice_url": form.get("VoiceUrl"),
            "voice_method": form.get("VoiceMethod", "POST"),
            "capabilities": {"fax": False, "mms": True, "sms": True, "voice": True},
            "status": "in-use",
        }
        return 201, dict(self.numbers[sid])

    def _number(self, method: str, sid: str, form: dict[str, str]) -> tuple[int, Any]:
        if sid not in self.numbers:
            path = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json"
            return 404, error_body(404, 20404, f"The requested resource {path} was not found")
        if method == "DELETE":
            del self.numbers[sid]
            return 204, None
        if method == "POST":
            self._check_voice_form(form, {"VoiceUrl", "VoiceMethod"}, {"VoiceUrl"})
            self.numbers[sid].update(voice_url=form.get("VoiceUrl"), voice_method=form.get("VoiceMethod", "POST"))
            return 200, dict(self.numbers[sid])
        self._problem(f"{method} IncomingPhoneNumbers/{sid}.json: not used by the adapter")
        return 405, error_body(405, 20004, "Method not allowed")

    def _call(self, sid: str, form: dict[str, str]) -> tuple[int, Any]:
        call = self.calls.get(sid)
        if call is None:
            path = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json"
            return 404, error_body(404, 20404, f"The requested resource {path} was not found")
        if set(form) not in ({"Status"}, {"Twiml"}):
            self._problem(f"call update fields {sorted(form)}")
            return 400, error_body(400, 21218, "Invalid parameters")
        if call["status"] in ("completed", "canceled", "failed", "busy", "no-answer"):
            return 400, error_body(400, 21220, "Call is not in-progress. Cannot redirect.")
        if "Status" in form:
            if form["Status"] != "completed":
                self._problem(f"Status={form['Status']}")
            call["status"] = "completed"
        else:
            call["twiml"] = form["Twiml"]
        return 200, {"sid": sid, "account_sid": self.account_sid, "status": call["status"]}
