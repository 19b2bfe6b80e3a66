"""How the embedded brain uses tools without a language model: pick the tool the caller's words
name, fill its arguments from what they say (``pyai.omni.slots``), ask for each missing one,
read an action back for a yes before doing it, and say what came back.

The choice is deliberately conservative, because a wrong tool call is worse than an "I don't
know": a tool is chosen only when the caller uses a word of its name ("book a table" →
``book_table``), or two words of its description. Call-control and knowledge tools are not
chosen here: the embedded brain handles goodbyes and knowledge itself, and ``transfer_to_human``
answers the "a person" intent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pyai.omni import slots
from pyai.omni.steps import CallTool
from pyai.text.words import content_words

#: Tools the planner never picks from the caller's words (see the module docstring).
NOT_PLANNED = frozenset({"end_call", "send_dtmf", "play_hold", "collect", "knowledge_search", "transfer_to_human"})
#: Re-asks for one missing value before the planner gives the request up.
MAX_ASKS = 2
YES = re.compile(r"\b(yes|yeah|yep|sure|correct|right|go ahead|please do|do it|ok|okay|that'?s right)\b")
NO = re.compile(r"\b(no|nope|don'?t|do not|cancel|stop|never mind|wrong)\b")
_RESULT_TEXT_KEYS = ("message", "text", "summary", "confirmation", "answer", "status_text")
_STOP = frozenset(
    "the a an and or but is are to of in on at for with by from my your i me you we it this that be "
    "can could would please like want need get have do does did".split()
)


def _words(text: str) -> set[str]:
    """The stems of the content words ("booking" → "book"; text/words.py), compared stem to stem."""
    return {s for s, _ in content_words(text.replace("_", " ").replace("-", " "), _STOP)}


def spoken_name(tool_name: str) -> str:
    return tool_name.replace("_", " ").replace("-", " ")


@dataclass
class Plan:
    """A tool call being put together with the caller."""

    tool: dict  # the chat-completions function: name, description, parameters
    side_effect: str
    values: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None  # the argument just asked for
    asks: int = 0
    confirming: bool = False

    @property
    def name(self) -> str:
        return self.tool["name"]

    @property
    def schema(self) -> dict:
        return self.tool.get("parameters") or {"type": "object", "properties": {}}


class ToolPlanner:
    """One call's tool planning; ``step(said)`` returns what to say, or the call to make."""

    def __init__(self, side_effects: dict[str, str]) -> None:
        self.side_effects = side_effects
        self.plan: Plan | None = None
        self.calls = 0

    def choose(self, said: str, tools: list[dict]) -> Plan | None:
        """The tool the caller's words name, if exactly one clearly does."""
        heard = _words(said)
        best, best_score = None, 0
        for spec in tools:
            fn = spec.get("function", {})
            if fn.get("name") in NOT_PLANNED:
                continue
            by_name = len(heard & _words(fn.get("name", "")))
            by_description = len(heard & _words(fn.get("description", "")))
            score = 2 * by_name + by_description
            if (by_name or by_description >= 2) and score > best_score:
                best, best_score = fn, score
        if best is None:
            return None
        return Plan(best, self.side_effects.get(best["name"], "action"))

    def step(self, said: str, tools: list[dict]) -> str | CallTool | None:
        """The caller said ``said``: a question or read-back to say, a tool call to make, or None
        when no tool is involved (the brain answers as usual)."""
        plan = self.plan
        if plan is None:
            plan = self.choose(said, tools)
            if plan is None:
                return None
            self.plan = plan
            plan.values = slots.fill(plan.schema, said)
            return self._next(plan)
        if plan.confirming:
            if NO.search(said.lower()):
                self.plan = None
                return "Okay, I won't do that. What else can I help with?"
            changed = slots.fill(plan.schema, said)
            if changed and changed != {k: plan.values.get(k) for k in changed}:
                plan.values |= changed
                return self._next(plan)
            if YES.search(said.lower()):
                return self._call(plan)
            return "Sorry, should I go ahead? Please say yes or no."
        found = slots.fill(plan.schema, said, only=[plan.asking] if plan.asking else None)
        if not found:
            found = slots.fill(plan.schema, said)
        if not found:
            plan.asks += 1
            if plan.asks >= MAX_ASKS:
                self.plan = None
                return None  # the caller moved on: answer what they said instead
            return slots.question(plan.schema, plan.asking) if plan.asking else None
        plan.values |= found
        plan.asks = 0
        return self._next(plan)

    def _next(self, plan: Plan) -> str | CallTool:
        """Ask for the next missing argument, read an action back, or make the call."""
        if missing := slots.missing(plan.schema, plan.values):
            plan.asking = missing[0]
            return slots.question(plan.schema, plan.asking)
        plan.asking = None
        if plan.side_effect == "read":
            return self._call(plan)
        plan.confirming = True
        return f"Just to confirm: {spoken_name(plan.name)}, {_read_back(plan.values)}. Shall I go ahead?"

    def _call(self, plan: Plan) -> CallTool:
        self.plan = None
        self.calls += 1
        return CallTool(f"call_embedded_{self.calls}", plan.name, dict(plan.values))


def _read_back(values: dict) -> str:
    if not values:
        return "with no details"
    return ", ".join(f"{spoken_name(k)} {v}" for k, v in values.items())


def result_sentence(name: str, content: str) -> str | None:
    """What to say about a tool's answer (the ``tool`` message's JSON content); None: nothing."""
    try:
        outcome = json.loads(content)
    except ValueError:
        return None
    status = outcome.get("status")
    if status == "cancelled":
        return None
    if status == "timeout":
        return f"I'm sorry, {spoken_name(name)} is taking too long to answer right now. Please try again later."
    if status != "ok":
        return f"I'm sorry, {spoken_name(name)} didn't work just now."
    result = outcome.get("result")
    if isinstance(result, str) and result.strip():
        return result.strip()[:400]
    if isinstance(result, dict):
        for key in _RESULT_TEXT_KEYS:
            if isinstance(result.get(key), str) and result[key].strip():
                return result[key].strip()[:400]
        facts = [f"{spoken_name(k)}: {v}" for k, v in result.items() if isinstance(v, str | int | float)][:3]
        if facts:
            return "Done. " + "; ".join(facts) + "."
    return "Done."
