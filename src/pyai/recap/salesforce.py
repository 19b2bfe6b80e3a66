"""Writing a recap to Salesforce over its REST API: update the mapped record, log the call as a Task.

One :func:`write_recap` does, in order:

1. **Token.** Without an access token, or when Salesforce answers ``401 INVALID_SESSION_ID``
   ("Session expired or invalid"), it refreshes one: ``POST {login_url}/services/oauth2/token``
   with the form ``grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…``; the
   answer's ``access_token`` and ``instance_url`` are used from then on. At most one refresh and
   one retry per write: a second 401 is a failure, not a loop.
2. **PATCH** ``{instance_url}/services/data/{api_version}/sobjects/{object}/{record_id}`` with the
   recap's fields renamed by ``field_map`` (logical field → Salesforce API field). A value the
   call did not yield (``null``, empty) is left out rather than sent, so an unanswered question
   never clears what the CRM already knows. Nothing mapped: no PATCH.
3. **Task** (``create_activity``): ``POST …/sobjects/Task`` with ``Subject`` ("Call — <TL;DR>"),
   ``Description`` (TL;DR, summary, action items), ``Status: Completed``, ``TaskSubtype: Call``,
   ``CallType`` (the pack's direction), ``CallDurationInSeconds``, ``CallDisposition`` (the
   outcome), ``CallObject`` (PyAI's call id, for correlation), ``ActivityDate``, and ``WhatId`` =
   the record (``WhoId`` when the object is a Contact or Lead, which ``WhatId`` cannot hold).
   First a SOQL query looks for a Task of this call on the record (by ``CallObject``): a write
   retried after its answer was lost reuses that Task instead of logging the call twice.

The result is a :class:`WriteResult` whose ``status`` is the contract's ``crm_write_status``:

- ``ok``: record updated (when anything was mapped) and Task created;
- ``ok_no_activity``: record updated, no Task asked for;
- ``ok_activity_failed: <http> <errorCode>: <message>``: record updated, the Task refused;
- ``failed: <http> <errorCode>: <message>``: the update refused (no Task tried); the error is
  Salesforce's own (``[{"message", "errorCode", "fields"}]``);
- ``failed: auth <http> <error>: <error_description>``: the token refresh refused;
- ``failed: network: <ExceptionName>`` or ``failed: unsafe url: <why>`` (the SSRF guard);
- ``skipped: disabled``, ``skipped: no record id``, ``skipped: invalid record id``,
  ``skipped: nothing to write``.

``retryable`` says whether trying again later may help (network errors, 5xx, 429). Secrets never
appear in a status, a log line or a ``repr``; if Salesforce rotates the refresh token, the new one
is in ``WriteResult.refresh_token`` and must be stored. Every URL passes the SSRF guard
(:func:`pyai.net.ssrf.vet_url`) before it is called, and redirects are not followed.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from pyai.net.ssrf import UnsafeUrlError, _read_limited, vet_url, vetted_client
from pyai.recap.packs import PACKS

log = logging.getLogger("pyai.recap.salesforce")

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
DEFAULT_API_VERSION = "v60.0"
TIMEOUT_S = 15.0
MAX_RESPONSE_BYTES = 1_000_000
MAX_STATUS_CHARS = 500
#: Standard text fields whose length is known: a longer value is cut rather than refused.
FIELD_LENGTHS = {"NextStep": 255, "Subject": 255, "CallDisposition": 255, "Title": 128, "Description": 32_000}
#: Objects a Task points at with ``WhoId`` (people) rather than ``WhatId`` (things).
WHO_OBJECTS = frozenset({"Contact", "Lead"})
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_API_VERSION = re.compile(r"^v\d{2,3}\.\d$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_LOGICAL = re.compile(r"^(?:extracted\.)?[a-z][a-z0-9_]{0,63}$")


class InvalidConfigError(ValueError):
    """The Salesforce config cannot be used; the message names the field (safe to show)."""


@dataclass(frozen=True)
class SalesforceConfig:
    """One org's connection and mapping (the contract's ``RecapSalesforceConfig``, secrets opened).
    Validated on creation: object and field names must be Salesforce API names and URLs absolute,
    so nothing from a config can reshape a request path."""

    instance_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    object: str = "Opportunity"
    record_id_field: str = "salesforce_id"
    field_map: Mapping[str, str] = field(default_factory=dict)
    create_activity: bool = True
    api_version: str = DEFAULT_API_VERSION
    #: None: ``https://test.salesforce.com`` for a sandbox My Domain (``*.sandbox.my.salesforce.com``),
    #: else ``https://login.salesforce.com`` (the contract's config has no login URL to set).
    login_url: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.login_url is None:
            host = urlsplit(self.instance_url or "").hostname or ""
            sandbox = host.endswith(".sandbox.my.salesforce.com")
            object.__setattr__(self, "login_url", SANDBOX_LOGIN_URL if sandbox else DEFAULT_LOGIN_URL)
        for name in ("instance_url", "login_url"):
            parts = urlsplit(getattr(self, name) or "")
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise InvalidConfigError(f"salesforce.{name}: expected an absolute https URL")
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))
        for name in ("client_id", "client_secret", "refresh_token"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise InvalidConfigError(f"salesforce.{name}: required")
        if not _API_NAME.match(self.object or ""):
            raise InvalidConfigError("salesforce.object: expected a Salesforce object API name, e.g. Opportunity")
        if not _API_VERSION.match(self.api_version or ""):
            raise InvalidConfigError("salesforce.api_version: expected a version such as v60.0")
        if not isinstance(self.record_id_field, str) or not self.record_id_field:
            raise InvalidConfigError("salesforce.record_id_field: required")
        for logical, api_name in dict(self.field_map or {}).items():
            if not isinstance(logical, str) or not _LOGICAL.match(logical):
                raise InvalidConfigError(f"salesforce.field_map: {str(logical)[:80]!r} is not a recap field name")
            if not isinstance(api_name, str) or not _API_NAME.match(api_name):
                raise InvalidConfigError(f"salesforce.field_map.{logical}: expected a Salesforce field API name")
        object.__setattr__(self, "field_map", dict(self.field_map or {}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SalesforceConfig:
        """From the stored/contract JSON (secrets opened); unknown keys are ignored, absent ones default."""
        known = set(cls.__dataclass_fields__)
        given = {k: v for k, v in data.items() if k in known and v is not None}
        for name in ("instance_url", "client_id", "client_secret", "refresh_token"):
            if name not in given:
                raise InvalidConfigError(f"salesforce.{name}: required")
        return cls(**given)


@dataclass(frozen=True)
class WriteResult:
    """What a write did. ``status`` is the ``crm_write_status``; ``access_token`` and
    ``instance_url`` may be kept for the next write; ``refresh_token`` is set only when Salesforce
    rotated it (store it: the old one no longer works)."""

    status: str
    retryable: bool = False
    task_id: str | None = None
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status.startswith("ok")


def record_id_for(
    config: SalesforceConfig, record: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
) -> str | None:
    """The Salesforce id of the record to update: the call's metadata under ``record_id_field``
    (set by whoever placed the call), else an extracted field of that name."""
    for source in (metadata or {}, record.get("extracted") or {}):
        value = source.get(config.record_id_field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _join(value: Any) -> Any:
    if isinstance(value, list):
        lines = [
            f"{v.get('owner', '').capitalize()}: {v.get('text', '')}" if isinstance(v, Mapping) else str(v)
            for v in value
        ]
        return "; ".join(line for line in lines if line)
    if isinstance(value, Mapping):  # sentiment
        return value.get("label")
    return value


def _cut(api_name: str, value: Any) -> Any:
    limit = FIELD_LENGTHS.get(api_name)
    return value[: limit - 1] + "…" if isinstance(value, str) and limit and len(value) > limit else value


def mapped_fields(record: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body: each mapped logical field's value (``extracted.x`` or bare ``x``, record
    fields first), lists joined with "; ", sentiment as its label; empty values left out."""
    extracted = record.get("extracted") or {}
    body = {}
    for logical, api_name in field_map.items():
        if logical.startswith("extracted."):
            value = extracted.get(logical.split(".", 1)[1])
        elif logical == "sentiment_score":
            value = (record.get("sentiment") or {}).get("score")
        else:
            value = record[logical] if logical in record else extracted.get(logical)
        value = _join(value)
        if value is not None and value != "" and value != []:
            body[api_name] = _cut(api_name, value)
    return body


