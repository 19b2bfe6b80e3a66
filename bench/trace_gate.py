"""Trace inline gate cost per agent sentence, with every built-in pack on plus guardrails (all
four PII patterns, two mandatory disclosures, blocked phrases), in each mode.

Simulated calls: realistic agent sentences (greetings, confirmations, numbers, times, some with
PII or forbidden phrases), eight sentences to a turn, forty to a call, a new gate per call (as the
engine makes one per call). Reports the gate's own ``elapsed_us`` per sentence (what its health
counters record) and the cold first sentence of a process.

Usage: ``.venv/bin/python bench/trace_gate.py [--sentences N]`` (prints Markdown).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pyai.trace import BUILTIN_PACK_IDS, Gate, builtin_packs  # noqa: E402

SENTENCES = [
    "Hi, this is Ava from Acme Dental, calling about your upcoming appointment.",
    "This call may be recorded for quality and training purposes.",
    "To stop receiving these calls, say stop at any time.",
    "I can see you're booked for Tuesday, March 14th at 3:30 in the afternoon.",
    "Would you like to keep that time, or should I find you another slot?",
    "Sure, I have openings on Wednesday at 10 a.m. and Thursday at 2 p.m.",
    "Great, I've moved you to Thursday at 2 p.m. with Dr. Patel.",
    "Can you please confirm your date of birth for verification?",
    "Thank you, that matches what we have on file.",
    "Your copay for this visit will be $25, payable at the front desk.",
    "If you need to reach us, call 415-555-0199 during business hours.",
    "I'm sorry, I didn't catch that, could you say it again?",
    "The card ending in 4242 will be charged after your visit.",
    "Let me read that back: 4111 1111 1111 1111, is that right?",
    "Your Social Security number on file is 123-45-6789.",
    "I'll send the confirmation to jane.doe@example.com right away.",
    "We guarantee you'll be seen within fifteen minutes of arrival.",
    "Please arrive ten minutes early to fill out the intake forms.",
    "Parking is free in the garage on Elm Street, level two.",
    "Is there anything else I can help you with today?",
    "Our office is open Monday to Friday, eight to six, and Saturday mornings.",
    "I understand, and I've noted that you prefer afternoon appointments.",
    "Bring your insurance card and a photo ID to the visit.",
    "Thanks for your patience while I look that up.",
]

CONFIG = {
    "enabled": True,
    "rule_packs": {pack_id: {"enabled": True} for pack_id in BUILTIN_PACK_IDS},
    "guardrails": {
        "block_pii": {"patterns": ["ssn", "credit_card", "email", "us_phone"]},
        "mandatory_disclosures": [
            {"text": "This call may be recorded", "trigger": "call_start"},
            {"text": "I am an AI assistant", "required_within_seconds": 30},
        ],
        "blocked_phrases": ["guaranteed returns", "you will definitely be approved", "legal advice"],
        "inline_timeout_ms": 10,
    },
}


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


def run(mode: str, n: int) -> tuple[list[float], list[float], dict]:
    """(gate µs per sentence, wall µs per check call, the last gate's health)."""
    config = {**CONFIG, "guardrails": {**CONFIG["guardrails"], "mode": mode}}
    packs = list(builtin_packs().values())
    inner, wall = [], []
    gate = None
    for i in range(n):
        if i % 40 == 0:
            gate = Gate(config, packs)
        elif i % 8 == 0:
            gate.on_turn_end()
        sentence = SENTENCES[i % len(SENTENCES)]
        t0 = time.perf_counter_ns()
        decision = gate.check(sentence, (i % 40) * 2500)
        wall.append((time.perf_counter_ns() - t0) / 1000)
        inner.append(decision.elapsed_us)
    return inner, wall, gate.health()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=20000)
    args = parser.parse_args()
    t0 = time.perf_counter_ns()
    first = Gate(CONFIG, builtin_packs().values()).check(SENTENCES[0], 0)
    cold_ms = (time.perf_counter_ns() - t0) / 1e6
    rules = sum(len(p.rules) for p in builtin_packs().values())
    print(
        f"# Trace inline gate ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()})\n"
    )
    print(f"{rules} built-in rules + guardrails; {args.sentences} sentences per mode ({len(SENTENCES)} distinct).")
    print(
        f"Cold start (first compile of the built-in packs + first check in the process): {cold_ms:.1f} ms "
        f"(of which the check: {first.elapsed_us:.0f} µs).\n"
    )
    print("| mode | p50 µs | p99 µs | max µs | mean µs | wall p99 µs | modified | blocked/handoff |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in ("warn", "modify", "block", "human_handoff"):
        inner, wall, health = run(mode, args.sentences)
        print(
            f"| {mode} | {pct(inner, 50):.1f} | {pct(inner, 99):.1f} | {max(inner):.1f} | {statistics.mean(inner):.1f} "
            f"| {pct(wall, 99):.1f} | {health['modified']} | {health['blocked'] + health['handoffs']} |"
        )
    print("\n(modified / blocked counts are the last simulated call's, 40 sentences.)")


if __name__ == "__main__":
    main()
