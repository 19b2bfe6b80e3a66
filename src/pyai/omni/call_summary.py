"""The embedded post-call summary: extractive, deterministic, no model.

:func:`summarize` is the seam: it takes the call's facts, its turns (as heard), its tool outcomes
and the agent's goals, and returns the summary document ``GET /v1/omni/calls/{id}/summary``
serves. A language-model summary (when an OpenAI-compatible LLM is configured) can replace it with
the same inputs and the same document shape, marking itself in ``generator``.

The rules (docs/calls.md), kept simple so they can be explained to a customer:

- **Words.** Lower-cased words; *content words* are those not in a short stop-word list, of three
  letters or more (or numbers), with ``-ing`` and a plural ``s`` dropped (``orders`` → ``order``).
- **Caller requests.** The caller's sentences with at least two content words, scored by how often
  their content words occur in the whole call (divided by the square root of their number, so
  long sentences do not win by length), questions and requests ("I need", "can you") counting
  half again; the best two, in call order.
- **Agent answers.** The agent's sentences after the caller first spoke (not the greeting), scored
  the same way plus a bonus per word shared with the caller's turns; the best two, in call order.
- **Topics.** Content words weighted twice when the caller says them, pairs of adjacent content
  words that recur ranked first; the top five.
- **Goals.** A goal is *met* when the agent's own words cover at least half of the goal's content
  words (ignoring generic ones such as "caller", "ask", "collect"), or when a tool whose name
  shares a content word with the goal succeeded. This says the goal was *addressed*, not proven
  achieved; ``evidence`` names the sentence or tool that decided it.
- **Tool outcomes.** Per tool name: calls, and how many were ``ok``, ``error``, ``timeout`` or of
  unknown outcome, with the mean latency.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pyai.text import words
from pyai.text.words import stem

GENERATOR = "extractive-v1"
MAX_REQUESTS = 2
MAX_ANSWERS = 2
MAX_TOPICS = 5

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each few for from further get got had hadn't has hasn't have haven't having he he'd he'll
    he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it
    it's its itself just let's like me more most mustn't my myself no nor not now of off on once only or
    other ought our ours ourselves out over own please same shan't she she'd she'll she's should shouldn't
    so some such than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's will
    with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves yes yeah okay
    ok sure right well oh um uh hmm mm thanks thank hello hi hey bye goodbye today help great really
    one moment want need know think going gonna let see""".split()
)
#: Words a goal uses to describe the agent's job rather than its subject.
GOAL_GENERIC = frozenset(
    """ask asks asked collect collects confirm confirms get gets make sure caller customer user agent
    their find out obtain capture record offer provide tell inform check verify""".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_REQUEST = re.compile(r"\?\s*$|\b(i need|i want|i'd like|i would like|can you|could you|would you|how do|help me)\b")


def content_words(text: str) -> list[tuple[str, str]]:
    """``(stem, surface)`` of each content word of ``text``, in order."""
    return words.content_words(text, STOPWORDS)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def summarize(
    call: Mapping[str, Any],
    turns: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    goals: Sequence[str],
) -> dict[str, Any]:
    """The summary document of one call. ``call`` carries ``end_reason``, ``status`` and
    ``duration_ms``; ``turns`` are ``{speaker, text, start_ms, interrupted}`` in call order;
    ``tools`` are ``{name, status, latency_ms}``; ``goals`` are the agent's goal sentences."""
    caller_turns = [t for t in turns if t.get("speaker") == "caller" and t.get("text")]
    first_caller_ms = caller_turns[0].get("start_ms", 0) if caller_turns else None
    agent_turns = [t for t in turns if t.get("speaker") == "agent" and t.get("text")]
    answering = [t for t in agent_turns if first_caller_ms is not None and t.get("start_ms", 0) >= first_caller_ms]

    frequency: Counter[str] = Counter()
    for t in [*caller_turns, *answering]:
        frequency.update(s for s, _ in content_words(t["text"]))
    caller_stems = {s for t in caller_turns for s, _ in content_words(t["text"])}

    def score(sentence: str, *, answer: bool) -> float:
        stems = {s for s, _ in content_words(sentence)}
        if len(stems) < 2:
            return 0.0
        value = sum(frequency[s] for s in stems)
        if answer:
            value += 2 * len(stems & caller_stems)
        elif _REQUEST.search(sentence.lower()):
            value *= 1.5
        return value / math.sqrt(len(stems))

    requests = _best([s for t in caller_turns for s in sentences(t["text"])], MAX_REQUESTS, score, answer=False)
    answers = _best([s for t in answering for s in sentences(t["text"])], MAX_ANSWERS, score, answer=True)
    outcomes = _tool_outcomes(tools)
    return {
        "generator": GENERATOR,
        "text": _text(call, requests, answers, outcomes),
        "caller_requests": requests,
        "agent_answers": answers,
        "topics": _topics(caller_turns, answering),
        "goals": [_judge(goal, agent_turns, tools) for goal in goals],
        "tool_outcomes": outcomes,
        "end_reason": call.get("end_reason"),
        "duration_s": round((call.get("duration_ms") or 0) / 1000, 3),
        "turns": {
            "caller": len(caller_turns),
            "agent": len(agent_turns),
            "interrupted": sum(1 for t in turns if t.get("interrupted")),
        },
    }


def _best(candidates: list[str], n: int, score, *, answer: bool) -> list[str]:  # noqa: ANN001
    """The ``n`` best-scoring distinct sentences (none scoring 0), in call order."""
    candidates = list(dict.fromkeys(candidates))
    ranked = sorted(((score(s, answer=answer), i) for i, s in enumerate(candidates)), key=lambda p: (-p[0], p[1]))
    return [candidates[i] for i in sorted(i for value, i in ranked[:n] if value > 0)]


def _topics(caller_turns: Sequence[Mapping[str, Any]], agent_turns: Sequence[Mapping[str, Any]]) -> list[str]:
    weight: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    surface: dict[str, str] = {}
    order: dict[str, int] = {}
    for turns, w in ((caller_turns, 2), (agent_turns, 1)):
        for t in turns:
            for sentence in sentences(t["text"]):
                words = content_words(sentence)
                for s, word in words:
                    weight[s] += w
                    surface.setdefault(s, word)
                    order.setdefault(s, len(order))
                for (a, wa), (b, wb) in zip(words, words[1:], strict=False):
                    if a != b:
                        key = f"{a} {b}"
                        pairs[key] += 1
                        surface.setdefault(key, f"{wa} {wb}")
                        order.setdefault(key, len(order))
    ranked = [k for k, c in pairs.items() if c >= 2]
    ranked.sort(key=lambda k: (-pairs[k], order[k]))
    covered = {w for k in ranked for w in k.split()}
    singles = sorted((s for s in weight if s not in covered), key=lambda s: (-weight[s], order[s]))
    return [surface[k] for k in [*ranked, *singles][:MAX_TOPICS]]


def _judge(goal: str, agent_turns: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]) -> dict:
    wanted = {s for s, _ in content_words(goal)} - GOAL_GENERIC
    verdict: dict[str, Any] = {"goal": goal, "met": False, "evidence": None}
    if not wanted:
        return verdict
    for tool in tools:
        name_stems = {stem(w) for w in re.split(r"[^a-z0-9]+", str(tool.get("name", "")).lower()) if w}
        if tool.get("status") == "ok" and (name_stems - GOAL_GENERIC - STOPWORDS) & wanted:
            return {**verdict, "met": True, "evidence": f"tool {tool['name']} succeeded"}
    said = {s for t in agent_turns for s, _ in content_words(t["text"])}
    if 2 * len(wanted & said) >= len(wanted):
        best = max(
            (s for t in agent_turns for s in sentences(t["text"])),
            key=lambda s: len({w for w, _ in content_words(s)} & wanted),
        )
        return {**verdict, "met": True, "evidence": best}
    return verdict