def task_body(
    config: SalesforceConfig,
    record: Mapping[str, Any],
    record_id: str,
    *,
    call_id: str | None,
    call_duration_s: float | None,
    activity_date: datetime.date,
) -> dict[str, Any]:
    """The Task that logs the call on the record."""
    tldr = str(record.get("tldr") or "Call recap")
    description = [tldr, str(record.get("summary") or "")]
    items = record.get("action_items") or []
    if items:
        description.append("Action items:\n" + "\n".join(f"- {_join([i])}" for i in items))
    body: dict[str, Any] = {
        "Subject": _cut("Subject", f"Call — {tldr}"),
        "Description": _cut("Description", "\n\n".join(p for p in description if p)),
        "Status": "Completed",
        "TaskSubtype": "Call",
        "ActivityDate": activity_date.isoformat(),
    }
    pack = PACKS.get(str(record.get("pack_id")))
    if pack is not None and pack.call_type:
        body["CallType"] = pack.call_type
    if call_duration_s is not None:
        body["CallDurationInSeconds"] = max(0, round(call_duration_s))
    if record.get("outcome"):
        body["CallDisposition"] = _cut("CallDisposition", str(record["outcome"]))
    if call_id:
        body["CallObject"] = call_id[:255]
    body["WhoId" if config.object in WHO_OBJECTS else "WhatId"] = record_id
    return body


