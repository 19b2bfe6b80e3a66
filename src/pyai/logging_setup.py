"""Logging: one line per event, as text for people or JSON lines for a log pipeline.

``PYAI_LOG_FORMAT=text`` (the default) prints ``time level logger [request_id] message``;
``json`` prints one JSON object per line with ``timestamp``, ``level``, ``logger``, ``message``,
``request_id``, ``org_id``, ``call_id`` and ``job_id`` (each only when known), ``trace_id`` /
``span_id`` while a span is being recorded, and ``exception`` text.

What a request, call or job is about travels in context variables: ``REQUEST_ID`` is set by
``RequestIdMiddleware``, ``ORG_ID`` by the gateway's ``guard`` once the caller is known,
``CALL_ID`` (and ``ORG_ID``) where an Omni / realtime / phone call gets its id
(``realtime/call_runner.py``), ``JOB_ID`` and ``ORG_ID`` by the job worker. Tasks and threads
started inside a request see its values.

Whatever the format, every line goes through :func:`redact` last: API keys, session tokens,
bearer credentials, ``api_key=``-style parameters, signed-URL signatures and carrier call tokens
are masked, in the message, its arguments and any traceback alike.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from opentelemetry import trace

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
ORG_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("org_id", default=None)
CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)
JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

FORMATS = ("text", "json")
MASK = "***"

_SECRETS = [
    # PyAI API keys and Omni session tokens (gateway/keys.py, session_tokens.py):
    # pyai_<env>_[sess_]<payload>.<sig>; the env prefix is kept so a line still says which kind.
    (re.compile(r"\b(pyai_(?:live|test)_)[A-Za-z0-9_\-.]{6,}"), r"\1" + MASK),
    # OpenAI-style upstream keys (PYAI_LLM_API_KEY, PYAI_STT_API_KEY).
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), "sk-" + MASK),
    # credentials in headers, subprotocols and query strings
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-.~+/=*]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(authorization['\"]?\s*[=:]\s*['\"]?(?:basic\s+|bearer\s+)?)[^\s'\",;)}\]]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b((?:pyai-key|openai-insecure-api-key)\.)[^\s,;'\"]+"), r"\1" + MASK),
    (
        re.compile(
            r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password|passwd|sig|signature)"
            r"(['\"]?\s*[=:]\s*['\"]?)(?!\*\*\*)[^\s&'\",;)}\]]+"
        ),
        r"\1\2" + MASK,
    ),
    # carrier call tokens (telephony/call_tokens.py): base64url JSON, a dot, a hex HMAC-SHA256
    (re.compile(r"\b[A-Za-z0-9_\-]{16,}\.[0-9a-f]{64}\b"), MASK),
]


def redact(text: str) -> str:
    """``text`` with anything that looks like a key, token or signature masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Set ``org_id`` / ``call_id`` / ``job_id`` (those given) for the block, then restore them."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


_VARS: dict[str, contextvars.ContextVar] = {"org_id": ORG_ID, "call_id": CALL_ID, "job_id": JOB_ID}


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; keys with no value (no org yet, no call) are left out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        for name, var in _VARS.items():
            if (value := var.get()) is not None:
                entry[name] = value
        entry.update(_trace_ids())
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _trace_ids() -> dict[str, str]:
    """The current span's ids, so a log line can be found from its trace (nothing when not tracing)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def configure(level: str, fmt: str = "text") -> None:
    """Send every logger (uvicorn's too: serve passes ``log_config=None``) to stderr in ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"PYAI_LOG_FORMAT: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
