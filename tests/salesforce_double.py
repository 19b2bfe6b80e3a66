"""A local Salesforce for tests of the recap writer: the OAuth token endpoint and the two sObject
endpoints it calls, over real HTTP on a loopback port (``tests.receiver.serving``).

It checks every request the way Salesforce would refuse it, and records what it saw::

    with SalesforceDouble() as sf:
        sf.add_record("Opportunity", "006Dn00000A1b2cIAB")
        ...  # point the writer's instance_url and login_url at sf.url
        sf.requests          # [Seen(method, path, headers, form, json)], in order
        sf.records, sf.tasks # the state the writes left
        sf.problems          # every check a request failed (empty when the client got it right)

- ``POST /services/oauth2/token``: a form (``application/x-www-form-urlencoded``) with exactly
  ``grant_type=refresh_token``, ``client_id``, ``client_secret``, ``refresh_token``; answers
  ``{access_token, instance_url, id, token_type, issued_at, signature}`` (plus a new
  ``refresh_token`` with ``rotate_refresh_token``) or Salesforce's OAuth errors
  (``invalid_client_id``, ``invalid_client``, ``invalid_grant``).
- ``PATCH /services/data/<version>/sobjects/<Object>/<id>``: ``Authorization: Bearer <a live
  token>`` (else 401 ``INVALID_SESSION_ID``), a JSON object of known fields of that object with
  the right types and lengths (else 400 ``INVALID_FIELD``/``STRING_TOO_LONG``…), an existing
  record (else 404 ``NOT_FOUND``); answers 204.
- ``POST /services/data/<version>/sobjects/Task``: the same checks for Task fields, plus Status
  and CallType picklists, ``TaskSubtype`` ``Call``, ``ActivityDate`` a date, and ``WhatId``/
  ``WhoId`` an existing record; answers 201 ``{id, success, errors}``.
- ``GET /services/data/<version>/query?q=…``: the one SOQL query the writer makes, ``SELECT Id
  FROM Task WHERE CallObject = '…' AND WhatId|WhoId = '…' LIMIT 1`` (anything else is a 400
  ``MALFORMED_QUERY``); answers ``{totalSize, done, records}`` from the Tasks created.

Another API version in the path is a 404, as on a real org. The test steers it with
:meth:`expire_token` (the live token now gets 401 ``INVALID_SESSION_ID``), ``expire_every_token``
(each token dies right after it is issued), :meth:`reject_next_patch` / :meth:`reject_next_task`
(one scripted error answer), and :meth:`issue_token` (a token as if cached from an earlier write).
"""

from __future__ import annotations

import datetime
import http.server
import itertools
import json
import re
import threading
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.receiver import QuietHandler, serving

EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
#: Field name → (type, max length) of the fields this org has, per object.
FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], int | None]]] = {
    "Opportunity": {
        "Name": (str, 120),
        "Description": (str, 32_000),
        "NextStep": (str, 255),
        "Amount": ((int, float), None),
        "StageName": (str, 255),
        "Recap_Outcome__c": (str, 255),
        "Recap_Sentiment__c": (str, 255),
    },
    "Contact": {"Email": (str, 80), "Phone": (str, 40), "Description": (str, 32_000)},
    "Case": {
        "Priority": (str, 40),
        "SuppliedEmail": (str, 80),
        "SuppliedPhone": (str, 40),
        "Description": (str, 32_000),
    },
}
TASK_FIELDS: dict[str, tuple[type | tuple[type, ...], int | None]] = {
    "Subject": (str, 255),
    "Description": (str, 32_000),
    "Status": (str, 40),
    "Priority": (str, 40),
    "TaskSubtype": (str, 40),
    "CallType": (str, 40),
    "CallDurationInSeconds": (int, None),
    "CallDisposition": (str, 255),
    "CallObject": (str, 255),
    "ActivityDate": (str, 10),
    "WhatId": (str, 18),
    "WhoId": (str, 18),
}
TASK_STATUSES = {"Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"}
CALL_TYPES = {"Inbound", "Outbound", "Internal"}
_QUERY_PATH = re.compile(r"^/services/data/(?P<version>v\d+\.\d)/query$")
_TASK_OF_CALL = re.compile(
    r"^SELECT Id FROM Task WHERE CallObject = '(?P<call>(?:[^'\\]|\\.)*)' "
    r"AND (?P<ref>WhatId|WhoId) = '(?P<id>[A-Za-z0-9]{15,18})' LIMIT 1$"
)
_SOBJECT = re.compile(r"^/services/data/(?P<version>v\d+\.\d)/sobjects/(?P<object>[A-Za-z0-9_]+)(?:/(?P<id>[^/]+))?$")


