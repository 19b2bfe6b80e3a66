"""The recap of one call: :func:`build_recap` (embedded, or written by an LLM when one is given).

The embedded recap is rules over the transcript, deterministic for the same turns, pack and
``today``: the outcome from the pack's cue phrases and tool outcomes (:mod:`pyai.recap.packs`),
the pack's fields from their readers (:mod:`pyai.recap.readers`), action items from promises
(:mod:`pyai.recap.actions`), sentiment from word lists (:mod:`pyai.recap.sentiment`), and the
caller's requests, the agent's answers and the topics from the extractive call summary
(:func:`pyai.omni.call_summary.summarize`). With an LLM client, the model writes the same
record (:mod:`pyai.recap.llm`); sentiment and topics stay the embedded ones, and any failure
leaves the embedded record, marked ``method: "embedded_fallback"`` with the reason.

The record::

    {"pack_id", "method": "embedded"|"llm"|"embedded_fallback", "model": str|None,
     "fallback_reason": str|None, "tldr": str, "summary": str, "outcome": <one of the pack's>,
     "next_steps": [str], "action_items": [{"owner": "caller"|"agent", "text": str}],
     "extracted": {<each pack field>: value|None}, "sentiment": {"label", "score", "positive",
     "negative", "basis": "lexical"}, "topics": [str]}
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyai.omni.call_summary import summarize
from pyai.recap.actions import action_items
from pyai.recap.packs import Pack, get_pack
from pyai.recap.readers import READERS
from pyai.recap.sentiment import sentiment
from pyai.recap.transcript import AGENT, Sentence, call_sentences, find, normalise_turns

log = logging.getLogger("pyai.recap")

EMBEDDED, LLM, FALLBACK = "embedded", "llm", "embedded_fallback"
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$")


def resolve_pack(pack: Pack | str | None) -> Pack:
    return pack if isinstance(pack, Pack) else get_pack(pack)


def show(value: Any) -> str:
    """A value as a reader would write it in a sentence (``50000`` → ``50,000``)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    text = str(value)
    if m := _DATETIME.match(text):
        return f"{m.group(1)} at {m.group(2)}"
    return text.replace("_", " ")


