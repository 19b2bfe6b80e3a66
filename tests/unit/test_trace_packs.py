"""Every built-in rule fires on a transcript made to break it and stays quiet on one that keeps it.

A required rule "fires" when its window closes without it (or it is met late); the quiet
transcript meets it in time.
"""

from __future__ import annotations

import re

import pytest

from pyai.trace import builtin_packs, builtin_specs, scan

TURN_MS = 3000


def call(*turns: tuple[str, str]) -> list[dict]:
    """Turns of 3 s each, one after the other: ("agent"|"caller", text)."""
    return [
        {"speaker": who, "text": text, "start_ms": i * TURN_MS, "end_ms": (i + 1) * TURN_MS - 200, "interrupted": False}
        for i, (who, text) in enumerate(turns)
    ]


def A(text: str) -> tuple[str, str]:  # noqa: N802 - reads like a transcript
    return ("agent", text)


def C(text: str) -> tuple[str, str]:  # noqa: N802
    return ("caller", text)


#: rule id -> (a call that breaks it, a call that keeps it)
CASES: dict[str, tuple[list[dict], list[dict]]] = {
    "tcpa-001": (
        call(A("Hello, I'm calling from Acme Dental about your visit."), C("OK."), A("It is on Tuesday.")),
        call(A("Hi, this is Ava from Acme Dental."), C("Hi."), A("Your visit is on Tuesday.")),
    ),
    "tcpa-002": (
        call(A("Hi, this is Ava from Acme Dental. Your visit is on Tuesday."), C("Thanks, bye.")),
        call(A("Hi, this is Ava from Acme Dental. You can call us back at 415-555-0199.")),
    ),
    "tcpa-003": (
        call(
            A("Hello! Your appointment is on Tuesday at 3 pm."), C("Who is this?"), A("This is Ava from Acme Dental.")
        ),
        call(A("Hi, this is Ava from Acme Dental, calling about your appointment.")),
    ),
    "tcpa-004": (
        call(A("Hi, this is Ava from Acme with a special offer on whitening."), C("Go on.")),
        call(A("Hi, this is Ava from Acme with an offer. To stop receiving these calls, say stop.")),
    ),
    "tcpa-005": (
        call(A("Hi, this is Ava from Acme."), C("Please stop calling me.")),
        call(A("Hi, this is Ava from Acme."), C("Can you call me back tomorrow?")),
    ),
    "hipaa-001": (
        call(A("Hi, this is the clinic."), C("Hi."), A("Your lab results are in."), C("OK."), A("They look normal.")),
        call(A("Hi, before we go on, can you please confirm your date of birth?"), C("March 3, 1980."), A("Thanks.")),
    ),
    "hipaa-002": (
        call(A("Your SSN on file is 123-45-6789.")),
        call(A("Please confirm the last four digits of your SSN.")),
    ),
    "hipaa-003": (
        call(A("Your member ID is XJ 12345678.")),
        call(A("I found your member ID; can you read me the last four digits?")),
    ),
    "hipaa-004": (
        call(A("We can share your health information with our marketing partners.")),
        call(A("We never share your health information with partners or advertisers.")),
    ),
    "hipaa-005": (
        call(A("I have your date of birth as March 3, 1980.")),
        call(A("Can you tell me your date of birth?")),
    ),
    "pii-001": (
        call(A("I have the card 4111 1111 1111 1111 on file.")),
        call(A("I have the card ending in 1111 on file.")),
    ),
    "pii-002": (
        call(A("Which card would you like to use?"), C("It's 4242 4242 4242 4242.")),
        call(A("Which card would you like to use?"), C("The one ending in 4242.")),
    ),
    "pii-003": (
        call(A("Go ahead."), C("The CVV is 123.")),
        call(A("Please enter the security code on your keypad.")),
    ),
    "pii-004": (
        call(A("Your social security number is 123-45-6789.")),
        call(A("Your social security number ends in 6789.")),
    ),
    "pii-005": (
        call(A("How can I help?"), C("My social is 123 45 6789.")),
        call(A("How can I help?"), C("My zip code is 94110.")),
    ),
    "brand-001": (
        call(A("Your appointment is on Tuesday.")),
        call(A("Good morning! Your appointment is on Tuesday.")),
    ),
    "brand-002": (
        call(A("Damn, the system is slow today.")),
        call(A("Sorry, the system is slow today. Hello again!")),
    ),
    "brand-003": (
        call(A("No, I'm a real person, not a recording.")),
        call(A("I'm an AI assistant for Acme.")),
    ),
    "brand-004": (
        call(A("I guarantee you'll be approved.")),
        call(A("Most applications are approved within a week.")),
    ),
    "brand-005": (
        call(A("Calm down, sir.")),
        call(A("I understand, let me help.")),
    ),
    "brand-006": (
        call(A("Your appointment is on Tuesday. Goodbye.")),
        call(A("Thanks for your time, goodbye.")),
    ),
}

RULES = {rule.id: (pack, rule) for pack in builtin_packs().values() for rule in pack.rules}


def test_every_builtin_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_fires(rule_id: str) -> None:
    pack, rule = RULES[rule_id]
    card = scan(CASES[rule_id][0], [pack])
    fired = [f for f in card["findings"] if f["rule_id"] == rule_id]
    assert fired, f"{rule_id} did not fire: {card['findings']} / not due: {card['not_due']}"
    assert fired[0]["citation"] == rule.citation and fired[0]["severity"] == rule.severity
    assert rule_id not in {s["rule_id"] for s in card["satisfied"]}


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_stays_quiet(rule_id: str) -> None:
    pack, rule = RULES[rule_id]
    card = scan(CASES[rule_id][1], [pack])
    assert rule_id not in {f["rule_id"] for f in card["findings"]}, card["findings"]
    if rule.kind == "required":
        assert rule_id in {s["rule_id"] for s in card["satisfied"]}


CITATION = {
    "tcpa": re.compile(r"^47 CFR § 64\.1200\([a-z]\)\(\d+\)"),
    "hipaa": re.compile(r"^45 CFR § 164\.5\d\d\([a-z]\)"),
    "pii": re.compile(r"^(PCI DSS v4\.0 Req\. 3\.\d|Cal\. Civ\. Code § 1798\.)"),
    "brand_voice": re.compile(r"^Company policy: "),
}


@pytest.mark.parametrize("pack_id", sorted(CITATION))
def test_builtin_packs_cite_precisely(pack_id: str) -> None:
    spec = builtin_specs()[pack_id]
    assert spec["dsl_version"] == 1 and spec["legal_status"]
    for rule in spec["rules"]:
        assert CITATION[pack_id].match(rule["citation"]), rule["citation"]
        assert rule["id"].startswith(pack_id.split("_")[0])


def test_tcpa_opt_out_by_key_press_counts() -> None:
    turns = call(A("This is Ava from Acme with an offer. Press 9 to be removed from our list."))
    assert "tcpa-004" in {s["rule_id"] for s in scan(turns, [builtin_packs()["tcpa"]])["satisfied"]}
