"""The Trace rule DSL, version 1 (docs/trace-rules.md): validate a rule pack and compile it.

A pack is plain JSON data so that compliance staff can read it, diff it and version it; this
module is the only place that knows its grammar. :func:`validate_pack` checks it field by field
and raises :class:`SpecError` naming the first bad field by its JSON path (``rules[2].match.regex``)
so an API can answer 400 with that path. :func:`compile_pack` turns a valid pack into a
:class:`Pack` whose rules carry ready matchers: phrases as lower-case word sequences indexed by
their first word, regular expressions precompiled, PII kinds bound to the detectors.

Unknown fields are errors (a misspelt ``severty`` must not silently do nothing); fields whose name
starts with ``x_`` are extensions and are ignored. Anything the grammar gains later raises
``dsl_version``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyai.trace.pii import PII_KINDS, Hit
from pyai.trace.text import Doc, words

DSL_VERSION = 1
SEVERITIES = ("low", "medium", "high", "critical")
KINDS = ("forbidden", "required")
SPEAKERS = ("agent", "caller", "any")
ACTIONS = ("flag", "modify", "block")
#: How far an action may go, in order: the gate applies min(rule's action, mode's ceiling).
ACTION_LEVEL = {"flag": 0, "modify": 1, "block": 2}
#: Pack ids the library synthesises itself (a tenant's pack may not take them).
RESERVED_PACK_IDS = frozenset({"guardrails"})

PACK_ID = re.compile(r"^[a-z0-9_]+$")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_PACK_FIELDS = {"dsl_version", "pack_id", "version", "name", "description", "jurisdiction", "legal_status", "rules"}
_RULE_FIELDS = {"id", "description", "severity", "citation", "kind", "speaker", "match", "window", "action"}
_MATCH_FIELDS = ("phrases", "regex", "pii")
_WINDOW_FIELDS = ("within_seconds_of_start", "within_turns")
MAX_RULES = 1000
MAX_PHRASES = 500
MAX_TEXT = 2000  # description, citation
MAX_PHRASE = 500
MAX_REGEX = 1000
MAX_ID = 64


class SpecError(ValueError):
    """A rule pack (or a Trace config) that does not follow the grammar: ``path`` is the JSON path
    of the offending field (``""`` for the document itself) and ``message`` says what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# ---- compiled form ------------------------------------------------------------------------------


class PhraseMatcher:
    """Any of a list of phrases, each a sequence of lower-case words matched on word boundaries."""

    kind = "phrases"

    def __init__(self, phrases: tuple[tuple[str, ...], ...]) -> None:
        self.phrases = phrases
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted(set(phrases), key=len, reverse=True):  # longest first
            by_first.setdefault(phrase[0], []).append(phrase)
        self._by_first = {w: tuple(ps) for w, ps in by_first.items()}
        self._first = frozenset(by_first)

    def hits(self, doc: Doc) -> list[Hit]:
        if self._first.isdisjoint(doc.token_set):
            return []
        tokens, text, out = doc.tokens, doc.text, []
        i, n = 0, len(tokens)
        while i < n:
            step = 1
            for phrase in self._by_first.get(tokens[i][0], ()):
                size = len(phrase)
                if i + size <= n and all(tokens[i + k][0] == phrase[k] for k in range(1, size)):
                    start, end = tokens[i][1], tokens[i + size - 1][2]
                    out.append(Hit(start, end, text[start:end], "phrase"))
                    step = size
                    break
            i += step
        return out


class RegexMatcher:
    """A regular expression, case-insensitive, searched in the (apostrophe-normalised) text.

    When every match must begin with one of a few literal strings (``\\b(?:share|sell)…``), those
    are worked out once (:func:`literal_prefixes`) and a text containing none of them is skipped
    without running the expression: a substring test is far cheaper than a regex scan."""

    kind = "regex"

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.prefixes = literal_prefixes(pattern.pattern)

    def hits(self, doc: Doc) -> list[Hit]:
        if self.prefixes is not None:
            folded = doc.folded
            if not any(p in folded for p in self.prefixes):
                return []
        return [
            Hit(m.start(), m.end(), m.group(), "regex") for m in self.pattern.finditer(doc.text) if m.end() > m.start()
        ]


