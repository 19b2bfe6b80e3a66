"""The inline gate: every agent sentence is checked just before it is spoken.

Sans-I/O and per call: the conversation engine makes one :class:`Gate` per call from the agent's
Trace config and the compiled packs, calls :meth:`Gate.check` with each sentence and its time,
:meth:`Gate.on_turn_end` when an agent turn ends (or passes ``turn_id``), :meth:`Gate.finish` when
the call ends, and hands :meth:`Gate.report` to the post-call scan.

**Modes** cap what a rule's ``action`` may do (docs/trace-rules.md, "Modes"): the gate applies
``min(rule action, mode ceiling)`` with flag < modify < block.

- ``warn``: nothing changes; findings are recorded (``action_taken: flag``);
- ``modify``: matches of modify/block rules are redacted (``[redacted card number]``) and a
  missing mandatory disclosure is spoken before the sentence when it falls due;
- ``block``: as modify, but a block rule's match suppresses the whole sentence (``text: None``);
- ``human_handoff``: as block, but the decision asks for a transfer (``action: handoff``).

**Disclosures** fall due: ``call_start`` — on the first agent sentence; within N agent turns — on
the first sentence of the Nth turn; within S seconds — on the first agent sentence at or after
S − :data:`DISCLOSURE_LEAD_MS` (the disclosure needs time to be spoken). A disclosure the agent
already said in the turn so far is not repeated. Whatever the mode, :meth:`Gate.finish` reports
every requirement that was never met in its window (or met late).

**Fail-open**: a check that raises, or runs past ``inline_timeout_ms`` (checked between rules — a
single regex cannot be interrupted, which is why the DSL refuses nested unbounded repeats — and
counted in the checking thread's CPU time as well as by the clock, so a process the OS merely
descheduled does not lose its checks), lets the sentence pass unchanged with ``unavailable:
True``: Trace being down must not make a call worse. With ``fail_open: false`` such a sentence is
blocked instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyai.trace.builtin import builtin_packs
from pyai.trace.dsl import Pack, Rule, as_pack
from pyai.trace.findings import ACTION_TAKEN, finding, late_reason, satisfied, unmet_reason
from pyai.trace.guardrails import (
    GUARDRAILS_PACK_ID,
    Disclosure,
    TraceConfig,
    disclosure_rule_id,
    guardrail_pack,
    parse_config,
    select_packs,
)
from pyai.trace.pii import PLACEHOLDER, PLACEHOLDERS, Hit, mask
from pyai.trace.text import Doc

log = logging.getLogger("pyai.trace.gate")

#: A seconds-deadline disclosure is injected this long before its deadline (time to say it).
DISCLOSURE_LEAD_MS = 5000
#: Latency samples kept for the percentiles (a call has far fewer sentences).
MAX_SAMPLES = 20000


class _OverBudget(Exception):
    pass


@dataclass(slots=True)
class Decision:
    """What to do with one sentence.

    ``action``: ``pass`` | ``modify`` | ``block`` | ``handoff``. ``text``: what to speak (the
    sentence, possibly redacted and/or preceded by injected disclosures), None when nothing may be
    spoken. ``findings``: the rules that fired on it (TraceViolation-shaped dicts, ``source:
    inline``). ``injected``: disclosures spoken before it. ``unavailable``: the check failed or ran
    out of time and the fail-open/closed policy decided."""

    action: str
    text: str | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    elapsed_us: float = 0.0
    unavailable: bool = False
    injected: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "text": self.text,
            "findings": self.findings,
            "elapsed_us": self.elapsed_us,
            "unavailable": self.unavailable,
            "injected": self.injected,
        }


class _Requirement:
    """A required rule the gate follows through the call (disclosures can be injected)."""

    __slots__ = ("rule", "disclosure", "met", "late")

    def __init__(self, rule: Rule, disclosure: Disclosure | None) -> None:
        self.rule = rule
        self.disclosure = disclosure
        self.met: dict[str, Any] | None = None  # satisfied(...) once met in its window
        self.late: tuple[float, int, Hit] | None = None  # (t_ms, agent turn, hit) when met after it

    @property
    def open(self) -> bool:
        return self.met is None and self.late is None


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 1)


def _redact(text: str, hits: list[Hit]) -> str:
    """``text`` with each hit's span replaced by its placeholder (overlapping hits merged)."""
    out, pos = [], 0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.start < pos:  # inside (or overlapping) the previous replacement
            if hit.end > pos:
                pos = hit.end
            continue
        out.append(text[pos : hit.start])
        out.append(PLACEHOLDERS.get(hit.kind, PLACEHOLDER))
        pos = hit.end
    out.append(text[pos:])
    return "".join(out)


