"""Trace: checks what a voice agent says against compliance rules (docs/trace-rules.md).

A pure library: no database, no HTTP. Its parts, one job each:

- :mod:`~pyai.trace.dsl` — the rule-pack DSL: validate (:class:`SpecError` names the bad field) and compile;
- :mod:`~pyai.trace.builtin` — the bundled ``tcpa``, ``hipaa``, ``pii`` and ``brand_voice`` packs;
- :mod:`~pyai.trace.guardrails` — an agent's Trace config, its guardrails as a synthesised pack;
- :mod:`~pyai.trace.scan` — a finished call's transcript → its scorecard and verdict;
- :mod:`~pyai.trace.gate` — the inline gate on each agent sentence before it is spoken;
- :mod:`~pyai.trace.tier2` — rule-based Tier-2 checks (hallucination, ambiguous opt-out, context PII);
- :mod:`~pyai.trace.audit` — the scorecards' hash chain;
- :mod:`~pyai.trace.pii` and :mod:`~pyai.trace.text` — the detectors and text view they share.
"""

from pyai.trace.audit import link, verify
from pyai.trace.builtin import BUILTIN_PACK_IDS, builtin_packs, builtin_specs
from pyai.trace.dsl import DSL_VERSION, Pack, Rule, SpecError, compile_pack, validate_pack
from pyai.trace.gate import Decision, Gate
from pyai.trace.guardrails import TraceConfig, guardrail_pack, parse_config, select_packs
from pyai.trace.scan import SCORECARD_VERSION, scan

__all__ = [
    "BUILTIN_PACK_IDS",
    "DSL_VERSION",
    "SCORECARD_VERSION",
    "Decision",
    "Gate",
    "Pack",
    "Rule",
    "SpecError",
    "TraceConfig",
    "builtin_packs",
    "builtin_specs",
    "compile_pack",
    "guardrail_pack",
    "link",
    "parse_config",
    "scan",
    "select_packs",
    "validate_pack",
    "verify",
]
