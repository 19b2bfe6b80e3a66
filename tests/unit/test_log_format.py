"""JSON log lines carry the request's context, and no line ever carries a key or token."""

from __future__ import annotations

import json
import logging
import sys

from pyai.gateway import keys, session_tokens
from pyai.logging_setup import CALL_ID, ORG_ID, REQUEST_ID, JsonFormatter, TextFormatter, log_context, redact
from pyai.telephony import call_tokens

SECRET = b"s" * 32
KEY = keys.mint(SECRET, keys.KeyClaims("key_abc", "org_abc", "live", None))
SESSION = session_tokens.mint(
    SECRET,
    session_tokens.SessionClaims("st_1", "key_abc", "org_abc", "test", ("omni:session",), ("https://a.b",), 1),
)
CALL_TOKEN = call_tokens.mint(SECRET, call_tokens.claims_for("org_abc", "pn_1", None, "CA1", "+1555", "+1666"))


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("pyai.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_json_line_has_the_fields_and_the_context() -> None:
    rid = REQUEST_ID.set("req_123")
    try:
        with log_context(org_id="org_abc", call_id="call_9"):
            line = JsonFormatter().format(record("hello %s", "world"))
        after = JsonFormatter().format(record("later"))
    finally:
        REQUEST_ID.reset(rid)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "pyai.test" and entry["message"] == "hello world"
    assert entry["request_id"] == "req_123" and entry["org_id"] == "org_abc" and entry["call_id"] == "call_9"
    assert entry["timestamp"].endswith("+00:00") and "T" in entry["timestamp"]
    assert "job_id" not in entry and "trace_id" not in entry  # unknown: left out
    assert "org_id" not in json.loads(after) and ORG_ID.get() is None and CALL_ID.get() is None


def test_keys_and_tokens_are_masked_in_message_args_and_exception() -> None:
    entry = json.loads(JsonFormatter().format(record("key %s token %s", KEY, SESSION, exc=True)))
    text = json.dumps(entry)
    assert KEY not in text and SESSION not in text and KEY.split(".")[-1] not in text
    assert entry["message"] == "key pyai_live_*** token pyai_test_***"
    assert "ValueError: bad key pyai_live_***" in entry["exception"]
    line = TextFormatter().format(record("Authorization: Bearer %s", KEY))
    assert KEY not in line and "Bearer ***" in line


def test_redact_masks_credentials_wherever_they_appear() -> None:
    cases = {
        f'"WebSocket /v1/omni?rate=16000&api_key={KEY}" [accepted]': KEY,
        f"/v1/realtime?access_token={SESSION}": SESSION,
        f"subprotocols pyai-key.{KEY}, openai-insecure-api-key.sk-abcdefghijklmnopqrstu": KEY,
        "upstream said: invalid sk-proj-abcdefghijklmnopqrstuvwx": "abcdefghijklmnopqrstuvwx",
        "GET /v1/files/rec/x.wav?exp=1700000000&sig=Zm9vYmFyYmF6cXV4": "Zm9vYmFyYmF6cXV4",
        f"twilio start with token {CALL_TOKEN}": CALL_TOKEN.split(".")[-1],
        'headers {"x-api-key": "abc123def456"}': "abc123def456",
        "password=hunter2&user=me": "hunter2",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), text
    assert redact("GET /v1/me 200 1.2ms") == "GET /v1/me 200 1.2ms"
    assert redact("job job_123 (transcription) attempt 2 failed") == "job job_123 (transcription) attempt 2 failed"


def test_ordinary_words_are_left_alone() -> None:
    for text in ("a basic plan with 3 keys", "token bucket refill", "Authorization failed for org_1"):
        assert redact(text) == text
    assert redact("authorization: Basic dXNlcjpwYXNz") == "authorization: Basic ***"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