def _tool_outcomes(tools: Sequence[Mapping[str, Any]]) -> list[dict]:
    by_name: dict[str, dict[str, Any]] = {}
    latencies: dict[str, list[int]] = {}
    for tool in tools:
        name = str(tool.get("name") or "unknown")
        row = by_name.setdefault(name, {"name": name, "calls": 0, "ok": 0, "error": 0, "timeout": 0, "unknown": 0})
        row["calls"] += 1
        status = tool.get("status")
        row[status if status in ("ok", "error", "timeout") else "unknown"] += 1
        if isinstance(tool.get("latency_ms"), int):
            latencies.setdefault(name, []).append(tool["latency_ms"])
    for name, row in by_name.items():
        values = latencies.get(name)
        row["mean_latency_ms"] = round(sum(values) / len(values)) if values else None
    return list(by_name.values())


def _quoted(items: Sequence[str]) -> str:
    return " ".join(f"“{s}”" for s in items)


def _text(call: Mapping[str, Any], requests: list[str], answers: list[str], outcomes: list[dict]) -> str:
    parts = [f"The caller said: {_quoted(requests)}" if requests else "The caller made no request."]
    if answers:
        parts.append(f"The agent answered: {_quoted(answers)}")
    for row in outcomes:
        parts.append(f"Tool {row['name']} ran {row['calls']} time{'s' if row['calls'] != 1 else ''} ({row['ok']} ok).")
    seconds = round((call.get("duration_ms") or 0) / 1000)
    parts.append(f"The call ended ({call.get('end_reason') or 'unknown'}) after {seconds} s.")
    return " ".join(parts)