class PiiMatcher:
    """The deterministic PII detectors (:mod:`pyai.trace.pii`) of the given kinds."""

    kind = "pii"

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = frozenset(kinds)

    def hits(self, doc: Doc) -> list[Hit]:
        return [h for h in doc.pii if h.kind in self.kinds]


Matcher = PhraseMatcher | RegexMatcher | PiiMatcher


@dataclass(frozen=True, slots=True)
class Window:
    """Where a required rule must be met: within so many seconds of the call's start and/or within
    the first so many turns of the rule's speaker. Every bound given must hold."""

    seconds: float | None = None
    turns: int | None = None

    def allows(self, t_ms: float, turn_no: int) -> bool:
        """Whether a match at ``t_ms`` (since call start) in the speaker's ``turn_no``-th turn (from 0) counts."""
        return (self.seconds is None or t_ms <= self.seconds * 1000) and (self.turns is None or turn_no < self.turns)

    def closed(self, end_ms: float, turns_seen: int) -> bool:
        """Whether a call that lasted ``end_ms`` with ``turns_seen`` turns by the speaker got past it."""
        return (self.seconds is not None and end_ms > self.seconds * 1000) or (
            self.turns is not None and turns_seen >= self.turns
        )

    def describe(self, speaker: str = "agent") -> str:
        who = "" if speaker == "any" else f"{speaker} "
        parts = []
        if self.turns is not None:
            parts.append(f"the first {who}turn" if self.turns == 1 else f"the first {self.turns} {who}turns")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s of the call's start")
        return "within " + " and within ".join(parts)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule. ``level`` is its action as a number (flag 0, modify 1, block 2)."""

    pack_id: str
    pack_version: str
    id: str
    description: str
    severity: str
    citation: str
    kind: str
    speaker: str
    action: str
    matcher: Matcher
    window: Window | None = None

    @property
    def level(self) -> int:
        return ACTION_LEVEL[self.action]

    def hits(self, doc: Doc) -> list[Hit]:
        return self.matcher.hits(doc)


@dataclass(frozen=True)
class Pack:
    """A compiled pack: its rules, and the validated spec it came from (``spec``, defaults filled in)."""

    pack_id: str
    version: str
    rules: tuple[Rule, ...]
    spec: dict[str, Any] = field(repr=False)
    jurisdiction: str | None = None
    legal_status: str | None = None
    name: str | None = None

    @property
    def ref(self) -> str:
        """``pack_id@version``: how scorecards name the pack they enforced."""
        return f"{self.pack_id}@{self.version}"

    @property
    def etag(self) -> str:
        """Content hash of the validated spec: same rules, same etag."""
        return spec_etag(self.spec)


def spec_etag(spec: Mapping[str, Any]) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# ---- validation ---------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def _text(obj: Mapping[str, Any], key: str, path: str, *, required: bool, limit: int = MAX_TEXT) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise SpecError(f"{path}{key}", "is required")
        return None
    if not isinstance(value, str):
        raise SpecError(f"{path}{key}", f"must be a string, not {_type_name(value)}")
    if not value.strip():
        raise SpecError(f"{path}{key}", "must not be empty")
    if len(value) > limit:
        raise SpecError(f"{path}{key}", f"is longer than {limit} characters")
    return value.strip()


def _choice(obj: Mapping[str, Any], key: str, path: str, options: tuple[str, ...], default: str | None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise SpecError(f"{path}{key}", f"is required (one of {', '.join(options)})")
    if value not in options:
        raise SpecError(f"{path}{key}", f"must be one of {', '.join(options)}, not {json.dumps(value)}")
    return value


def _no_unknown(obj: Mapping[str, Any], allowed: set[str] | tuple[str, ...], path: str) -> None:
    for key in obj:
        if key not in allowed and not str(key).startswith("x_"):
            raise SpecError(
                f"{path}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))}; x_* for extensions)"
            )


def _nested_unbounded_repeat(pattern: str) -> bool:
    """Whether ``pattern`` repeats without bound something that itself repeats without bound
    (``(a+)+``, ``(\\w+\\s?)*``): the shape on which Python's backtracking engine can take
    exponential time, which the inline gate could not interrupt. Possessive inner repeats
    (``\\w++``) and atomic groups are fine."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as p  # type: ignore[attr-defined]

        tree = p.parse(pattern)
    except Exception:  # internals moved: skip the check rather than refuse a valid pattern
        return False
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}

    def walk(items: Any, inside: bool) -> bool:
        for op, arg in items:
            if op in repeats:
                low, high, sub = arg
                unbounded = high == c.MAXREPEAT
                if unbounded and inside:
                    return True
                if walk(sub, inside or unbounded):
                    return True
            elif op == c.SUBPATTERN:
                if walk(arg[-1], inside):
                    return True
            elif op == c.BRANCH:
                if any(walk(branch, inside) for branch in arg[1]):
                    return True
            elif op in (c.ASSERT, c.ASSERT_NOT):
                if walk(arg[1], inside):
                    return True
        return False

    return walk(tree, False)


