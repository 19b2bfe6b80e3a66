"""The shapes Trace records, built in one place so the scan and the inline gate agree: a finding
(a fired rule, contract ``TraceViolation`` plus evidence), a satisfied requirement, and the
call's verdict.

A finding never carries the raw words that made it fire when they are sensitive: ``matched`` is
masked (:func:`pyai.trace.pii.mask`), because scorecards are kept for years in a hash chain that
cannot be edited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyai.trace.dsl import Rule
from pyai.trace.pii import Hit, mask

#: ``action_taken`` by the level the gate applied (flag 0, modify 1, block 2).
ACTION_TAKEN = {0: "flag", 1: "modify", 2: "block"}
FAILING_SEVERITIES = ("high", "critical")
#: Actions after which the caller did not hear the violation as it was about to be said.
PREVENTED = ("modify", "block")


def at_t(ms: float | None) -> float | None:
    """Milliseconds since call start as the contract's ``at_t`` (seconds)."""
    return None if ms is None else round(ms / 1000, 3)


def finding(
    rule: Rule,
    *,
    status: str,
    action_taken: str,
    source: str,
    t_ms: float | None = None,
    turn: int | None = None,
    speaker_turn: int | None = None,
    speaker: str | None = None,
    hit: Hit | None = None,
    occurrences: int = 1,
    reason: str | None = None,
) -> dict[str, Any]:
    """One fired rule. ``status``: ``violated`` (a forbidden rule matched), ``unmet`` (a required
    rule was never met in its window), ``late`` (met, but after its window), ``injected`` (the gate
    spoke a missing disclosure). ``turn`` is the index in the transcript (scan only),
    ``speaker_turn`` the index among that speaker's turns (from 0)."""
    return {
        "rule_id": rule.id,
        "pack_id": rule.pack_id,
        "pack_version": rule.pack_version,
        "kind": rule.kind,
        "status": status,
        "severity": rule.severity,
        "action_taken": action_taken,
        "citation": rule.citation,
        "reason": reason or rule.description,
        "speaker": speaker,
        "at_t": at_t(t_ms),
        "turn": turn,
        "speaker_turn": speaker_turn,
        "span": None if hit is None else {"start": hit.start, "end": hit.end},
        "matched": None if hit is None else mask(hit),
        "occurrences": occurrences if hit is not None else 0,
        "source": source,
    }


def satisfied(
    rule: Rule, *, t_ms: float, hit: Hit, turn: int | None = None, speaker_turn: int | None = None
) -> dict[str, Any]:
    """A required rule that was met in its window, and where."""
    return {
        "rule_id": rule.id,
        "pack_id": rule.pack_id,
        "pack_version": rule.pack_version,
        "citation": rule.citation,
        "description": rule.description,
        "at_t": at_t(t_ms),
        "turn": turn,
        "speaker_turn": speaker_turn,
        "matched": mask(hit),
    }


def unmet_reason(rule: Rule) -> str:
    when = rule.window.describe(rule.speaker) if rule.window else "during the call"
    return f"{rule.description} Not said {when}."


def late_reason(rule: Rule, t_ms: float) -> str:
    when = rule.window.describe(rule.speaker) if rule.window else "during the call"
    return f"{rule.description} Said at {t_ms / 1000:.1f} s, but it was required {when}."


def verdict(findings: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """The call's verdict and why, from its findings:

    - ``FAIL``: a high or critical finding that was not prevented inline (``action_taken`` flag or
      pass: the caller heard it, it was in the caller's own words, or a required rule went unmet);
    - ``WARN``: any other finding (low/medium ones, and violations the gate redacted or blocked);
    - ``PASS``: no finding.
    """
    findings = list(findings)
    if not findings:
        return "PASS", "No rule fired."
    failing = [f for f in findings if f["severity"] in FAILING_SEVERITIES and f["action_taken"] not in PREVENTED]
    if failing:
        ids = ", ".join(sorted({f["rule_id"] for f in failing}))
        return "FAIL", f"{len(failing)} high/critical finding(s) not prevented inline ({ids})."
    ids = ", ".join(sorted({f["rule_id"] for f in findings}))
    return "WARN", f"{len(findings)} finding(s), none both high/critical and unprevented ({ids})."
