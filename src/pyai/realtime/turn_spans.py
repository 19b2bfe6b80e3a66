"""The ``omni.turn`` span of each turn of a call, so its stages nest under it.

A turn's stages run in different tasks (the decode of the caller's words, the brain, tools, the
speech lane), and the turn itself is only known once the conversation answers the caller's final
transcript with a ``Think``. So :class:`TurnSpans` follows the conversation's output
(:meth:`observe`) and keeps the open turn spans by utterance and by turn id:

- the first decode of an utterance at a pause (or its final decode) opens a span for it;
- the ``caller.final`` of that utterance, together with the ``Think`` it started, makes it the
  agent turn's span (a final nobody answers ends it: ``pyai.turn.status=no_reply``);
- a turn with no caller utterance (the greeting, a response an app asked for) gets its span when
  its first stage starts;
- ``agent.turn_end`` ends it with the turn's status (``completed``, ``interrupted``, ``cancelled``).

With tracing off every method returns at once and nothing is kept.
"""

from __future__ import annotations

from opentelemetry.trace import Span

from pyai.hear.streaming import Decode, LookAhead
from pyai.omni.conversation import Output, Think
from pyai.ops import tracing


class TurnSpans:
    def __init__(self) -> None:
        self.on = tracing.enabled()
        self.heard: dict[str, Span] = {}  # utterance id → the turn its decode opened
        self.turns: dict[str, Span] = {}  # agent turn id → its span
        self.tool_turns: dict[str, str] = {}  # tool call id → its turn id

    def for_decode(self, work: Decode | LookAhead) -> Span | None:
        """The parent of an ``stt`` span; a look-ahead in mid-speech belongs to no turn yet."""
        if not self.on or (isinstance(work, LookAhead) and not work.at_pause):
            return None
        if (s := self.heard.get(work.uid)) is None:
            s = self.heard[work.uid] = tracing.start("omni.turn", **{"pyai.utterance_id": work.uid})
        return s

    def for_turn(self, turn_id: str | None) -> Span | None:
        """The span of an agent turn (opened now if it has none yet)."""
        if not self.on or turn_id is None:
            return None
        if (s := self.turns.get(turn_id)) is None:
            s = self.turns[turn_id] = tracing.start("omni.turn", **{"pyai.turn_id": turn_id})
        return s

    def for_tool(self, call_id: str) -> Span | None:
        return self.for_turn(self.tool_turns.get(call_id)) if self.on else None

    def observe(self, out: Output) -> None:
        """Follow one output of the conversation (see the module docstring)."""
        if not self.on:
            return
        new_turns = [w.turn_id for w in out.work if isinstance(w, Think) and w.turn_id not in self.turns]
        for event in out.events:
            kind = event.get("type")
            if kind == "caller.final" and (s := self.heard.pop(event.get("utterance_id"), None)) is not None:
                if new_turns and not event.get("ignored"):
                    turn_id = new_turns.pop(0)
                    s.set_attribute("pyai.turn_id", turn_id)
                    self.turns[turn_id] = s
                else:  # a backchannel, an interruption without words, a turn the app answers later
                    s.set_attribute("pyai.turn.status", "no_reply")
                    s.end()
            elif kind == "tool_call":
                self.tool_turns[event["call_id"]] = event["turn_id"]
            elif kind == "agent.turn_end" and (s := self.turns.pop(event["turn_id"], None)) is not None:
                s.set_attribute("pyai.turn.status", event.get("status", ""))
                s.end()
                self.tool_turns = {c: t for c, t in self.tool_turns.items() if t != event["turn_id"]}

    def close(self) -> None:
        """The call ended: end whatever is still open."""
        for s in [*self.heard.values(), *self.turns.values()]:
            s.set_attribute("pyai.turn.status", "call_ended")
            s.end()
        self.heard.clear()
        self.turns.clear()
        self.tool_turns.clear()
