"""What a brain yields, step by step, for one agent turn (every brain speaks these)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class EndCall:
    """Hang up once everything said so far has been heard."""


@dataclass(frozen=True)
class CallTool:
    """Call one of the offered tools. The brain yields every call it wants for this step and then
    stops; the conversation runs them, appends the OpenAI-format assistant ``tool_calls`` message
    and one ``tool`` message per result to ``messages``, and asks the brain again."""

    call_id: str
    name: str
    arguments: dict


Step = Say | EndCall | CallTool