class Gate:
    """One call's inline gate. ``config``: the contract's ``TraceConfigInput`` (raw, wrapped as
    ``{agent_id, config}``, or parsed); ``packs``: every compiled pack (all versions) the config may
    choose from — the built-in packs when None. Raises :class:`~pyai.trace.dsl.SpecError` for a
    config that names a pack or version not given."""

    def __init__(self, config: Mapping[str, Any] | TraceConfig | None, packs: Iterable[Pack] | None = None) -> None:
        self.config = parse_config(config)
        g = self.config.guardrails
        self.enabled = self.config.enabled
        self.mode = g.mode
        self._ceiling = g.ceiling
        self._fail_open = g.fail_open
        self._budget_ns = int(g.inline_timeout_ms * 1_000_000)
        available = builtin_packs().values() if packs is None else [as_pack(p) for p in packs]
        enforced = select_packs(self.config, available)
        gp = guardrail_pack(g)
        if gp is not None:
            enforced.append(gp)
        self.packs_enforced = [p.ref for p in enforced]
        rules = [r for p in enforced for r in p.rules if r.speaker != "caller"]
        self._forbidden = tuple(r for r in rules if r.kind == "forbidden")
        disclosures = {disclosure_rule_id(i): d for i, d in enumerate(g.disclosures)}
        self._requirements = [
            _Requirement(r, disclosures.get(r.id) if r.pack_id == GUARDRAILS_PACK_ID else None)
            for r in rules
            if r.kind == "required"
        ]
        # per-call state
        self._turn = -1  # the current agent turn, from 0
        self._turn_open = False
        self._turn_id: Hashable | None = None
        self._spoken: list[str] = []  # what was spoken so far in the current turn
        self._last_ms = 0.0
        self._finished: list[dict[str, Any]] | None = None
        self._warned = False
        # the record
        self.findings: list[dict[str, Any]] = []
        self.redactions: list[dict[str, Any]] = []
        self._blocked_turns: set[int] = set()
        self._modified_turns: set[int] = set()
        self._counts = dict.fromkeys(("checks", "passed", "modified", "blocked", "handoffs", "unavailable"), 0)
        self._samples: list[float] = []

    # ---- the engine's calls ---------------------------------------------------------------------

    def check(self, sentence: str, t_ms: float, *, turn_id: Hashable | None = None) -> Decision:
        """The decision on ``sentence``, about to be spoken ``t_ms`` after the call started. A new
        ``turn_id`` (when given) starts a new agent turn, as :meth:`on_turn_end` does."""
        started = time.perf_counter_ns()
        if not self.enabled:
            return Decision("pass", sentence)
        if turn_id is not None and turn_id != self._turn_id:
            self.on_turn_end()
            self._turn_id = turn_id
        if not self._turn_open:
            self._turn += 1
            self._turn_open = True
        self._last_ms = max(self._last_ms, t_ms)
        try:
            decision = self._decide(sentence, t_ms, started, time.thread_time_ns())
        except Exception as exc:  # fail-open (or closed) whatever went wrong
            decision = self._unavailable(sentence, exc)
        decision.elapsed_us = round((time.perf_counter_ns() - started) / 1000, 1)
        self._account(decision)
        return decision

    def on_turn_end(self) -> None:
        """The current agent turn is over (the next sentence starts a new one)."""
        self._turn_open = False
        self._spoken = []

    def finish(self, end_ms: float | None = None) -> list[dict[str, Any]]:
        """The call is over (``end_ms``: its length; default the last sentence's time): findings
        for requirements never met in their window, or met late. Idempotent."""
        if self._finished is not None:
            return list(self._finished)
        out: list[dict[str, Any]] = []
        if self.enabled and self._turn >= 0:
            end = self._last_ms if end_ms is None else end_ms
            turns_seen = self._turn + 1
            for req in self._requirements:
                rule = req.rule
                if req.late is not None:
                    t, turn, hit = req.late
                    out.append(self._finding(rule, "late", "flag", t, turn, hit, reason=late_reason(rule, t)))
                elif req.met is None and (rule.window is None or rule.window.closed(end, turns_seen)):
                    out.append(self._finding(rule, "unmet", "flag", None, None, None, reason=unmet_reason(rule)))
        self._finished = out
        self.findings.extend(out)
        return list(out)

    # ---- what the scan and the API read ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Counters and latency of this gate (µs per checked sentence)."""
        samples = sorted(self._samples)
        return {
            **self._counts,
            "p50_us": _percentile(samples, 0.50),
            "p99_us": _percentile(samples, 0.99),
            "max_us": samples[-1] if samples else None,
            "mode": self.mode,
            "fail_open": self._fail_open,
        }

    def satisfied(self) -> list[dict[str, Any]]:
        return [req.met for req in self._requirements if req.met is not None]

    def report(self) -> dict[str, Any]:
        """Everything the gate saw, for :func:`pyai.trace.scan.scan` (``inline=``) and the record."""
        return {
            "mode": self.mode,
            "packs_enforced": list(self.packs_enforced),
            "findings": list(self.findings),
            "satisfied": self.satisfied(),
            "redactions": list(self.redactions),
            "health": self.health(),
            "blocked_turns": len(self._blocked_turns),
            "modified_turns": len(self._modified_turns),
            "handoff_requested": self._counts["handoffs"] > 0,
        }

    # ---- inside ---------------------------------------------------------------------------------

    def _finding(
        self, rule: Rule, status: str, action: str, t_ms: float | None, turn: int | None, hit: Hit | None, **kw: Any
    ) -> dict[str, Any]:
        return finding(
            rule,
            status=status,
            action_taken=action,
            source="inline",
            t_ms=t_ms,
            speaker_turn=turn,
            speaker=None if status == "unmet" else "agent",
            hit=hit,
            **kw,
        )

    def _decide(self, sentence: str, t_ms: float, started: int, cpu_started: int) -> Decision:
        deadline = started + self._budget_ns
        doc = Doc(sentence)
        fired: list[tuple[Rule, list[Hit], int]] = []
        level = 0
        for rule in self._forbidden:
            hits = rule.hits(doc)
            if hits:
                applied = min(rule.level, self._ceiling)
                fired.append((rule, hits, applied))
                level = max(level, applied)
            # over budget by the clock and by this thread's CPU time: a process the OS merely
            # descheduled keeps its checks; only checking that really is this slow fails open
            if time.perf_counter_ns() > deadline and time.thread_time_ns() - cpu_started > self._budget_ns:
                raise _OverBudget
        findings = []
        if level == 2:  # nothing of the sentence is spoken: every finding on it was prevented
            for rule, hits, _ in fired:
                findings.append(
                    self._finding(rule, "violated", "block", t_ms, self._turn, hits[0], occurrences=len(hits))
                )
            action = "handoff" if self.mode == "human_handoff" else "block"
            return Decision(action, None, findings)
        redact: list[Hit] = []
        for rule, hits, applied in fired:
            findings.append(
                self._finding(rule, "violated", ACTION_TAKEN[applied], t_ms, self._turn, hits[0], occurrences=len(hits))
            )
            if applied == 1:
                redact += hits
                self.redactions += [
                    {
                        "at_t": findings[-1]["at_t"],
                        "speaker_turn": self._turn,
                        "rule_id": rule.id,
                        "pack_id": rule.pack_id,
                        "kind": h.kind,
                        "masked": mask(h),
                    }
                    for h in hits
                ]
        text = _redact(sentence, redact) if redact else sentence
        injected = self._inject(text, t_ms, findings) if self._ceiling >= 1 else []
        if injected:
            text = " ".join([*(d if d.rstrip()[-1:] in (".", "!", "?") else d + "." for d in injected), text])
        self._track(text, t_ms)
        return Decision("modify" if redact or injected else "pass", text, findings, injected=injected)

    def _due(self, d: Disclosure, t_ms: float) -> bool:
        window = d.window
        if window.turns is not None and self._turn >= window.turns - 1:
            return True
        return window.seconds is not None and t_ms >= window.seconds * 1000 - DISCLOSURE_LEAD_MS

    def _inject(self, text: str, t_ms: float, findings: list[dict[str, Any]]) -> list[str]:
        """Disclosures due now and not yet said: their texts, in config order (and a finding each)."""
        out: list[str] = []
        doc: Doc | None = None
        for req in self._requirements:
            if req.disclosure is None or not req.open or not self._due(req.disclosure, t_ms):
                continue
            doc = doc or Doc(" ".join([*self._spoken[-1:], text]))
            if req.rule.hits(doc):
                continue  # said in this turn already: tracking will see it
            out.append(req.disclosure.text)
            reason = (
                f"{req.rule.description} It was missing when due, so the gate spoke it before the agent's sentence."
            )
            findings.append(self._finding(req.rule, "injected", "modify", t_ms, self._turn, None, reason=reason))
        return out

    def _track(self, spoken: str, t_ms: float) -> None:
        """Follow required rules through what is actually spoken: this sentence with the turn's
        previous one, so a phrase may run across a sentence break (anything wholly in the previous
        sentence was seen when it was spoken)."""
        self._spoken.append(spoken)
        pending = [req for req in self._requirements if req.open]
        if not pending:
            return
        doc = Doc(" ".join(self._spoken[-2:]))
        for req in pending:
            hits = req.rule.hits(doc)
            if not hits:
                continue
            window = req.rule.window
            if window is None or window.allows(t_ms, self._turn):
                req.met = satisfied(req.rule, t_ms=t_ms, hit=hits[0], speaker_turn=self._turn)
            else:
                req.late = (t_ms, self._turn, hits[0])

    def _unavailable(self, sentence: str, exc: Exception) -> Decision:
        if not isinstance(exc, _OverBudget) and not self._warned:
            self._warned = True  # once per call: a broken rule would otherwise log every sentence
            log.warning(
                "trace gate check failed; %s", "failing open" if self._fail_open else "failing closed", exc_info=exc
            )
        if self._fail_open:
            return Decision("pass", sentence, unavailable=True)
        return Decision("block", None, unavailable=True)

    def _account(self, d: Decision) -> None:
        c = self._counts
        c["checks"] += 1
        if d.unavailable:
            c["unavailable"] += 1
        if d.action == "pass":
            c["passed"] += 1
        elif d.action == "modify":
            c["modified"] += 1
            self._modified_turns.add(self._turn)
        else:
            c["blocked" if d.action == "block" else "handoffs"] += 1
            self._blocked_turns.add(self._turn)
        self.findings += d.findings
        if len(self._samples) < MAX_SAMPLES:
            self._samples.append(d.elapsed_us)
