"""The rule DSL: a bad pack is refused with the JSON path of the bad field; a good one compiles into
matchers that compare words, not characters."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

import pytest

from pyai.trace import SpecError, builtin_specs, compile_pack, validate_pack
from pyai.trace.dsl import literal_prefixes
from pyai.trace.text import Doc

GOOD = {
    "pack_id": "acme_rules",
    "version": "1.0.0",
    "rules": [
        {
            "id": "acme-1",
            "description": "Never promise a refund.",
            "severity": "medium",
            "citation": "Company policy",
            "kind": "forbidden",
            "match": {"phrases": ["full refund", "money back"]},
        },
        {
            "id": "acme-2",
            "description": "Say the recording notice at the start.",
            "severity": "high",
            "citation": "Cal. Penal Code § 632",
            "kind": "required",
            "match": {"regex": r"\bcall (?:is|may be) recorded\b"},
            "window": {"within_seconds_of_start": 15},
        },
    ],
}


def edited(change: Callable[[dict], object]) -> dict:
    spec = copy.deepcopy(GOOD)
    change(spec)
    return spec


def rule0(**fields: object) -> Callable[[dict], None]:
    return lambda s: s["rules"][0].update(fields)


BAD = [
    (edited(lambda s: s.update(pack_id="Acme-Rules")), "pack_id", "must match"),
    (edited(lambda s: s.update(pack_id="guardrails")), "pack_id", "reserved"),
    (edited(lambda s: s.pop("version")), "version", "is required"),
    (edited(lambda s: s.update(version=3)), "version", "must be a string"),
    (edited(lambda s: s.update(dsl_version=2)), "dsl_version", "DSL version 1"),
    (edited(lambda s: s.update(rules=[])), "rules", "non-empty"),
    (edited(lambda s: s.update(owner="me")), "owner", "unknown field"),
    (edited(lambda s: s["rules"][0].pop("severity")), "rules[0].severity", "is required"),
    (edited(rule0(severity="severe")), "rules[0].severity", "must be one of low, medium, high, critical"),
    (edited(rule0(severty="high")), "rules[0].severty", "unknown field"),
    (edited(rule0(id="Acme 1")), "rules[0].id", "must match"),
    (edited(rule0(citation="  ")), "rules[0].citation", "must not be empty"),
    (edited(rule0(kind="maybe")), "rules[0].kind", "must be one of forbidden, required"),
    (edited(rule0(speaker="bot")), "rules[0].speaker", "must be one of agent, caller, any"),
    (edited(rule0(action="delete")), "rules[0].action", "must be one of flag, modify, block"),
    (edited(rule0(match={"phrases": ["x"], "regex": "x"})), "rules[0].match", "exactly one"),
    (edited(rule0(match={"words": ["x"]})), "rules[0].match.words", "unknown field"),
    (edited(rule0(match={"phrases": []})), "rules[0].match.phrases", "non-empty"),
    (edited(rule0(match={"phrases": ["ok", "!!!"]})), "rules[0].match.phrases[1]", "no words"),
    (edited(rule0(match={"pii": ["ssn", "dob"]})), "rules[0].match.pii[1]", "must be one of"),
    (edited(rule0(match={"regex": "(unclosed"})), "rules[0].match.regex", "not a valid regular expression"),
    (edited(rule0(match={"regex": "a*"})), "rules[0].match.regex", "matches the empty string"),
    (edited(rule0(match={"regex": r"(\w+\s?)+$"})), "rules[0].match.regex", "exponential"),
    (edited(rule0(window={"within_turns": 1})), "rules[0].window", "only a required rule"),
    (edited(lambda s: s["rules"][1].update(window={"within_turns": 0})), "rules[1].window.within_turns", "between"),
    (edited(lambda s: s["rules"][1].update(window={"within_turns": True})), "rules[1].window.within_turns", "integer"),
    (edited(lambda s: s["rules"][1].update(window={})), "rules[1].window", "within_seconds_of_start and/or"),
    (edited(lambda s: s["rules"][1].update(action="block")), "rules[1].action", "can only flag"),
    (edited(lambda s: s["rules"][1].update(id="acme-1")), "rules[1].id", "duplicate rule id 'acme-1' (also rules[0])"),
    ([], "", "must be an object"),
]


@pytest.mark.parametrize(("spec", "path", "message"), BAD, ids=[f"{b[1] or 'root'}:{b[2][:20]}" for b in BAD])
def test_bad_pack_names_the_field(spec: object, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_pack(spec)
    assert info.value.path == path
    assert message in info.value.message
    assert str(info.value) == (f"{path}: {info.value.message}" if path else info.value.message)


def test_regex_error_message_says_why() -> None:
    with pytest.raises(SpecError, match=r"^rules\[0\]\.match\.regex: not a valid regular expression \(missing \)"):
        compile_pack(edited(rule0(match={"regex": "(unclosed"})))


def test_valid_pack_gets_defaults_and_extensions_are_ignored() -> None:
    spec = edited(lambda s: s.update(x_owner="compliance team"))
    spec["rules"][0]["x_note"] = "reviewed"
    valid = validate_pack(spec)
    assert valid["dsl_version"] == 1
    assert valid["rules"][0]["speaker"] == "agent" and valid["rules"][0]["action"] == "flag"
    assert "x_owner" not in valid and "x_note" not in valid["rules"][0]
    pack = compile_pack(spec)
    assert pack.ref == "acme_rules@1.0.0" and len(pack.etag) == 32
    assert compile_pack(copy.deepcopy(spec)).etag == pack.etag


def test_builtin_specs_validate() -> None:
    for spec in builtin_specs().values():
        compile_pack(spec)


@pytest.mark.parametrize(
    ("phrase", "text", "found"),
    [
        ("opt out", "You can OPT-OUT at any time.", "OPT-OUT"),
        ("Opt-Out", "just say opt out.", "opt out"),
        ("don't call me", "Please, don’t call me again!", "don’t call me"),
        ("hell", "Hello there.", None),
        ("hell", "What the hell.", "hell"),
        ("full refund", "a full\nrefund", "full\nrefund"),
        ("café", "Meet me at the Café.", "Café"),
    ],
)
def test_phrases_match_words(phrase: str, text: str, found: str | None) -> None:
    rule = compile_pack(edited(rule0(match={"phrases": [phrase]}))).rules[0]
    hits = rule.hits(Doc(text))
    assert (text[hits[0].start : hits[0].end] if hits else None) == found


def test_regex_is_case_insensitive_and_offsets_fit_the_original() -> None:
    rule = compile_pack(GOOD).rules[1]
    text = "Hi! This CALL MAY BE RECORDED."
    (hit,) = rule.hits(Doc(text))
    assert text[hit.start : hit.end] == "CALL MAY BE RECORDED"


@pytest.mark.parametrize(
    ("pattern", "prefixes"),
    [
        (r"\bfoo\d", ("foo",)),
        (r"(?:share|sell|send)\b", ("sell", "send", "share")),
        (r"(?<!not )Share", ("share",)),
        (r"do[- ]not", ("do not", "do-not")),
        (r"(?:x)?y", None),
        (r".*x", None),
        (r"\d{3}", None),
        (r"ab|", None),
    ],
)
def test_literal_prefixes(pattern: str, prefixes: tuple[str, ...] | None) -> None:
    assert literal_prefixes(pattern) == prefixes


def test_prefilter_never_hides_a_match() -> None:
    """Whatever a built-in regex matches, its prefilter lets through (upper case, curly quotes …)."""
    texts = [
        "THIS IS AVA FROM ACME.",
        "My Name Is Ava.",
        "You’re speaking with Sam.",
        "Press 9 to be removed.",
        "OPT-OUT now",
        "Share your HEALTH information with our Partners.",
        "D.O.B. is 3/4/1980",
        "Your DOB is 03/04/1980.",
        "cvv2 is 123",
        "Good Evening!",
    ]
    for spec in builtin_specs().values():
        for rule in compile_pack(spec).rules:
            if rule.matcher.kind != "regex":
                continue
            for text in texts:
                doc = Doc(text)
                if rule.matcher.pattern.search(doc.text):
                    assert rule.hits(doc), (rule.id, text)


def test_nested_repeat_may_be_bounded_or_possessive() -> None:
    for ok in (r"\w+(?:\s\w+){0,5}", r"(?:\s++\w++)*x", r"[a-z]+ing"):
        compile_pack(edited(rule0(match={"regex": ok})))
    assert re.compile(r"(?:\s++\w++)*x")  # Python 3.11+: possessive repeats exist