@dataclass
class Seen:
    """One request as the double received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]] | None = None
    json: Any = None


class SalesforceDouble:
    def __init__(
        self,
        *,
        client_id: str = "3MVG9recap.test.client",
        client_secret: str = "sf-client-secret-0001",
        refresh_token: str = "5Aep861recapRefresh0001",
        api_version: str = "v60.0",
        rotate_refresh_token: bool = False,
    ) -> None:
        self._initial = (client_id, client_secret, refresh_token, api_version, rotate_refresh_token)
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self.url = ""
        self.reset()

    def reset(self) -> None:
        """Back to a fresh org (no records, tokens, requests or scripted errors); the server stays up,
        so a module can share one double (starting and stopping a server costs half a second)."""
        with self._lock:
            self.client_id, self.client_secret, self.refresh_token, self.api_version, self.rotate_refresh_token = (
                self._initial
            )
            self.expire_every_token = False
            self.requests: list[Seen] = []
            self.problems: list[str] = []
            self.records: dict[str, dict[str, dict[str, Any]]] = {}
            self.tasks: list[dict[str, Any]] = []
            self.issued: list[str] = []
            self._live: set[str] = set()
            self._rejections: dict[str, deque[tuple[int, list[dict]]]] = {"PATCH": deque(), "Task": deque()}
            self._ids = itertools.count(1)

    # ---- what the test does ------------------------------------------------------------------
    def __enter__(self) -> SalesforceDouble:
        self.url = self._stack.enter_context(serving(self._handler()))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def add_record(self, sobject: str, record_id: str, **fields: Any) -> None:
        with self._lock:
            self.records.setdefault(sobject, {})[record_id] = dict(fields)

    def issue_token(self) -> str:
        """A live access token, as if a client had refreshed one earlier."""
        with self._lock:
            return self._new_token()

    def expire_token(self) -> None:
        """Every token issued so far now answers 401 ``INVALID_SESSION_ID``."""
        with self._lock:
            self._live.clear()

    def reject_next_patch(
        self,
        status: int = 400,
        error_code: str = "INVALID_FIELD",
        message: str = "No such column 'Amount' on sobject of type Opportunity",
        fields: list[str] | None = None,
    ) -> None:
        with self._lock:
            self._rejections["PATCH"].append(
                (status, [{"message": message, "errorCode": error_code, "fields": fields or []}])
            )

    def reject_next_task(
        self, status: int = 400, error_code: str = "FIELD_INTEGRITY_EXCEPTION", message: str = "bad value", fields=None
    ) -> None:  # noqa: ANN001
        with self._lock:
            self._rejections["Task"].append(
                (status, [{"message": message, "errorCode": error_code, "fields": fields or []}])
            )

    def seen(self, method: str | None = None, path_end: str = "") -> list[Seen]:
        return [r for r in self.requests if (method is None or r.method == method) and r.path.endswith(path_end)]

    @property
    def refreshes(self) -> int:
        return len(self.seen("POST", "/services/oauth2/token"))

    # ---- the server --------------------------------------------------------------------------
    def _new_token(self) -> str:
        token = f"00Dxx0000001gPL!AQ4AQ.token{len(self.issued) + 1:04d}"
        self.issued.append(token)
        if not self.expire_every_token:
            self._live.add(token)
        return token

    def _problem(self, text: str) -> None:
        self.problems.append(text)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        double = self

        class Handler(QuietHandler):
            def _answer(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _seen(self) -> tuple[Seen, bytes]:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                return seen, raw

            def do_POST(self) -> None:
                seen, raw = self._seen()
                with double._lock:
                    if self.path == "/services/oauth2/token":
                        status, body = double._token(seen, raw)
                    else:
                        status, body = double._api(seen, raw)
                    double.requests.append(seen)
                self._answer(status, body)

            def do_GET(self) -> None:
                seen, _ = self._seen()
                with double._lock:
                    status, body = double._query(seen)
                    double.requests.append(seen)
                self._answer(status, body)

            def do_PATCH(self) -> None:
                seen, raw = self._seen()
                with double._lock:
                    status, body = double._api(seen, raw)
                    double.requests.append(seen)
                self._answer(status, body)

        return Handler

    def _token(self, seen: Seen, raw: bytes) -> tuple[int, Any]:
        if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self._problem(f"token request content-type {seen.headers.get('content-type')!r}")
            return 400, {"error": "invalid_request", "error_description": "must use application/x-www-form-urlencoded"}
        seen.form = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=bool(raw))
        form = seen.form
        expected = {"grant_type", "client_id", "client_secret", "refresh_token"}
        if set(form) != expected or any(len(v) != 1 for v in form.values()):
            self._problem(f"token form fields {sorted(form)}")
            return 400, {"error": "invalid_request", "error_description": "invalid request"}
        one = {k: v[0] for k, v in form.items()}
        if one["grant_type"] != "refresh_token":
            self._problem(f"grant_type {one['grant_type']!r}")
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        if one["client_id"] != self.client_id:
            return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
        if one["client_secret"] != self.client_secret:
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        if one["refresh_token"] != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        answer = {
            "access_token": self._new_token(),
            "instance_url": self.url,
            "id": f"{self.url}/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS",
            "token_type": "Bearer",
            "issued_at": str(int(datetime.datetime.now().timestamp() * 1000)),
            "signature": "c2lnbmF0dXJlLW9mLXRoZS1kb3VibGU=",
        }
        if self.rotate_refresh_token:
            self.refresh_token = f"5Aep861recapRotated{len(self.issued):04d}"
            answer["refresh_token"] = self.refresh_token
        return 200, answer

    def _authorized(self, seen: Seen) -> bool:
        auth = seen.headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth[len("Bearer ") :] in self._live:
            return True
        if auth[len("Bearer ") :] not in self.issued:
            self._problem(f"{seen.method} {seen.path}: Authorization {auth[:20]!r}… was never issued")
        return False

    def _query(self, seen: Seen) -> tuple[int, Any]:
        path, _, query = seen.path.partition("?")
        m = _QUERY_PATH.match(path)
        if not m or m.group("version") != self.api_version:
            self._problem(f"GET {seen.path}: no such resource")
            return 404, NOT_FOUND
        if not self._authorized(seen):
            return 401, EXPIRED
        q = _TASK_OF_CALL.match(" ".join(parse_qs(query).get("q", [""])))
        if q is None:
            self._problem(f"GET {seen.path}: not the query the writer should make")
            return 400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}]
        call = re.sub(r"\\(.)", r"\1", q.group("call"))
        found = [t for t in self.tasks if t.get("CallObject") == call and t.get(q.group("ref")) == q.group("id")]
        records = [{"attributes": {"type": "Task"}, "Id": t["Id"]} for t in found[:1]]
        return 200, {"totalSize": len(records), "done": True, "records": records}

    def _api(self, seen: Seen, raw: bytes) -> tuple[int, Any]:
        m = _SOBJECT.match(seen.path)
        if not m or m.group("version") != self.api_version:
            self._problem(f"{seen.method} {seen.path}: no such resource")
            return 404, NOT_FOUND
        if not self._authorized(seen):
            return 401, EXPIRED
        if not seen.headers.get("content-type", "").startswith("application/json"):
            self._problem(f"{seen.method} {seen.path}: content-type {seen.headers.get('content-type')!r}")
            return 415, [{"errorCode": "UNSUPPORTED_MEDIA_TYPE", "message": "Content-Type not supported"}]
        try:
            seen.json = json.loads(raw)
        except ValueError:
            self._problem(f"{seen.method} {seen.path}: body is not JSON")
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}]
        if not isinstance(seen.json, dict):
            self._problem(f"{seen.method} {seen.path}: body is not a JSON object")
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of object"}]
        sobject, record_id = m.group("object"), m.group("id")
        if seen.method == "PATCH" and record_id:
            return self._patch(sobject, record_id, seen.json)
        if seen.method == "POST" and sobject == "Task" and not record_id:
            return self._task(seen.json)
        self._problem(f"{seen.method} {seen.path}: not an endpoint the writer should call")
        return 404, NOT_FOUND

    def _fields_error(self, sobject: str, body: dict, known: dict) -> list[dict] | None:
        for name, value in body.items():
            if name not in known:
                self._problem(f"{sobject}: no field {name}")
                return [
                    {
                        "message": f"No such column '{name}' on sobject of type {sobject}",
                        "errorCode": "INVALID_FIELD",
                        "fields": [],
                    }
                ]
            kind, length = known[name]
            if isinstance(value, bool) or not isinstance(value, kind):
                self._problem(f"{sobject}.{name}: {type(value).__name__} {value!r}")
                return [
                    {
                        "message": f"{name}: bad value for field",
                        "errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        "fields": [name],
                    }
                ]
            if length is not None and len(value) > length:
                self._problem(f"{sobject}.{name}: {len(value)} characters")
                return [{"message": f"{name}: data value too large", "errorCode": "STRING_TOO_LONG", "fields": [name]}]
        return None

    def _patch(self, sobject: str, record_id: str, body: dict) -> tuple[int, Any]:
        if self._rejections["PATCH"]:
            return self._rejections["PATCH"].popleft()
        if record_id not in self.records.get(sobject, {}):
            self._problem(f"PATCH {sobject}/{record_id}: no such record")
            return 404, NOT_FOUND
        if error := self._fields_error(sobject, body, FIELDS.get(sobject, {})):
            return 400, error
        if not body:
            self._problem(f"PATCH {sobject}/{record_id}: empty body")
        self.records[sobject][record_id].update(body)
        return 204, None

    def _task(self, body: dict) -> tuple[int, Any]:
        if self._rejections["Task"]:
            return self._rejections["Task"].popleft()
        if error := self._fields_error("Task", body, TASK_FIELDS):
            return 400, error
        checks = [
            (body.get("Status") in TASK_STATUSES, "Status", "bad value for restricted picklist field"),
            (body.get("TaskSubtype") == "Call", "TaskSubtype", "a call must have TaskSubtype Call"),
            ("CallType" not in body or body["CallType"] in CALL_TYPES, "CallType", "bad value for restricted picklist"),
            (bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(body.get("ActivityDate")))), "ActivityDate", "not a date"),
            (body.get("CallDurationInSeconds", 0) >= 0, "CallDurationInSeconds", "negative duration"),
            (bool(body.get("Subject")), "Subject", "required"),
        ]
        for ok, name, message in checks:
            if not ok:
                self._problem(f"Task.{name}: {message} ({body.get(name)!r})")
                return 400, [
                    {"message": f"{name}: {message}", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [name]}
                ]
        known_ids = {i for records in self.records.values() for i in records}
        for ref in ("WhatId", "WhoId"):
            if ref in body and body[ref] not in known_ids:
                self._problem(f"Task.{ref}: no record {body[ref]}")
                return 400, [
                    {"message": f"{ref}: id value of incorrect type", "errorCode": "MALFORMED_ID", "fields": [ref]}
                ]
        if "WhatId" not in body and "WhoId" not in body:
            self._problem("Task: neither WhatId nor WhoId")
        task_id = f"00Txx{next(self._ids):013d}"
        self.tasks.append({"Id": task_id, **body})
        return 201, {"id": task_id, "success": True, "errors": []}
