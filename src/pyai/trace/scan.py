"""Score a finished call's transcript against rule packs: the call's scorecard.

:func:`scan` is pure and deterministic — the same turns, packs and gate report always give the same
scorecard, a JSON-serialisable dict (``scorecard_version``) that can be hash-chained as it is
(:mod:`pyai.trace.audit`). It reads turns as the call record stores them: ``{"speaker":
"caller"|"agent", "text", "start_ms", "end_ms", "interrupted"}`` with times since the call's start
(an interrupted agent turn holds only what was heard).

Timing: a match's time is interpolated linearly from its character offset over its turn's
duration (a turn's words are spread evenly over it), which is what ``at_t`` reports and what
``within_seconds_of_start`` windows are checked against.

Required rules are judged once their window has closed: a rule whose window the call never got
past (a 60-second disclosure on a 20-second call; a two-turn one when the agent spoke once), or
whose speaker never spoke, is listed under ``not_due``, neither met nor failed.

The transcript shows what was said, not what the inline gate prevented: pass the gate's
:meth:`~pyai.trace.gate.Gate.report` as ``inline`` so its redactions and blocks (which left no
trace in the transcript) join the findings, with its health and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyai.trace.dsl import DSL_VERSION, SEVERITIES, Pack, Rule, as_pack
from pyai.trace.findings import PREVENTED, finding, late_reason, satisfied, unmet_reason, verdict
from pyai.trace.guardrails import Guardrails, guardrail_pack
from pyai.trace.pii import Hit
from pyai.trace.text import Doc

SCORECARD_VERSION = "trace-scorecard-v1"


class _Turn:
    __slots__ = ("index", "speaker", "text", "start_ms", "end_ms", "doc", "speaker_turn")

    def __init__(self, index: int, raw: Mapping[str, Any], speaker_turn: int) -> None:
        self.index = index
        self.speaker = str(raw.get("speaker") or "")
        self.text = str(raw.get("text") or "")
        self.start_ms = int(raw.get("start_ms") or 0)
        self.end_ms = max(self.start_ms, int(raw.get("end_ms") or self.start_ms))
        self.doc = Doc(self.text)
        self.speaker_turn = speaker_turn

    def at_ms(self, hit: Hit) -> int:
        if not self.text:
            return self.start_ms
        return self.start_ms + round((self.end_ms - self.start_ms) * hit.start / len(self.text))


def _turns(raw_turns: Iterable[Mapping[str, Any]]) -> list[_Turn]:
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(raw_turns):
        speaker = str(raw.get("speaker") or "")
        out.append(_Turn(i, raw, seen.get(speaker, 0)))
        seen[speaker] = seen.get(speaker, 0) + 1
    return out


def _scan_forbidden(rule: Rule, turns: Sequence[_Turn], out: list[dict[str, Any]]) -> None:
    for turn in turns:
        hits = rule.hits(turn.doc)
        if hits:
            out.append(
                finding(
                    rule,
                    status="violated",
                    action_taken="flag",
                    source="scan",
                    t_ms=turn.at_ms(hits[0]),
                    turn=turn.index,
                    speaker_turn=turn.speaker_turn,
                    speaker=turn.speaker,
                    hit=hits[0],
                    occurrences=len(hits),
                )
            )


def _scan_required(
    rule: Rule,
    turns: Sequence[_Turn],
    end_ms: int,
    findings: list[dict[str, Any]],
    met: list[dict[str, Any]],
    not_due: list[dict[str, Any]],
) -> None:
    """Met (in its window), late, unmet (its window closed without it), or not due."""
    for k, turn in enumerate(turns):
        hits = rule.hits(turn.doc)
        if not hits:
            continue
        t = turn.at_ms(hits[0])
        where = {"turn": turn.index, "speaker_turn": turn.speaker_turn}
        if rule.window is None or rule.window.allows(t, k):
            met.append(satisfied(rule, t_ms=t, hit=hits[0], **where))
        else:
            findings.append(
                finding(
                    rule,
                    status="late",
                    action_taken="flag",
                    source="scan",
                    t_ms=t,
                    speaker=turn.speaker,
                    hit=hits[0],
                    occurrences=len(hits),
                    reason=late_reason(rule, t),
                    **where,
                )
            )
        return
    if not turns:
        not_due.append({"rule_id": rule.id, "pack_id": rule.pack_id, "reason": f"No {rule.speaker} turn in the call."})
    elif rule.window is not None and not rule.window.closed(end_ms, len(turns)):
        reason = f"The call ended before the window ({rule.window.describe(rule.speaker)}) closed."
        not_due.append({"rule_id": rule.id, "pack_id": rule.pack_id, "reason": reason})
    else:
        findings.append(finding(rule, status="unmet", action_taken="flag", source="scan", reason=unmet_reason(rule)))


def _sort_key(f: Mapping[str, Any]) -> tuple:
    turn = f.get("turn")
    span = f.get("span") or {}
    at = f.get("at_t")
    return (
        turn is None and at is None,
        at if at is not None else 0.0,
        turn if turn is not None else -1,
        f["pack_id"] or "",
        f["rule_id"],
        span.get("start", -1),
        f.get("source", ""),
    )


def scan(
    turns: Iterable[Mapping[str, Any]],
    packs: Iterable[Pack | Mapping[str, Any]],
    guardrails: Guardrails | Mapping[str, Any] | None = None,
    *,
    inline: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The scorecard of a call: ``turns`` (call-record turns), the ``packs`` it is held to
    (compiled, or specs compiled here), the agent's ``guardrails`` (the contract's
    ``TraceGuardrails``; compiled into the ``guardrails`` pack) and, optionally, the inline gate's
    ``report()``."""
    enforced = [as_pack(p) for p in packs]
    gp = guardrail_pack(guardrails)
    if gp is not None:
        enforced.append(gp)
    ids = [p.pack_id for p in enforced]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a pack is given twice: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    all_turns = _turns(turns)
    by_speaker = {s: [t for t in all_turns if t.speaker == s] for s in ("agent", "caller")}
    by_speaker["any"] = all_turns
    end_ms = max((t.end_ms for t in all_turns), default=0)

    findings: list[dict[str, Any]] = []
    met: list[dict[str, Any]] = []
    not_due: list[dict[str, Any]] = []
    for pack in enforced:
        for rule in pack.rules:
            relevant = by_speaker[rule.speaker]
            if rule.kind == "forbidden":
                _scan_forbidden(rule, relevant, findings)
            else:
                _scan_required(rule, relevant, end_ms, findings, met, not_due)

    inline = inline or {}
    findings += [{**f, "source": "inline"} for f in inline.get("findings", ()) if f.get("action_taken") in PREVENTED]
    findings.sort(key=_sort_key)
    met.sort(key=lambda s: (s["at_t"], s["pack_id"], s["rule_id"]))
    call_verdict, why = verdict(findings)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        by_severity[f["severity"]] += 1
    return {
        "scorecard_version": SCORECARD_VERSION,
        "dsl_version": DSL_VERSION,
        "verdict": call_verdict,
        "verdict_reason": why,
        "packs_enforced": [p.ref for p in enforced],
        "findings": findings,
        "satisfied": met,
        "not_due": not_due,
        "redactions": list(inline.get("redactions", ())),
        "gate": inline.get("health"),
        "counts": {
            "findings": len(findings),
            "by_severity": by_severity,
            "blocked_turns": int(inline.get("blocked_turns", 0)),
            "modified_turns": int(inline.get("modified_turns", 0)),
        },
        "call": {
            "turns": len(all_turns),
            "agent_turns": len(by_speaker["agent"]),
            "caller_turns": len(by_speaker["caller"]),
            "duration_s": round(end_ms / 1000, 3),
        },
    }
