"""The inline gate: modes, PII redaction, blocked phrases, disclosures and their deadlines,
fail-open, health, and config errors."""

from __future__ import annotations

import random
import re
import time
import types

import pytest

import pyai.trace.gate as gate_module
from pyai.trace import Gate, SpecError, builtin_packs, scan
from pyai.trace.dsl import PhraseMatcher, RegexMatcher
from pyai.trace.pii import DIGIT_WORDS, luhn_valid

DISCLOSURE = "This call may be recorded"


def gate(mode: str = "modify", packs: tuple[str, ...] = (), **guardrails: object) -> Gate:
    config = {
        "enabled": True,
        "rule_packs": {p: {"enabled": True} for p in packs},
        "guardrails": {"mode": mode, **guardrails},
    }
    return Gate(config)


def pii_gate(mode: str) -> Gate:
    return gate(mode, block_pii={"patterns": ["ssn", "credit_card", "email", "us_phone"]})


# ---- modes ----------------------------------------------------------------------------------------


def test_warn_only_records() -> None:
    g = pii_gate("warn")
    d = g.check("Your card 4242 4242 4242 4242 is on file.", 1000)
    assert d.action == "pass" and d.text == "Your card 4242 4242 4242 4242 is on file."
    (f,) = d.findings
    assert f["rule_id"] == "guardrails-pii-credit-card" and f["action_taken"] == "flag"
    assert f["matched"] == "************4242" and f["at_t"] == 1.0 and f["source"] == "inline"


def test_modify_redacts_every_kind() -> None:
    d = pii_gate("modify").check(
        "SSN 123-45-6789, card 4111-1111-1111-1111, mail jo@example.com, phone (415) 555-0199.", 0
    )
    assert d.action == "modify"
    assert d.text == (
        "SSN [redacted SSN], card [redacted card number], mail [redacted email], phone [redacted phone number]."
    )
    assert {f["action_taken"] for f in d.findings} == {"modify"}


def _luhn_number(rng: random.Random, length: int) -> str:
    body = [rng.choice("3456")] + [rng.choice("0123456789") for _ in range(length - 2)]
    for check in "0123456789":
        if luhn_valid("".join(body) + check):
            return "".join(body) + check
    raise AssertionError


