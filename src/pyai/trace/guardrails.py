"""An agent's Trace config (the contract's ``TraceConfigInput``) as the rules library reads it, and
its guardrails compiled into a synthesised rule pack.

The guardrails are a tenant's quick settings: PII to keep out of the agent's mouth, disclosures
it must speak, phrases it must never say. Rather than a second engine they become ordinary DSL
rules in a pack named ``guardrails`` (version: a hash of the settings), so the scan and the
inline gate treat them exactly like the built-in packs:

- ``block_pii.patterns`` → ``guardrails-pii-<kind>``: forbidden, agent, ``pii``, action block;
  severity critical for ``ssn``/``credit_card``, medium for ``email``/``us_phone``;
- ``blocked_phrases`` → ``guardrails-blocked-phrases``: forbidden, agent, ``phrases``, action
  block, severity high;
- ``mandatory_disclosures[n]`` → ``guardrails-disclosure-<n+1>``: required, agent, the text as a
  phrase, severity high.

Their ``block`` action is capped by the mode like any rule's (docs/trace-rules.md, "Modes"): in
``modify`` mode PII and blocked phrases are redacted, in ``block`` mode the sentence is
suppressed. A disclosure's window: ``trigger: call_start`` — the first agent turn (and
``required_within_seconds`` too when given); otherwise ``required_within_seconds`` when given,
else the first :data:`DEFAULT_DISCLOSURE_TURNS` agent turns.

Parsing is lenient about fields it does not know (the API validates the contract's shape
strictly) and strict about values it uses: a wrong one is a :class:`~pyai.trace.dsl.SpecError`
naming the field (``guardrails.mandatory_disclosures[0].text``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyai.trace.dsl import PACK_ID, Pack, SpecError, Window, compile_pack, spec_etag
from pyai.trace.pii import PII_KINDS
from pyai.trace.text import words

MODES = ("warn", "modify", "block", "human_handoff")
#: The strongest action a mode lets the gate take (flag 0, modify 1, block 2).
MODE_CEILING = {"warn": 0, "modify": 1, "block": 2, "human_handoff": 2}
TRIGGERS = ("call_start", "any")
DEFAULT_DISCLOSURE_TURNS = 2
DEFAULT_TIMEOUT_MS = 10.0
GUARDRAILS_PACK_ID = "guardrails"
GUARDRAILS_CITATION = "Agent guardrails (this agent's Trace config)"
PII_SEVERITY = {"ssn": "critical", "credit_card": "critical", "email": "medium", "us_phone": "medium"}
PII_NAMES = {
    "ssn": "a Social Security number",
    "credit_card": "a payment card number",
    "email": "an e-mail address",
    "us_phone": "a phone number",
}


@dataclass(frozen=True)
class Disclosure:
    """A phrase the agent must speak, and by when."""

    text: str
    trigger: str = "any"
    within_seconds: float | None = None

    @property
    def window(self) -> Window:
        if self.trigger == "call_start":
            return Window(self.within_seconds, 1)
        if self.within_seconds is not None:
            return Window(self.within_seconds, None)
        return Window(None, DEFAULT_DISCLOSURE_TURNS)


@dataclass(frozen=True)
class Guardrails:
    mode: str = "warn"
    pii: tuple[str, ...] = ()
    disclosures: tuple[Disclosure, ...] = ()
    blocked_phrases: tuple[str, ...] = ()
    fail_open: bool = True
    inline_timeout_ms: float = DEFAULT_TIMEOUT_MS

    @property
    def ceiling(self) -> int:
        return MODE_CEILING[self.mode]


@dataclass(frozen=True)
class PackChoice:
    enabled: bool = True
    version: str | None = None


@dataclass(frozen=True)
class TraceConfig:
    enabled: bool = False
    guardrails: Guardrails = field(default_factory=Guardrails)
    rule_packs: Mapping[str, PackChoice] = field(default_factory=dict)
    channels: tuple[str, ...] = ("voice",)
    agent_id: str | None = None


def _object(raw: Any, path: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError(path, "must be an object")
    return raw


def _bool(obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SpecError(f"{path}{key}", "must be true or false")
    return value


def _number(value: Any, path: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(path, "must be a number")
    if not low < value <= high:
        raise SpecError(path, f"must be more than {low:g} and at most {high:g}")
    return float(value)


def _list(raw: Any, path: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SpecError(path, "must be an array")
    return raw


def parse_guardrails(raw: Any, path: str = "guardrails") -> Guardrails:
    g = _object(raw, path)
    p = f"{path}."
    mode = g.get("mode") or "warn"
    if mode not in MODES:
        raise SpecError(f"{p}mode", f"must be one of {', '.join(MODES)}")
    patterns = _list(_object(g.get("block_pii"), f"{p}block_pii").get("patterns"), f"{p}block_pii.patterns")
    for i, kind in enumerate(patterns):
        if kind not in PII_KINDS:
            raise SpecError(f"{p}block_pii.patterns[{i}]", f"must be one of {', '.join(PII_KINDS)}")
    disclosures = []
    for i, d in enumerate(_list(g.get("mandatory_disclosures"), f"{p}mandatory_disclosures")):
        where = f"{p}mandatory_disclosures[{i}]"
        d = _object(d, where)
        text = d.get("text")
        if not isinstance(text, str) or not words(text):
            raise SpecError(f"{where}.text", "must be a string with words to speak")
        trigger = d.get("trigger") or "any"
        if trigger not in TRIGGERS:
            raise SpecError(f"{where}.trigger", f"must be one of {', '.join(TRIGGERS)}")
        within = d.get("required_within_seconds")
        if within is not None:
            within = _number(within, f"{where}.required_within_seconds", low=0, high=86400)
        disclosures.append(Disclosure(text.strip(), trigger, within))
    phrases = _list(g.get("blocked_phrases"), f"{p}blocked_phrases")
    for i, phrase in enumerate(phrases):
        if not isinstance(phrase, str) or not words(phrase):
            raise SpecError(f"{p}blocked_phrases[{i}]", "must be a string with words (letters or digits)")
    timeout = g.get("inline_timeout_ms")
    return Guardrails(
        mode=mode,
        pii=tuple(dict.fromkeys(patterns)),
        disclosures=tuple(disclosures),
        blocked_phrases=tuple(dict.fromkeys(phrases)),
        fail_open=_bool(g, "fail_open", p, True),
        inline_timeout_ms=DEFAULT_TIMEOUT_MS
        if timeout is None
        else _number(timeout, f"{p}inline_timeout_ms", low=0, high=60000),
    )


def parse_config(raw: Any) -> TraceConfig:
    """A ``TraceConfigInput`` (raw, or wrapped as ``{agent_id, config}``; None: the safe default,
    disabled and ``warn``)."""
    if isinstance(raw, TraceConfig):
        return raw
    c = _object(raw, "")
    if isinstance(c.get("config"), Mapping) and set(c) <= {"agent_id", "config"}:
        c = {**c["config"], **({"agent_id": c["agent_id"]} if "agent_id" in c else {})}
    choices: dict[str, PackChoice] = {}
    for pack_id, choice in _object(c.get("rule_packs"), "rule_packs").items():
        where = f"rule_packs.{pack_id}"
        if not isinstance(pack_id, str) or not PACK_ID.match(pack_id):
            raise SpecError(where, f"not a pack id (must match {PACK_ID.pattern})")
        choice = _object(choice, where)
        version = choice.get("version")
        if version is not None and (not isinstance(version, str) or not version):
            raise SpecError(f"{where}.version", "must be a non-empty string or null")
        choices[pack_id] = PackChoice(_bool(choice, "enabled", f"{where}.", True), version)
    channels = _list(c.get("channels"), "channels") or ["voice"]
    return TraceConfig(
        enabled=_bool(c, "enabled", "", False),
        guardrails=parse_guardrails(c.get("guardrails")),
        rule_packs=choices,
        channels=tuple(channels),
        agent_id=c.get("agent_id"),
    )


def disclosure_rule_id(index: int) -> str:
    return f"guardrails-disclosure-{index + 1}"


def guardrail_spec(g: Guardrails) -> dict[str, Any] | None:
    """The guardrails as a DSL pack spec, or None when they ask for nothing."""
    rules: list[dict[str, Any]] = []
    for kind in g.pii:
        rules.append(
            {
                "id": f"guardrails-pii-{kind.replace('_', '-')}",
                "description": f"The agent spoke {PII_NAMES[kind]}, which this agent's guardrails forbid.",
                "severity": PII_SEVERITY[kind],
                "citation": GUARDRAILS_CITATION + ": block_pii",
                "kind": "forbidden",
                "speaker": "agent",
                "match": {"pii": [kind]},
                "action": "block",
            }
        )
    if g.blocked_phrases:
        rules.append(
            {
                "id": "guardrails-blocked-phrases",
                "description": "The agent said a phrase on this agent's blocked list.",
                "severity": "high",
                "citation": GUARDRAILS_CITATION + ": blocked_phrases",
                "kind": "forbidden",
                "speaker": "agent",
                "match": {"phrases": list(g.blocked_phrases)},
                "action": "block",
            }
        )
    for i, d in enumerate(g.disclosures):
        window = d.window
        spec_window = {
            k: v
            for k, v in (("within_seconds_of_start", window.seconds), ("within_turns", window.turns))
            if v is not None
        }
        rules.append(
            {
                "id": disclosure_rule_id(i),
                "description": f"The agent must say the disclosure “{d.text}” {window.describe('agent')}.",
                "severity": "high",
                "citation": GUARDRAILS_CITATION + f": mandatory_disclosures[{i}]",
                "kind": "required",
                "speaker": "agent",
                "match": {"phrases": [d.text]},
                "window": spec_window,
            }
        )
    if not rules:
        return None
    spec: dict[str, Any] = {
        "pack_id": GUARDRAILS_PACK_ID,
        "version": "",
        "name": "This agent's guardrails",
        "rules": rules,
    }
    spec["version"] = "g-" + spec_etag(spec)[:12]
    return spec


def guardrail_pack(g: Guardrails | Mapping[str, Any] | None) -> Pack | None:
    """The guardrails compiled into the synthesised ``guardrails`` pack (None: nothing configured)."""
    if g is None:
        return None
    spec = guardrail_spec(g if isinstance(g, Guardrails) else parse_guardrails(g))
    return None if spec is None else compile_pack(spec, allow_reserved=True)


_VERSION_PART = re.compile(r"(\d+)|(\D+)")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: ``2026.11.10`` after ``2026.11.9``."""
    return tuple((0, int(d)) if d else (1, s) for d, s in _VERSION_PART.findall(version))


def select_packs(config: TraceConfig, available: Iterable[Pack]) -> list[Pack]:
    """The packs ``config`` enables, from ``available`` (all versions of every pack the caller
    can use): the pinned version, or the newest when none is pinned. A pack the config enables
    that is not available is a :class:`SpecError` on ``rule_packs.<id>``."""
    by_id: dict[str, dict[str, Pack]] = {}
    for pack in available:
        by_id.setdefault(pack.pack_id, {})[pack.version] = pack
    chosen = []
    for pack_id, choice in sorted(config.rule_packs.items()):
        if not choice.enabled:
            continue
        versions = by_id.get(pack_id)
        if not versions:
            raise SpecError(f"rule_packs.{pack_id}", f"no rule pack {pack_id!r} is available")
        if choice.version is None:
            chosen.append(versions[max(versions, key=version_key)])
        elif choice.version in versions:
            chosen.append(versions[choice.version])
        else:
            raise SpecError(f"rule_packs.{pack_id}.version", f"pack {pack_id!r} has no version {choice.version!r}")
    return chosen