def render(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with ``{field}`` filled; a ``[part]`` whose fields are not all known is dropped."""

    def optional(m: re.Match[str]) -> str:
        names = _PLACEHOLDER.findall(m.group(1))
        return m.group(1) if all(values.get(n) not in (None, "") for n in names) else ""

    text = _PLACEHOLDER.sub(lambda m: show(values.get(m.group(1))), _OPTIONAL.sub(optional, template))
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def _tool_words(name: Any) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", str(name or "").lower()) if w}


def decide_outcome(pack: Pack, said: Sequence[Sentence], tools: Iterable[Mapping[str, Any]] = ()) -> str:
    """The call's outcome by the pack's rules (see :mod:`pyai.recap.packs`)."""
    seen: dict[str, int] = {}  # outcome → index of its last evidence
    for i, s in enumerate(said):
        if s.speaker == AGENT and s.question:
            continue
        for o in pack.outcomes:
            if o.cues and o.speaker == s.speaker and find(o.cues, s.low):
                seen[o.value] = i
    for tool in tools:
        if tool.get("status") == "ok":
            words = _tool_words(tool.get("name"))
            if owner := next((o for o in pack.outcomes if o.tools & words), None):
                seen[owner.value] = len(said)
    for o in pack.outcomes:
        if o.implied_by and o.implied_by <= seen.keys():
            return o.value
    if decisive := [o for o in pack.outcomes if o.decisive and o.value in seen]:
        return decisive[0].value
    if talk := [o for o in pack.outcomes if not o.decisive and o.value in seen]:
        return max(talk, key=lambda o: seen[o.value]).value
    return pack.default_outcome


def _quoted(items: Sequence[str]) -> str:
    return " ".join(f"“{s}”" for s in items)


def _summary(facts: Mapping[str, Any], pack: Pack, outcome: str, extracted: Mapping[str, Any]) -> str:
    parts = [
        f"The caller said: {_quoted(facts['caller_requests'])}"
        if facts["caller_requests"]
        else "The caller made no request."
    ]
    if facts["agent_answers"]:
        parts.append(f"The agent said: {_quoted(facts['agent_answers'])}")
    parts.append(
        f"Outcome: {show(outcome)} ({pack.outcome(outcome).description[:1].lower()}"
        f"{pack.outcome(outcome).description[1:].rstrip('.')})."
    )
    captured = [f"{show(name)} {show(value)}" for name, value in extracted.items() if value not in (None, "")]
    if captured:
        parts.append(f"Captured: {'; '.join(captured)}.")
    for row in facts["tool_outcomes"]:
        parts.append(f"Tool {row['name']} ran {row['calls']} time{'s' if row['calls'] != 1 else ''} ({row['ok']} ok).")
    return " ".join(parts)


def next_steps_for(pack: Pack, outcome: str, extracted: Mapping[str, Any], items: Sequence[Mapping[str, str]]) -> list:
    """The outcome's own next step, then each action item as "<Owner> to <do it>"."""
    step = pack.outcome(outcome).next_step
    steps = [render(step, extracted)] if step else []
    for item in items:
        steps.append(f"{item['owner'].capitalize()} to {item['text'][:1].lower()}{item['text'][1:]}")
    return steps


def build_embedded_recap(
    turns: Iterable[Mapping[str, Any]],
    pack: Pack | str | None = None,
    *,
    tool_outcomes: Iterable[Mapping[str, Any]] | None = None,
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """The embedded recap of ``turns`` (``{speaker: caller|agent, text, …}`` in call order) by
    ``pack`` (a :class:`Pack` or its id; None: the default). ``tool_outcomes`` are the call's tool
    calls as its record keeps them (``{name, status, latency_ms}``); ``today`` anchors relative
    dates ("next Tuesday"): pass the call's date (default: today, UTC)."""
    pack = resolve_pack(pack)
    today = today or datetime.datetime.now(datetime.UTC).date()
    spoken = normalise_turns(turns)
    said = call_sentences(spoken)
    tools = [t for t in tool_outcomes or () if isinstance(t, Mapping)]
    extracted = {f.name: READERS[f.read](f, said, today) for f in pack.fields}
    outcome = decide_outcome(pack, said, tools)
    items = action_items(said)
    facts = summarize({}, spoken, tools, [])
    return {
        "pack_id": pack.id,
        "method": EMBEDDED,
        "model": None,
        "fallback_reason": None,
        "tldr": render(pack.outcome(outcome).tldr, extracted),
        "summary": _summary(facts, pack, outcome, extracted),
        "outcome": outcome,
        "next_steps": next_steps_for(pack, outcome, extracted, items),
        "action_items": items,
        "extracted": extracted,
        "sentiment": sentiment(said),
        "topics": facts["topics"],
    }


async def build_recap(
    turns: Iterable[Mapping[str, Any]],
    pack: Pack | str | None = None,
    *,
    tool_outcomes: Iterable[Mapping[str, Any]] | None = None,
    llm: Any = None,
    model: str | None = None,
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """The recap record of one call. Embedded unless ``llm`` (an ``openai.AsyncOpenAI`` on an
    OpenAI-compatible endpoint, e.g. :func:`pyai.recap.llm.llm_for`) and ``model`` are given; then
    the model writes it, and if it fails or answers badly the embedded record stands with
    ``method: "embedded_fallback"`` and ``fallback_reason``. Raises
    :class:`~pyai.recap.packs.UnknownPackError` for an unknown pack id."""
    turns = list(turns)
    pack = resolve_pack(pack)
    today = today or datetime.datetime.now(datetime.UTC).date()
    record = build_embedded_recap(turns, pack, tool_outcomes=tool_outcomes, today=today)
    if llm is None:
        return record
    if not model:
        raise ValueError("build_recap: an llm client needs a model name")
    from pyai.recap.llm import LlmRecapError, llm_recap

    try:
        written = await llm_recap(llm, model, pack, normalise_turns(turns), today)
    except LlmRecapError as e:
        log.warning("LLM recap failed (%s): the embedded recap stands", e)
        return {**record, "method": FALLBACK, "fallback_reason": str(e)}
    return {**record, **written, "method": LLM, "model": model}