def _spoken(number: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return number
    if style == 1:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style == 2:
        return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
    words = {v: k for k, v in DIGIT_WORDS.items() if k not in ("oh", "o")}
    return " ".join(words[ch] for ch in number)


def test_modify_never_lets_a_luhn_valid_card_through() -> None:
    rng = random.Random(20261126)
    templates = ["Your card {} is on file.", "Let me read that back: {}, right?", "{}", "Card number {}. Thanks!"]
    g = gate("modify", block_pii={"patterns": ["credit_card"]})
    for _ in range(300):
        number = _luhn_number(rng, rng.choice([15, 16, 16, 16, 19]))
        sentence = rng.choice(templates).format(_spoken(number, rng))
        d = g.check(sentence, 5000)
        assert d.action == "modify", sentence
        spoken_digits = re.sub(r"\D", "", d.text)
        assert number not in spoken_digits and number[:8] not in spoken_digits, (sentence, d.text)
        assert not any(w in d.text.lower().split() for w in ("four", "five", "six")), d.text


def test_modify_leaves_numbers_that_are_not_cards() -> None:
    g = gate("modify", block_pii={"patterns": ["credit_card"]})
    for sentence in ("Your order 4111 1111 1111 1112 has shipped.", "Tracking 1234567890123456 is live."):
        assert not luhn_valid(re.sub(r"\D", "", sentence))
        d = g.check(sentence, 0)
        assert d.action == "pass" and d.text == sentence and not d.findings


def test_block_suppresses_the_sentence() -> None:
    g = pii_gate("block")
    d = g.check("Your SSN is 123-45-6789.", 2000)
    assert d.action == "block" and d.text is None
    assert d.findings[0]["action_taken"] == "block"
    ok = g.check("Anything else I can help with?", 3000)
    assert ok.action == "pass" and ok.text == "Anything else I can help with?"
    assert g.report()["blocked_turns"] == 1


def test_human_handoff_asks_for_a_transfer() -> None:
    g = gate("human_handoff", blocked_phrases=["legal advice"])
    d = g.check("Here is some Legal Advice: sue them.", 0)
    assert d.action == "handoff" and d.text is None
    assert g.health()["handoffs"] == 1 and g.report()["handoff_requested"]


def test_blocked_phrases_by_mode() -> None:
    sentence = "We offer GUARANTEED-returns on every plan."
    assert gate("warn", blocked_phrases=["guaranteed returns"]).check(sentence, 0).text == sentence
    assert gate("modify", blocked_phrases=["guaranteed returns"]).check(sentence, 0).text == (
        "We offer [redacted] on every plan."
    )
    assert gate("block", blocked_phrases=["guaranteed returns"]).check(sentence, 0).action == "block"
    assert gate("block", blocked_phrases=["guaranteed returns"]).check("Returns are guaranteed? No.", 0).action == (
        "pass"
    )


def test_rule_action_caps_the_mode() -> None:
    """pii-001 asks to modify: even in block mode the card is redacted, not the sentence dropped;
    brand-002 asks to block: in modify mode the word is redacted."""
    g = gate("block", packs=("pii", "brand_voice"))
    d = g.check("Card 4111 1111 1111 1111 noted.", 0)
    assert d.action == "modify" and d.text == "Card [redacted card number] noted."
    g = gate("modify", packs=("brand_voice",))
    d = g.check("Damn, that is slow.", 0)
    assert d.action == "modify" and d.text == "[redacted], that is slow."


# ---- disclosures ----------------------------------------------------------------------------------


def test_call_start_disclosure_is_injected_once() -> None:
    g = gate("modify", mandatory_disclosures=[{"text": DISCLOSURE, "trigger": "call_start"}])
    d = g.check("Hi, this is Ava from Acme.", 0)
    assert d.action == "modify" and d.text == f"{DISCLOSURE}. Hi, this is Ava from Acme."
    assert d.injected == [DISCLOSURE] and d.findings[0]["status"] == "injected"
    assert g.check("How can I help?", 1500).text == "How can I help?"
    g.on_turn_end()
    assert g.finish(60_000) == []
    assert [s["rule_id"] for s in g.satisfied()] == ["guardrails-disclosure-1"]


def test_disclosure_already_said_is_not_injected() -> None:
    g = gate("modify", mandatory_disclosures=[{"text": DISCLOSURE, "trigger": "call_start"}])
    d = g.check("Hi! This call may be recorded.", 0)
    assert d.action == "pass" and not d.findings
    g.on_turn_end()
    assert g.finish() == []


def test_disclosure_across_two_sentences_counts() -> None:
    g = gate("warn", mandatory_disclosures=[{"text": "this call is recorded for quality and training"}])
    g.check("Just so you know, this call is recorded.", 0)
    g.check("For quality and training.", 800)
    assert g.finish(60_000) == []
    g = gate("warn", mandatory_disclosures=[{"text": "this call is recorded for quality and training"}])
    g.check("Just so you know, this call is recorded for quality and training.", 0)
    assert g.finish(60_000) == []


def test_two_turn_default_falls_due_on_the_second_agent_turn() -> None:
    g = gate("modify", mandatory_disclosures=[{"text": "I am an AI assistant"}])
    assert g.check("Hello!", 0).action == "pass"
    g.on_turn_end()
    d = g.check("Your visit is on Tuesday.", 6000)
    assert d.text == "I am an AI assistant. Your visit is on Tuesday."


def test_turn_id_starts_a_new_turn() -> None:
    g = gate("modify", mandatory_disclosures=[{"text": "I am an AI assistant"}])
    assert g.check("Hello!", 0, turn_id="t1").action == "pass"
    assert g.check("How are you?", 900, turn_id="t1").action == "pass"
    assert g.check("Your visit is on Tuesday.", 6000, turn_id="t2").injected == ["I am an AI assistant"]


def test_seconds_deadline_disclosure() -> None:
    g = gate("modify", mandatory_disclosures=[{"text": "I am an AI assistant", "required_within_seconds": 30}])
    assert g.check("Hello!", 0).action == "pass"
    g.on_turn_end()
    assert g.check("Let me check.", 20_000).action == "pass"
    d = g.check("Found it.", 26_000)  # within 5 s of the deadline
    assert d.injected == ["I am an AI assistant"]
    assert g.finish(90_000) == []


def test_unmet_disclosure_is_a_finding_in_warn_mode() -> None:
    g = gate("warn", mandatory_disclosures=[{"text": DISCLOSURE, "trigger": "call_start"}])
    d = g.check("Hi, this is Ava.", 0)
    assert d.action == "pass" and d.text == "Hi, this is Ava." and not d.injected
    g.on_turn_end()
    (f,) = g.finish(10_000)
    assert f["rule_id"] == "guardrails-disclosure-1" and f["status"] == "unmet" and f["severity"] == "high"
    assert "within the first agent turn" in f["reason"]
    assert g.finish() == [f]  # idempotent


def test_late_disclosure() -> None:
    g = gate("warn", mandatory_disclosures=[{"text": DISCLOSURE, "required_within_seconds": 10}])
    g.check("Hi.", 0)
    g.on_turn_end()
    g.check("This call may be recorded.", 15_000)
    (f,) = g.finish(20_000)
    assert f["status"] == "late" and f["at_t"] == 15.0


def test_disclosure_not_due_when_the_call_ends_first() -> None:
    g = gate("warn", mandatory_disclosures=[{"text": DISCLOSURE, "required_within_seconds": 60}])
    g.check("Hi.", 0)
    assert g.finish(20_000) == []
    assert gate("warn", mandatory_disclosures=[{"text": DISCLOSURE}]).finish() == []  # the agent never spoke


# ---- fail-open, health, config ----------------------------------------------------------------------


def _boom(self: object, doc: object) -> list:
    raise RuntimeError("matcher broke")


def test_fail_open_when_a_check_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    g = gate("block", packs=("brand_voice",), blocked_phrases=["legal advice"])
    monkeypatch.setattr(PhraseMatcher, "hits", _boom)
    d = g.check("Here is some legal advice.", 0)
    assert d.action == "pass" and d.text == "Here is some legal advice." and d.unavailable
    assert g.health()["unavailable"] == 1


def test_fail_closed_blocks_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    g = gate("block", packs=("hipaa",), fail_open=False)
    monkeypatch.setattr(RegexMatcher, "hits", _boom)
    d = g.check("Hello there.", 0)
    assert d.action == "block" and d.text is None and d.unavailable


def test_over_budget_fails_open() -> None:
    g = gate("block", packs=("tcpa", "hipaa", "pii", "brand_voice"), inline_timeout_ms=1e-6)
    d = g.check("Your SSN is 123-45-6789.", 0)
    assert d.action == "pass" and d.text == "Your SSN is 123-45-6789." and d.unavailable


def test_a_descheduled_process_keeps_its_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget counts the gate's CPU time too: a second of wall clock lost to the OS between two
    rules is not the gate being slow, so the card is still redacted."""
    clock = iter(range(0, 10**15, 10**9))  # every reading of the clock is a second later
    fake = types.SimpleNamespace(perf_counter_ns=lambda: next(clock), thread_time_ns=time.thread_time_ns)
    monkeypatch.setattr(gate_module, "time", fake)
    d = gate("modify", block_pii={"patterns": ["credit_card"]}).check("Card 4111 1111 1111 1111.", 0)
    assert d.action == "modify" and not d.unavailable and d.elapsed_us >= 1e6


def test_disabled_gate_passes_everything() -> None:
    g = Gate({"enabled": False, "guardrails": {"mode": "block", "blocked_phrases": ["hello"]}})
    d = g.check("hello", 0)
    assert d.action == "pass" and d.text == "hello" and not d.findings
    assert g.finish() == [] and g.health()["checks"] == 0
    assert Gate(None).check("x", 0).action == "pass"


def test_health_counts_and_latency() -> None:
    g = pii_gate("block")
    g.check("Hello.", 0)
    g.check("SSN 123-45-6789.", 100)
    h = g.health()
    assert (h["checks"], h["passed"], h["blocked"], h["modified"], h["unavailable"]) == (2, 1, 1, 0, 0)
    assert 0 < h["p50_us"] <= h["p99_us"] <= h["max_us"]
    assert g.check("Hi.", 200).elapsed_us > 0


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"enabled": True, "rule_packs": {"nope": {"enabled": True}}}, "rule_packs.nope"),
        ({"enabled": True, "rule_packs": {"tcpa": {"version": "0.0.1"}}}, "rule_packs.tcpa.version"),
        ({"enabled": True, "guardrails": {"mode": "loud"}}, "guardrails.mode"),
        ({"guardrails": {"block_pii": {"patterns": ["dob"]}}}, "guardrails.block_pii.patterns[0]"),
        (
            {"guardrails": {"mandatory_disclosures": [{"text": "ok"}, {"text": ""}]}},
            "guardrails.mandatory_disclosures[1].text",
        ),
        (
            {"guardrails": {"mandatory_disclosures": [{"text": "ok", "trigger": "end"}]}},
            "guardrails.mandatory_disclosures[0].trigger",
        ),
        ({"guardrails": {"blocked_phrases": ["fine", "..."]}}, "guardrails.blocked_phrases[1]"),
        ({"guardrails": {"inline_timeout_ms": 0}}, "guardrails.inline_timeout_ms"),
    ],
)
def test_config_errors_name_the_field(config: dict, path: str) -> None:
    with pytest.raises(SpecError) as info:
        Gate(config)
    assert info.value.path == path


def test_wrapped_config_and_pinned_versions() -> None:
    g = Gate({"agent_id": "agent_1", "config": {"enabled": True, "rule_packs": {"tcpa": {"version": "2026.11.0"}}}})
    assert g.enabled and g.packs_enforced == ["tcpa@2026.11.0"]
    assert Gate({"enabled": True, "rule_packs": {"tcpa": {"enabled": False}}}).packs_enforced == []


def test_report_feeds_the_scan() -> None:
    """What the gate blocked never reached the transcript; the scan takes it from the report."""
    g = gate("block", packs=("brand_voice",))
    assert g.check("Good morning!", 0).action == "pass"
    assert g.check("I'm a real person, promise.", 1000).action == "block"
    g.check("Thanks for calling.", 2000)
    g.on_turn_end()
    g.finish(3000)
    turns = [{"speaker": "agent", "text": "Good morning! Thanks for calling.", "start_ms": 0, "end_ms": 3000}]
    card = scan(turns, [builtin_packs()["brand_voice"]], inline=g.report())
    assert [(f["rule_id"], f["action_taken"], f["source"]) for f in card["findings"]] == [
        ("brand-003", "block", "inline")
    ]
    assert card["verdict"] == "WARN" and card["counts"]["blocked_turns"] == 1
    assert card["gate"]["blocked"] == 1
