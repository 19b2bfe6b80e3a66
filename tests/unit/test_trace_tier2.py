"""Tier-2 rule-based checks: each fires on the concern it names and stays quiet otherwise."""

from __future__ import annotations

from pyai.trace import tier2

KB = [
    "The Premium plan costs $49 per month and includes unlimited calls.",
    "Our office is open Monday to Friday, 9 am to 5 pm. Dr. Patel sees patients on Tuesdays.",
]


def t(speaker: str, text: str, start_s: float = 0) -> dict:
    return {"speaker": speaker, "text": text, "start_ms": int(start_s * 1000), "end_ms": int(start_s * 1000) + 2000}


def ids(findings: list[dict]) -> list[str]:
    return [f["check_id"] for f in findings]


def test_finding_shape() -> None:
    (f,) = tier2.check(
        [t("agent", "Hi, I'm Ava from Acme."), t("agent", "The Premium plan costs $59 per month.", 4)], KB
    )
    assert f["object"] == "trace.finding" and f["check_id"] == "hallucination" and f["tier"] == 2
    assert f["method"] == "rules" and f["action"] == "flag" and f["verdict"] == "concern"
    assert 0 < f["confidence"] <= 1 and f["severity"] == "medium" and f["speaker"] == "agent"
    assert f["at_t"] == 4.0 and f["turn"] == 1 and "59" in f["reason"]


def test_hallucination_fires_on_unsupported_facts() -> None:
    turns = [
        t("agent", "Hello, this is Ava from Acme Health."),
        t("agent", "Dr. Nguyen can see you on Saturday at 8 am."),
    ]
    (f,) = tier2.check(turns, KB)
    assert f["check_id"] == "hallucination"
    assert "nguyen" in f["reason"] and "saturday" in f["reason"]


def test_hallucination_quiet_when_supported() -> None:
    turns = [
        t("agent", "Hello, this is Ava from Acme Health."),
        t("agent", "The Premium plan costs $49 per month."),
        t("agent", "Dr. Patel sees patients on Tuesdays."),
        t("agent", "Would you like an appointment on Friday at 3?"),  # a question is not a claim
        t("caller", "Can I come on the 14th at 11:30?"),
        t("agent", "Yes, you're booked on the 14th at 11:30."),  # repeating the caller is supported
        t("agent", "Great, anything else I can help with today."),  # no facts
    ]
    assert tier2.check(turns, KB) == []


def test_hallucination_needs_passages() -> None:
    assert tier2.check([t("agent", "The plan costs $59.")], []) == []


def test_ambiguous_optout_fires_when_the_agent_ignores_it() -> None:
    turns = [
        t("agent", "Hi, this is Ava from Acme with an offer."),
        t("caller", "Hmm, I don’t know if I want these calls."),
        t("agent", "Let me tell you about our whitening special."),
    ]
    (f,) = tier2.check(turns)
    assert f["check_id"] == "ambiguous_optout" and f["speaker"] == "caller" and f["turn"] == 1
    assert "64.1200(a)(10)" in f["reason"]


def test_ambiguous_optout_quiet_when_the_agent_asks() -> None:
    turns = [
        t("caller", "Maybe just stop calling, I guess."),
        t("agent", "Of course. Would you like us to stop calling this number?"),
    ]
    assert tier2.check(turns) == []


def test_clear_optout_ignored() -> None:
    turns = [t("caller", "Please take me off your list."), t("agent", "Sure! Our whitening special is $99.")]
    (f,) = tier2.check(turns)
    assert f["check_id"] == "optout_not_honored" and f["severity"] == "high"
    honored = [t("caller", "Please take me off your list."), t("agent", "Done, I've removed your number.")]
    assert tier2.check(honored) == []


def test_context_pii() -> None:
    said = [t("agent", "I see you were born on March 3, 1980, correct?")]
    (f,) = tier2.check(said)
    assert f["check_id"] == "context_pii" and f["confidence"] == 0.85
    address = [t("agent", "Your address is 42 Elm Street, Springfield.")]
    assert ids(tier2.check(address)) == ["context_pii"]
    quiet = [
        t("agent", "Your appointment is on March 3 at 2 pm."),  # a date, but not a birth date
        t("caller", "I was born on March 3, 1980."),  # the caller's own words
        t("agent", "Parking is at 42 Elm Street."),  # a street, but not the caller's address
    ]
    assert tier2.check(quiet) == []


def test_evidence_is_masked() -> None:
    turns = [t("caller", "Stop calling me, my card is 4111 1111 1111 1111."), t("agent", "Our special is great.")]
    (f,) = tier2.check(turns)
    assert "4111 1111" not in f["evidence"] and "************1111" in f["evidence"]