def _status_text(text: str) -> str:
    return " ".join(text.split())[:MAX_STATUS_CHARS]


def _api_error(status: int, content: bytes) -> str:
    """``<http> <errorCode>: <message>`` from Salesforce's ``[{message, errorCode, fields}]``."""
    try:
        errors = json.loads(content)
    except ValueError:
        errors = None
    if isinstance(errors, dict):
        errors = [errors]
    if isinstance(errors, list) and errors and all(isinstance(e, Mapping) for e in errors):
        parts = []
        for e in errors:
            code = e.get("errorCode") or e.get("error") or "ERROR"
            text = f"{code}: {e.get('message') or e.get('error_description') or ''}"
            if isinstance(e.get("fields"), list) and e["fields"]:
                text += f" (fields: {', '.join(map(str, e['fields']))})"
            parts.append(text)
        return _status_text(f"{status} {'; '.join(parts)}")
    return _status_text(f"{status} {content[:200].decode(errors='replace')}")


def _session_expired(status: int, content: bytes) -> bool:
    return status == 401 and b"INVALID_SESSION_ID" in content


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


class _Refused(Exception):
    """A Salesforce answer that ends the write: ``status`` is the WriteResult's."""

    def __init__(self, status: str, retryable: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.retryable = retryable


class _Session:
    """One write's connection: the token, the instance it belongs to, and the refresh spent."""

    def __init__(self, config: SalesforceConfig, client: httpx.AsyncClient, token: str | None, loopback: bool):
        self.config = config
        self.client = client
        self.token = token
        self.instance_url = config.instance_url
        self.refresh_token: str | None = None
        self.refreshed = False
        self.loopback = loopback

    async def _send(self, method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
        await vet_url(url, allow_loopback=self.loopback)
        async with self.client.stream(method, url, **kwargs) as resp:
            try:
                return resp.status_code, await _read_limited(resp, MAX_RESPONSE_BYTES, "the Salesforce answer")
            except UnsafeUrlError as e:  # too large: not a URL problem
                raise _Refused(f"failed: {e}") from None

    async def refresh(self) -> None:
        c = self.config
        self.refreshed = True
        form = {
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": self.refresh_token or c.refresh_token,
        }
        status, content = await self._send("POST", f"{c.login_url}/services/oauth2/token", data=form)
        if status != 200:
            raise _Refused(f"failed: auth {_api_error(status, content)}", _retryable(status))
        try:
            answer = json.loads(content)
            token, instance = answer["access_token"], answer.get("instance_url") or c.instance_url
            if not isinstance(token, str) or not token or not isinstance(instance, str):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise _Refused("failed: auth: the token endpoint's answer has no access_token", True) from None
        self.token, self.instance_url = token, instance.rstrip("/")
        if isinstance(answer.get("refresh_token"), str) and answer["refresh_token"] != c.refresh_token:
            self.refresh_token = answer["refresh_token"]

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
        """``method`` on the REST API path with ``body`` as JSON (None: no body), refreshing the
        token first when there is none and once more when the session expired."""
        if self.token is None:
            await self.refresh()
        while True:
            url = f"{self.instance_url}/services/data/{self.config.api_version}/{path}"
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            sent = {"json": body} if body is not None else {}
            status, content = await self._send(method, url, headers=headers, **sent)
            if not _session_expired(status, content) or self.refreshed:
                return status, content
            await self.refresh()


async def write_recap(
    config: SalesforceConfig,
    record: Mapping[str, Any],
    record_id: str | None,
    *,
    access_token: str | None = None,
    call_id: str | None = None,
    call_duration_s: float | None = None,
    activity_date: datetime.date | None = None,
    allow_loopback: bool = False,
    timeout: float = TIMEOUT_S,
) -> WriteResult:
    """Write ``record`` (a recap from :func:`pyai.recap.builder.build_recap`) to the Salesforce
    record ``record_id`` (see :func:`record_id_for`). ``access_token`` is one kept from an earlier
    write (None: refresh first); ``call_id`` and ``call_duration_s`` go on the Task;
    ``activity_date`` is the call's date (default today, UTC); ``allow_loopback`` is for test mode
    only. Never raises for what Salesforce or the network does: the result says it."""
    if not config.enabled:
        return WriteResult("skipped: disabled")
    if not record_id:
        return WriteResult("skipped: no record id")
    if not _RECORD_ID.match(record_id):
        return WriteResult("skipped: invalid record id")
    fields = mapped_fields(record, config.field_map)
    if not fields and not config.create_activity:
        return WriteResult("skipped: nothing to write")
    date = activity_date or datetime.datetime.now(datetime.UTC).date()
    async with vetted_client(timeout, allow_loopback) as client:
        session = _Session(config, client, access_token, allow_loopback)
        try:
            status, task_id = await _write(session, config, record, record_id, fields, call_id, call_duration_s, date)
            result = WriteResult(status, False, task_id)
        except _FAILURES as e:
            result = WriteResult(*_failure(e))
    result = WriteResult(
        result.status,
        result.retryable,
        result.task_id,
        session.instance_url if session.token else None,
        session.token,
        session.refresh_token,
    )
    log.info("salesforce write to %s: %s", config.object, result.status)
    return result


_FAILURES = (_Refused, UnsafeUrlError, httpx.HTTPError)


def _failure(e: Exception) -> tuple[str, bool]:
    """``(status, retryable)`` of what ended a write."""
    if isinstance(e, _Refused):
        return e.status, e.retryable
    if isinstance(e, UnsafeUrlError):
        return _status_text(f"failed: unsafe url: {e}"), False
    return f"failed: network: {type(e).__name__}", True


async def _task_of_call(session: _Session, call_id: str, record_id: str) -> str | None:
    """The Task an earlier attempt of this write created for the call (its ``CallObject`` is the
    call id), so a retry after a lost answer does not log the call twice. None when there is none
    or the query fails (then the Task is created: a duplicate is better than a lost call)."""
    soql = f"SELECT Id FROM Task WHERE CallObject = '{_soql_text(call_id[:255])}' AND {_task_ref(session)} = "
    soql += f"'{_soql_text(record_id)}' LIMIT 1"
    try:
        status, content = await session.call("GET", f"query?q={quote(soql)}", None)
        records = json.loads(content).get("records") if status == 200 else None
    except (*_FAILURES, ValueError, AttributeError):
        return None
    found = records[0].get("Id") if isinstance(records, list) and records and isinstance(records[0], dict) else None
    return found if isinstance(found, str) else None


def _task_ref(session: _Session) -> str:
    return "WhoId" if session.config.object in WHO_OBJECTS else "WhatId"


def _soql_text(text: str) -> str:
    """A string literal's inside, escaped as SOQL wants (backslash and quote)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


async def _write(
    session: _Session,
    config: SalesforceConfig,
    record: Mapping[str, Any],
    record_id: str,
    fields: dict[str, Any],
    call_id: str | None,
    call_duration_s: float | None,
    date: datetime.date,
) -> tuple[str, str | None]:
    if fields:
        status, content = await session.call("PATCH", f"sobjects/{config.object}/{record_id}", fields)
        if not 200 <= status < 300:
            raise _Refused(f"failed: {_api_error(status, content)}", _retryable(status))
    if not config.create_activity:
        return "ok_no_activity", None
    if call_id and (logged := await _task_of_call(session, call_id, record_id)):
        return "ok", logged  # a retried write: the call is on the record already
    task = task_body(config, record, record_id, call_id=call_id, call_duration_s=call_duration_s, activity_date=date)
    try:
        status, content = await session.call("POST", "sobjects/Task", task)
    except _FAILURES as e:
        if not fields:  # the Task was all there was to write
            raise
        return f"ok_activity_failed: {_failure(e)[0].removeprefix('failed: ')}", None
    if not 200 <= status < 300:
        if not fields:  # the Task was all there was to write
            raise _Refused(f"failed: {_api_error(status, content)}", _retryable(status))
        return f"ok_activity_failed: {_api_error(status, content)}", None
    try:
        task_id = json.loads(content).get("id")
    except (ValueError, AttributeError):
        task_id = None
    return "ok", task_id if isinstance(task_id, str) else None
