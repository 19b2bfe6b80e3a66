"""A call's scorecard-v1 timeline, quality metrics and derived metrics, computed from its record.

Everything here comes from what the call engine stamped on the call record (turns with their
start and end on the session clock, tool calls with their time), nothing is estimated:

- ``ttfb_ms`` of an agent turn: from the caller's turn before it being final (its transcript in)
  to the agent's first audio; the greeting's is from the session opening.
- a barge-in: an agent turn cut short (``interrupted``); its ``detect_ms`` is from the start of the
  caller speech that cut it to the agent's audio stopping, and it is ``recovered`` when the
  agent spoke again afterwards.
- ``endpointing_ms`` needs the true end of the caller's speech, which the record does not keep:
  it stays empty (``count: 0``) rather than guessed.
"""

from __future__ import annotations

import math
from typing import Any


def latency_summary(samples: list[float]) -> dict[str, Any]:
    """Nearest-rank percentiles (``null`` without samples)."""
    if not samples:
        return {"count": 0, "p50": None, "p95": None, "p99": None}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])

    return {"count": len(ordered), "p50": rank(0.5), "p95": rank(0.95), "p99": rank(0.99)}


def timeline(turns: list[dict], tools: list[dict]) -> list[dict]:
    """The per-turn events of a call, in order."""
    events: list[dict] = []
    last_caller_end: float | None = None
    for seq, turn in enumerate(turns):
        role = turn.get("speaker", "")
        start, end = turn.get("start_ms", 0), turn.get("end_ms", 0)
        event: dict[str, Any] = {"seq": seq, "t_ms": start, "role": role, "text": turn.get("text", "")}
        if role == "agent":
            event["ttfb_ms"] = start - (last_caller_end if last_caller_end is not None else 0)
            if turn.get("interrupted"):
                barger = next((t for t in turns[seq + 1 :] if t.get("speaker") == "caller"), None)
                recovered = any(t.get("speaker") == "agent" for t in turns[seq + 1 :])
                detect = None if barger is None else max(0, end - barger.get("start_ms", end))
                event["barge"] = {"detect_ms": detect, "recovered": recovered}
            calls = [c for c in tools if start <= c.get("at_ms", -1) <= end]
            event["tool_calls"] = [
                {"name": c.get("name"), "args": None, "result": c.get("status"), "t_ms": c.get("at_ms")} for c in calls
            ]
        else:
            last_caller_end = end
        events.append(event)
    return events


def derived_metrics(events: list[dict], tools: list[dict]) -> dict[str, Any]:
    """The contract's ``TraceDerivedCallMetrics`` of a timeline."""
    by_role: dict[str, int] = {}
    for e in events:
        by_role[e["role"]] = by_role.get(e["role"], 0) + 1
    barges = [e["barge"] for e in events if "barge" in e]
    recovered = sum(1 for b in barges if b["recovered"])
    return {
        "turns": len(events),
        "turns_by_role": by_role,
        "ttfb_ms": latency_summary([e["ttfb_ms"] for e in events if "ttfb_ms" in e]),
        "endpointing_ms": latency_summary([]),
        "barge": {
            "count": len(barges),
            "recovered": recovered,
            "recovery_rate": recovered / len(barges) if barges else None,
            "detect_ms": latency_summary([b["detect_ms"] for b in barges if b["detect_ms"] is not None]),
        },
        "tool_calls": len(tools),
    }


def quality_metrics(events: list[dict], derived: dict[str, Any]) -> dict[str, Any]:
    """The contract's ``TraceQualityMetrics``: what can be measured without a reference transcript
    or a task outcome (``wer``, ``task_success`` and ``vaqi`` are left out)."""
    agent = [e for e in events if e["role"] == "agent"]
    metrics: dict[str, Any] = {}
    if agent:
        metrics["ttfb_ms"] = agent[0]["ttfb_ms"]
        metrics["turn_p95_ms"] = derived["ttfb_ms"]["p95"]
    if derived["barge"]["recovery_rate"] is not None:
        metrics["barge_recovery"] = derived["barge"]["recovery_rate"]
    return metrics
