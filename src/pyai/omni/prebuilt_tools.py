"""PyAI's prebuilt tools: call control run by the Omni engine, and hosted reads run by PyAI.

They are code, not rows: every org sees the same catalog beside its own tools, none can change
or delete them, and an agent binds them by id like any other tool. Attribute names match the
``tools`` table's, so views and the executor treat both alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The catalog's creation time (2026-01-01, Unix ms).
CATALOG_CREATED_AT = 1767225600000


@dataclass(frozen=True)
class PrebuiltTool:
    name: str
    description: str
    execution: str  # engine | hosted
    side_effect: str
    input_schema: dict[str, Any]
    config_schema: dict[str, Any] = field(default_factory=lambda: {"fields": []})
    timeout_ms: int = 5000
    org_id: None = None
    webhook_url: None = None
    auth_header: None = None
    sealed_auth_secret: None = None
    status: str = "active"
    created_at: int = CATALOG_CREATED_AT

    @property
    def id(self) -> str:
        return f"tool_{self.name}"


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _text(description: str, max_length: int, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description, **extra}


PREBUILT: tuple[PrebuiltTool, ...] = (
    PrebuiltTool(
        name="end_call",
        description="Hang up once the conversation is over (the caller said goodbye or asked to end the call).",
        execution="engine",
        side_effect="action",
        input_schema=_object({"reason": _text("Why the call is ending, for the call record.", 200)}),
        config_schema={
            "fields": [
                {
                    "key": "farewell",
                    "label": "Closing line",
                    "type": "string",
                    "help": "Spoken before hanging up; leave empty to hang up at once.",
                    "placeholder": "Thanks for calling. Goodbye!",
                }
            ]
        },
    ),
    PrebuiltTool(
        name="transfer_to_human",
        description="Transfer the caller to a person when they ask for one or the request is beyond the agent.",
        execution="engine",
        side_effect="action",
        input_schema=_object(
            {
                "reason": _text("Why the caller needs a person.", 200),
                "summary": _text("A short handoff note for the person taking the call.", 1000),
            }
        ),
        config_schema={
            "fields": [
                {
                    "key": "human_number",
                    "label": "Transfer number",
                    "type": "string",
                    "required": True,
                    "help": "The E.164 phone number the call is transferred to.",
                    "placeholder": "+14155550123",
                    "pattern": r"^\+[1-9][0-9]{6,14}$",
                },
                {
                    "key": "mode",
                    "label": "Transfer type",
                    "type": "select",
                    "options": ["cold", "warm"],
                    "help": "cold connects at once; warm reads the handoff note to the person first.",
                },
                {
                    "key": "announcement",
                    "label": "Announcement",
                    "type": "string",
                    "help": "Said to the caller before the transfer.",
                    "placeholder": "Connecting you to a member of our team now.",
                },
            ]
        },
        timeout_ms=15000,
    ),
    PrebuiltTool(
        name="send_dtmf",
        description="Press keys on the phone keypad, e.g. to navigate another system's phone menu.",
        execution="engine",
        side_effect="action",
        input_schema=_object(
            {
                "digits": _text(
                    "Keys to press (0-9, *, #, A-D); w or a comma waits half a second.",
                    64,
                    minLength=1,
                    pattern="^[0-9*#A-Da-dwW,]+$",
                )
            },
            required=("digits",),
        ),
        config_schema={
            "fields": [
                {"key": "tone_ms", "label": "Tone length (ms)", "type": "number", "help": "Default 100 ms per key."}
            ]
        },
    ),
    PrebuiltTool(
        name="play_hold",
        description="Put the caller on hold with hold music while something is being looked up.",
        execution="engine",
        side_effect="action",
        input_schema=_object(
            {
                "seconds": {"type": "integer", "minimum": 1, "maximum": 600, "description": "How long to hold."},
                "message": _text("Said before the hold starts.", 500),
            },
            required=("seconds",),
        ),
        config_schema={
            "fields": [
                {
                    "key": "hold_message",
                    "label": "Hold message",
                    "type": "string",
                    "help": "Said when no message is given.",
                    "placeholder": "Please hold while I check that.",
                },
                {"key": "max_hold_seconds", "label": "Longest hold (s)", "type": "number"},
            ]
        },
    ),
    PrebuiltTool(
        name="collect",
        description="Ask the caller to type digits on their keypad (account numbers, PINs, menu choices).",
        execution="engine",
        side_effect="read",
        input_schema=_object(
            {
                "prompt": _text("What to ask the caller to enter.", 500),
                "digits": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 32,
                    "description": "How many keys to collect; collection ends after this many.",
                },
                "terminator": {"enum": ["#", "*"], "description": "A key that ends collection early."},
                "timeout_ms": {
                    "type": "integer",
                    "minimum": 1000,
                    "maximum": 60000,
                    "description": "How long to wait for the caller's keys.",
                },
            },
            required=("prompt",),
        ),
        config_schema={
            "fields": [
                {
                    "key": "mask_in_transcript",
                    "label": "Mask collected digits",
                    "type": "boolean",
                    "help": "Keep card numbers and PINs out of transcripts and recordings' text.",
                }
            ]
        },
        timeout_ms=15000,
    ),
    PrebuiltTool(
        name="knowledge_search",
        description="Search the agent's knowledge base for passages that answer the caller's question.",
        execution="hosted",
        side_effect="read",
        input_schema=_object(
            {
                "query": _text("The question, in the caller's words.", 500, minLength=1),
                "k": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3, "description": "Passages."},
            },
            required=("query",),
        ),
        timeout_ms=3000,
    ),
)

_BY_ID = {tool.id: tool for tool in PREBUILT}
PREBUILT_NAMES = frozenset(tool.name for tool in PREBUILT)


def prebuilt(tool_id: str) -> PrebuiltTool | None:
    return _BY_ID.get(tool_id)