_MAX_PREFIXES = 64


def literal_prefixes(pattern: str) -> tuple[str, ...] | None:
    """Case-folded literal strings one of which every match of ``pattern`` starts with (after
    zero-width assertions), or None when that cannot be said (a match may start with a class,
    a repeat, any character, or the alternatives are too many)."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as p  # type: ignore[attr-defined]

        tree = p.parse(pattern)
    except Exception:
        return None
    zero_width = {c.AT, c.ASSERT, c.ASSERT_NOT}

    def chars(arg: Any) -> list[str] | None:  # a class made only of literal characters
        if any(op != c.LITERAL for op, _ in arg):
            return None
        return [chr(v) for _, v in arg]

    def seq(items: Any) -> tuple[set[str], bool] | None:
        """(prefixes so far, whether the whole sequence was literal)."""
        current = {""}
        for op, arg in items:
            if op in zero_width:
                continue
            if op == c.LITERAL:
                options: set[str] | None = {chr(arg)}
                complete = True
            elif op == c.IN:
                found = chars(arg)
                options, complete = (set(found), True) if found else (None, False)
            elif op == c.SUBPATTERN or op == c.BRANCH:
                branches = [arg[-1]] if op == c.SUBPATTERN else arg[1]
                options, complete = set(), True
                for branch in branches:
                    sub = seq(branch)
                    if sub is None:
                        options = None
                        break
                    options |= sub[0]
                    complete = complete and sub[1]
            else:
                options, complete = None, False
            if options is None:
                return current, False
            current = {a + b for a in current for b in options}
            if len(current) > _MAX_PREFIXES:
                return None
            if not complete:
                return current, False
        return current, True

    result = seq(tree)
    if result is None or not result[0] or "" in result[0]:
        return None
    folded = {x.casefold() for x in result[0]}
    # a shorter prefix makes longer ones with the same start redundant
    return tuple(sorted(x for x in folded if not any(y != x and x.startswith(y) for y in folded)))


def _validate_match(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(path, f"must be an object with one of {', '.join(_MATCH_FIELDS)}, not {_type_name(raw)}")
    _no_unknown(raw, _MATCH_FIELDS, f"{path}.")
    given = [k for k in _MATCH_FIELDS if k in raw]
    if len(given) != 1:
        raise SpecError(path, f"must have exactly one of {', '.join(_MATCH_FIELDS)} (has {len(given)})")
    key = given[0]
    value, where = raw[key], f"{path}.{key}"
    if key == "regex":
        if not isinstance(value, str) or not value:
            raise SpecError(where, "must be a non-empty string")
        if len(value) > MAX_REGEX:
            raise SpecError(where, f"is longer than {MAX_REGEX} characters")
        try:
            compiled = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise SpecError(where, f"not a valid regular expression ({exc})") from None
        if compiled.search("") is not None:
            raise SpecError(where, "matches the empty string, so it would match every turn")
        if _nested_unbounded_repeat(value):
            raise SpecError(
                where,
                "repeats a repetition without bound (like (a+)+), which can take exponential time; "
                "bound the outer repeat ({0,5}) or make the inner one possessive (a++)",
            )
        return {"regex": value}
    if key == "phrases":
        if not isinstance(value, list) or not value:
            raise SpecError(where, "must be a non-empty array of strings")
        if len(value) > MAX_PHRASES:
            raise SpecError(where, f"has more than {MAX_PHRASES} phrases")
        for i, phrase in enumerate(value):
            if not isinstance(phrase, str):
                raise SpecError(f"{where}[{i}]", f"must be a string, not {_type_name(phrase)}")
            if len(phrase) > MAX_PHRASE:
                raise SpecError(f"{where}[{i}]", f"is longer than {MAX_PHRASE} characters")
            if not words(phrase):
                raise SpecError(f"{where}[{i}]", "has no words (letters or digits) to match")
        return {"phrases": list(value)}
    if not isinstance(value, list) or not value:
        raise SpecError(where, f"must be a non-empty array of {', '.join(PII_KINDS)}")
    for i, kind in enumerate(value):
        if kind not in PII_KINDS:
            raise SpecError(f"{where}[{i}]", f"must be one of {', '.join(PII_KINDS)}, not {json.dumps(kind)}")
    return {"pii": list(dict.fromkeys(value))}


def _validate_window(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(
            path, f"must be an object with within_seconds_of_start and/or within_turns, not {_type_name(raw)}"
        )
    _no_unknown(raw, _WINDOW_FIELDS, f"{path}.")
    if not any(k in raw for k in _WINDOW_FIELDS):
        raise SpecError(path, "must have within_seconds_of_start and/or within_turns")
    out: dict[str, Any] = {}
    if "within_seconds_of_start" in raw:
        value = raw["within_seconds_of_start"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SpecError(f"{path}.within_seconds_of_start", f"must be a number, not {_type_name(value)}")
        if not 0 < value <= 86400:
            raise SpecError(f"{path}.within_seconds_of_start", "must be more than 0 and at most 86400")
        out["within_seconds_of_start"] = value
    if "within_turns" in raw:
        value = raw["within_turns"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{path}.within_turns", f"must be an integer, not {_type_name(value)}")
        if not 1 <= value <= 10000:
            raise SpecError(f"{path}.within_turns", "must be between 1 and 10000")
        out["within_turns"] = value
    return out


def _validate_rule(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(path, f"must be an object, not {_type_name(raw)}")
    _no_unknown(raw, _RULE_FIELDS, f"{path}.")
    p = f"{path}."
    rule_id = raw.get("id")
    if rule_id is None:
        raise SpecError(f"{p}id", "is required")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id) or len(rule_id) > MAX_ID:
        raise SpecError(
            f"{p}id", f"must match {RULE_ID.pattern} (at most {MAX_ID} characters), not {json.dumps(rule_id)}"
        )
    rule: dict[str, Any] = {
        "id": rule_id,
        "description": _text(raw, "description", p, required=True),
        "severity": _choice(raw, "severity", p, SEVERITIES, None),
        "citation": _text(raw, "citation", p, required=True),
        "kind": _choice(raw, "kind", p, KINDS, None),
        "speaker": _choice(raw, "speaker", p, SPEAKERS, "agent"),
    }
    if "match" not in raw:
        raise SpecError(f"{p}match", "is required")
    rule["match"] = _validate_match(raw["match"], f"{p}match")
    rule["action"] = _choice(raw, "action", p, ACTIONS, "flag")
    if "window" in raw:
        if rule["kind"] != "required":
            raise SpecError(
                f"{p}window", "only a required rule has a window (a forbidden rule applies to the whole call)"
            )
        rule["window"] = _validate_window(raw["window"], f"{p}window")
    if rule["kind"] == "required" and rule["action"] != "flag":
        raise SpecError(
            f"{p}action", "a required rule can only flag (there is nothing to modify or block when words are missing)"
        )
    return rule


def validate_pack(spec: Any, *, allow_reserved: bool = False) -> dict[str, Any]:
    """The pack with defaults filled in (``dsl_version``, each rule's ``speaker`` and ``action``),
    or :class:`SpecError` for the first field that is wrong."""
    if not isinstance(spec, dict):
        raise SpecError("", f"a rule pack must be an object, not {_type_name(spec)}")
    _no_unknown(spec, _PACK_FIELDS, "")
    version_of_dsl = spec.get("dsl_version", DSL_VERSION)
    if version_of_dsl != DSL_VERSION or isinstance(version_of_dsl, bool):
        raise SpecError("dsl_version", f"this server reads DSL version {DSL_VERSION}, not {json.dumps(version_of_dsl)}")
    pack_id = spec.get("pack_id")
    if pack_id is None:
        raise SpecError("pack_id", "is required")
    if not isinstance(pack_id, str) or not PACK_ID.match(pack_id) or len(pack_id) > MAX_ID:
        raise SpecError(
            "pack_id", f"must match {PACK_ID.pattern} (at most {MAX_ID} characters), not {json.dumps(pack_id)}"
        )
    if pack_id in RESERVED_PACK_IDS and not allow_reserved:
        raise SpecError("pack_id", f"{pack_id!r} is reserved for the agent's guardrails")
    out: dict[str, Any] = {"dsl_version": DSL_VERSION, "pack_id": pack_id}
    out["version"] = _text(spec, "version", "", required=True, limit=MAX_ID)
    for key in ("name", "description", "jurisdiction", "legal_status"):
        value = _text(spec, key, "", required=False)
        if value is not None:
            out[key] = value
    rules = spec.get("rules")
    if rules is None:
        raise SpecError("rules", "is required")
    if not isinstance(rules, list) or not rules:
        raise SpecError("rules", "must be a non-empty array of rules")
    if len(rules) > MAX_RULES:
        raise SpecError("rules", f"has more than {MAX_RULES} rules")
    seen: dict[str, int] = {}
    out["rules"] = []
    for i, raw in enumerate(rules):
        rule = _validate_rule(raw, f"rules[{i}]")
        if rule["id"] in seen:
            raise SpecError(f"rules[{i}].id", f"duplicate rule id {rule['id']!r} (also rules[{seen[rule['id']]}])")
        seen[rule["id"]] = i
        out["rules"].append(rule)
    return out


# ---- compilation --------------------------------------------------------------------------------


def _matcher(match: Mapping[str, Any]) -> Matcher:
    if "phrases" in match:
        return PhraseMatcher(tuple(words(p) for p in match["phrases"]))
    if "regex" in match:
        return RegexMatcher(re.compile(match["regex"], re.IGNORECASE))
    return PiiMatcher(tuple(match["pii"]))


def compile_pack(spec: Any, *, allow_reserved: bool = False) -> Pack:
    """Validate ``spec`` (:class:`SpecError` on the first bad field) and compile it."""
    valid = validate_pack(spec, allow_reserved=allow_reserved)
    rules = []
    for r in valid["rules"]:
        window = r.get("window")
        rules.append(
            Rule(
                pack_id=valid["pack_id"],
                pack_version=valid["version"],
                id=r["id"],
                description=r["description"],
                severity=r["severity"],
                citation=r["citation"],
                kind=r["kind"],
                speaker=r["speaker"],
                action=r["action"],
                matcher=_matcher(r["match"]),
                window=Window(window.get("within_seconds_of_start"), window.get("within_turns")) if window else None,
            )
        )
    return Pack(
        pack_id=valid["pack_id"],
        version=valid["version"],
        rules=tuple(rules),
        spec=valid,
        jurisdiction=valid.get("jurisdiction"),
        legal_status=valid.get("legal_status"),
        name=valid.get("name"),
    )


def as_pack(pack: Pack | Mapping[str, Any]) -> Pack:
    """A compiled pack, compiling a spec given as data."""
    return pack if isinstance(pack, Pack) else compile_pack(dict(pack))
