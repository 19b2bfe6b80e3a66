"""Action items: the commitments made on the call, each with its owner (``caller`` or ``agent``).

Two rules, both about something to be done *after* the call:

- **A promise.** A sentence in which the speaker (or "we", "our team", "someone from our team")
  *will* do something with a follow-up verb: "I'll send you the pricing sheet today", "We will
  call you back within 24 hours", "I'm going to talk to my CFO". The owner is whoever said it.
  "Let me check" is done during the call, and "I'll transfer you" happens at once: neither is
  an item.
- **A request granted.** The caller asks "Can you send me the contract?" and the agent's next
  turn opens with a yes ("Sure", "Of course", "Absolutely"): an item for the agent.

The text is the promise without its subject, in the third person from the record's point of
view: the agent speaks for the business ("you" → "the caller", "my" → "our"); the caller's "you"
is the business ("us"), their "my" becomes "their"; a request granted reads from the agent's side
("send me" → "Send the caller").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pyai.recap.transcript import AGENT, CALLER, Sentence, negated

MAX_ITEMS = 10
_VERBS = (
    "send|email|e-mail|text|mail|call|ring|phone|follow up|get back|check|confirm|review|forward|share|schedule|book|"
    "reschedule|talk|speak|discuss|look into|look at|loop in|circle back|reach out|prepare|put together|update|process|"
    "ship|issue|refund|escalate|set up|arrange|think about|run it by|run this by|sign|pass|open|create|file|submit|"
    "reset|replace|credit|waive|cancel|order|note|add|remind|let you know|let them know|bring|invite|introduce|draft|"
    "investigate|fix|test|try|contact|notify|go over|put in|get you|get that|get it|get the|remove|unsubscribe"
)
_PROMISE = re.compile(
    r"\b(?P<subj>i|we|they|(?:our|the) (?:\w+ )?team|someone from (?:our|the) (?:\w+ )?team|"
    r"(?:a|our) (?:technician|specialist|supervisor|manager|colleague|team member|rep))"
    r"\s*(?:'ll|will|am going to|'m going to|are going to|'re going to|'m gonna|'re gonna)"
    rf"\s+(?:also |just |then |definitely |personally |go ahead and |make sure to )?(?P<rest>(?:{_VERBS})\b[^.!?]*)"
)
_REQUEST = re.compile(rf"\b(?:can|could|would|will) you (?:please |also |just )?(?P<rest>(?:{_VERBS})\b[^.!?]*)\?")
_YES = re.compile(r"^(?:sure|of course|absolutely|yes|yeah|yep|definitely|certainly|will do|no problem|happy to)\b")

_AGENT_SAYS = {"you": "the caller", "your": "the caller's", "yours": "the caller's", "my": "our", "me": "us"}
_CALLER_SAYS = {"you": "us", "your": "our", "yours": "ours", "my": "their", "me": "them", "myself": "themselves"}
#: The caller asking the agent: "can you send me your price list" → "Send the caller our price list".
_CALLER_ASKS = {"you": "we", "your": "our", "yours": "ours", "me": "the caller", "my": "the caller's"}
_PRONOUN = re.compile(r"\b(?:you|your|yours|my|me|myself)\b")


def _phrase(rest: str, swaps: dict[str, str]) -> str:
    """``rest`` ("send you the pricing sheet today") as the item's text, pronouns swapped."""
    text = _PRONOUN.sub(lambda m: swaps.get(m.group(0), m.group(0)), rest.strip(" ,;:-"))
    return text[:1].upper() + text[1:]


def action_items(said: Sequence[Sentence]) -> list[dict[str, str]]:
    """``[{owner, text}]`` in call order, without repeats, at most :data:`MAX_ITEMS`."""
    items: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(owner: str, rest: str, swaps: dict[str, str]) -> None:
        text = _phrase(rest, swaps)
        key = re.sub(r"\W+", " ", text.lower()).strip()
        if key and key not in seen and len(items) < MAX_ITEMS:
            seen.add(key)
            items.append({"owner": owner, "text": text})

    for i, s in enumerate(said):
        if s.question and s.speaker == AGENT:
            continue
        for m in _PROMISE.finditer(s.low):
            if not negated(s.low, m.start()) and not s.low[: m.start()].rstrip().endswith("if"):
                add(s.speaker, m.group("rest"), _AGENT_SAYS if s.speaker == AGENT else _CALLER_SAYS)
        if s.speaker == CALLER and (m := _REQUEST.search(s.low)) and _granted(said, i):
            add(AGENT, m.group("rest"), _CALLER_ASKS)
    return items


def _granted(said: Sequence[Sentence], i: int) -> bool:
    """Whether the agent's turn right after sentence ``i`` (the caller's) opens with a yes."""
    turn = said[i].turn
    nxt = next((s for s in said[i + 1 :] if s.turn != turn), None)
    return nxt is not None and nxt.speaker == AGENT and bool(_YES.match(nxt.low))
