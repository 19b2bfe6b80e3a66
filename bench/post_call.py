"""Post-call work per call: the Trace scorecard (all built-in packs, guardrails, the gate's report,
timeline and metrics) and the Recap record (embedded), on a realistic 24-turn sales call.

Prints p50 / p95 milliseconds per call of the computation itself (the jobs' database reads and
writes come on top: a few ms on SQLite). Run: ``.venv/bin/python bench/post_call.py``.
"""

from __future__ import annotations

import datetime
import statistics
import time

from pyai.recap.builder import build_embedded_recap
from pyai.trace import builtin_packs
from pyai.trace.call_metrics import derived_metrics, quality_metrics, timeline
from pyai.trace.gate import Gate
from pyai.trace.scan import scan

CALLER = [
    "Hi, who is this?",
    "Okay. We plan to roll out a forecasting tool next quarter.",
    "Our budget is about fifty thousand dollars.",
    "I am the decision maker, but my CFO signs off.",
    "What does it cost per seat?",
    "That sounds expensive. Do you have a discount for annual plans?",
    "My email is jordan at northwind dot com.",
    "Can you call me back next Tuesday at 3 pm?",
    "We use a spreadsheet today.",
    "How long does the setup take?",
    "Fine, book a meeting for Tuesday at 3 pm.",
    "Thanks, goodbye.",
]
AGENT = [
    "Hi, this is Sam from Acme Energy. You can opt out of these calls at any time.",
    "Great, a forecasting tool is exactly what we do.",
    "Thank you, that helps me find the right plan.",
    "Understood, I will include a summary for your CFO.",
    "Plans start at forty dollars per seat per month.",
    "Annual plans get two months free.",
    "Thanks, I have your email.",
    "Sure, Tuesday at 3 pm works.",
    "Many of our customers moved from spreadsheets.",
    "Setup usually takes two weeks.",
    "You're booked for Tuesday at 3 pm. I'll send a calendar invite.",
    "Thank you for your time. Goodbye!",
]
CONFIG = {
    "enabled": True,
    "rule_packs": {p: {"enabled": True} for p in ("tcpa", "hipaa", "pii", "brand_voice")},
    "guardrails": {
        "mode": "modify",
        "block_pii": {"patterns": ["ssn", "credit_card", "email"]},
        "mandatory_disclosures": [{"text": "This call may be recorded.", "trigger": "call_start"}],
        "blocked_phrases": ["guaranteed savings"],
    },
}


def call_turns() -> list[dict]:
    turns, t = [], 0
    for agent, caller in zip(AGENT, CALLER, strict=True):
        turns.append({"speaker": "agent", "text": agent, "start_ms": t, "end_ms": t + 3000, "interrupted": False})
        turns.append(
            {"speaker": "caller", "text": caller, "start_ms": t + 3500, "end_ms": t + 6000, "interrupted": False}
        )
        t += 7000
    return turns


def main(runs: int = 200) -> None:
    turns = call_turns()
    packs = list(builtin_packs().values())
    trace_ms, recap_ms = [], []
    for _ in range(runs):
        started = time.perf_counter()
        gate = Gate(CONFIG, packs)
        for turn in turns:
            if turn["speaker"] == "agent":
                gate.check(turn["text"], turn["start_ms"])
                gate.on_turn_end()
        gate.finish(turns[-1]["end_ms"])
        card = scan(turns, packs, CONFIG["guardrails"], inline=gate.report())
        events = timeline(turns, [])
        card["derived_metrics"] = derived = derived_metrics(events, [])
        card["quality_metrics"] = quality_metrics(events, derived)
        trace_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        build_embedded_recap(turns, "sales_outbound", today=datetime.date(2026, 11, 26))
        recap_ms.append((time.perf_counter() - started) * 1000)
    for name, samples in (
        ("trace scorecard (gate replay + scan + metrics)", trace_ms),
        ("recap record (embedded)", recap_ms),
    ):
        q = statistics.quantiles(samples, n=20)
        print(f"{name}: p50 {statistics.median(samples):.2f} ms, p95 {q[18]:.2f} ms per call ({runs} calls, 24 turns)")


if __name__ == "__main__":
    main()
