"""Scanning a finished call: verdicts, windows, timing, and a scorecard that is plain, deterministic
JSON without the raw PII that made rules fire."""

from __future__ import annotations

import json

import pytest

from pyai.trace import SCORECARD_VERSION, builtin_packs, compile_pack, scan

NOTICE = {
    "pack_id": "notice",
    "version": "1",
    "rules": [
        {
            "id": "notice-1",
            "description": "Say the recording notice early.",
            "severity": "high",
            "citation": "Cal. Penal Code § 632",
            "kind": "required",
            "match": {"phrases": ["this call is recorded"]},
            "window": {"within_seconds_of_start": 10},
        }
    ],
}


def turn(speaker: str, text: str, start_s: float, end_s: float) -> dict:
    return {"speaker": speaker, "text": text, "start_ms": int(start_s * 1000), "end_ms": int(end_s * 1000)}


def brand() -> list:
    return [builtin_packs()["brand_voice"]]


def test_pass() -> None:
    card = scan([turn("agent", "Hello! Thanks for calling Acme.", 0, 3)], brand())
    assert card["verdict"] == "PASS" and card["findings"] == []
    assert card["scorecard_version"] == SCORECARD_VERSION and card["packs_enforced"] == ["brand_voice@2026.11.0"]
    assert {s["rule_id"] for s in card["satisfied"]} == {"brand-001", "brand-006"}


def test_warn_on_a_low_finding() -> None:
    card = scan([turn("agent", "Hello. Calm down, thanks.", 0, 3)], brand())
    assert card["verdict"] == "WARN"
    assert [f["rule_id"] for f in card["findings"]] == ["brand-005"]


def test_fail_on_a_critical_finding_the_caller_heard() -> None:
    turns = [turn("agent", "Hi. Your card 4111 1111 1111 1111 is on file.", 0, 4)]
    card = scan(turns, [builtin_packs()["pii"]])
    assert card["verdict"] == "FAIL" and "pii-001" in card["verdict_reason"]
    (f,) = card["findings"]
    assert f["action_taken"] == "flag" and f["matched"] == "************1111" and f["status"] == "violated"
    assert "4111 1111" not in json.dumps(card)


def test_fail_on_an_unmet_high_requirement() -> None:
    card = scan([turn("agent", "Your visit is on Tuesday.", 0, 12)], [NOTICE])
    assert card["verdict"] == "FAIL"
    (f,) = card["findings"]
    assert (f["status"], f["at_t"], f["turn"]) == ("unmet", None, None)
    assert f["reason"].endswith("Not said within 10 s of the call's start.")


def test_prevented_findings_only_warn() -> None:
    inline = {
        "findings": [
            {
                "rule_id": "pii-001",
                "pack_id": "pii",
                "severity": "critical",
                "action_taken": "modify",
                "at_t": 1.0,
                "turn": None,
            },
            {"rule_id": "brand-006", "pack_id": "brand_voice", "severity": "low", "action_taken": "flag"},
        ],
        "redactions": [{"kind": "credit_card", "masked": "************1111"}],
        "health": {"checks": 3},
        "modified_turns": 1,
    }
    card = scan(
        [turn("agent", "Hi, card [redacted card number] is on file.", 0, 4)], [builtin_packs()["pii"]], inline=inline
    )
    assert card["verdict"] == "WARN"
    assert [(f["rule_id"], f["source"]) for f in card["findings"]] == [("pii-001", "inline")]
    assert card["redactions"] and card["gate"] == {"checks": 3} and card["counts"]["modified_turns"] == 1


@pytest.mark.parametrize(
    ("turns", "outcome"),
    [
        ([turn("agent", "Hi, this call is recorded.", 4, 6)], "satisfied"),
        ([turn("agent", "Hi there.", 0, 2), turn("agent", "This call is recorded.", 15, 17)], "late"),
        ([turn("agent", "Hi there.", 0, 2), turn("caller", "Hello.", 3, 30)], "unmet"),
        ([turn("agent", "Hi there.", 0, 2), turn("caller", "Bye.", 3, 8)], "not_due"),
        ([turn("caller", "Hello?", 0, 30)], "not_due"),
    ],
)
def test_seconds_window(turns: list, outcome: str) -> None:
    card = scan(turns, [NOTICE])
    got = "satisfied" if card["satisfied"] else "not_due" if card["not_due"] else card["findings"][0]["status"]
    assert got == outcome


def test_turn_window_counts_the_speakers_turns() -> None:
    pack = compile_pack(
        {
            **NOTICE,
            "rules": [{**NOTICE["rules"][0], "window": {"within_turns": 2}}],
        }
    )
    said_second = [
        turn("agent", "Hi.", 0, 1),
        turn("caller", "Hi.", 1, 2),
        turn("caller", "Still there?", 2, 3),
        turn("agent", "Yes, this call is recorded.", 30, 33),
    ]
    assert scan(said_second, [pack])["satisfied"][0]["speaker_turn"] == 1
    said_third = [*said_second[:3], turn("agent", "One moment.", 4, 5), said_second[3]]
    assert scan(said_third, [pack])["findings"][0]["status"] == "late"


def test_match_time_is_interpolated_within_the_turn() -> None:
    text = "Hello and welcome, please note that this call is recorded."
    card = scan([turn("agent", text, 2, 12)], [NOTICE])
    (met,) = card["satisfied"]
    expected = 2 + 10 * text.index("this call") / len(text)
    assert met["at_t"] == pytest.approx(expected, abs=0.002)
    assert met["turn"] == 0


def test_scorecard_is_deterministic_json() -> None:
    turns = [
        turn("agent", "Hi, this is Ava from Acme. Damn, sorry.", 0, 5),
        turn("caller", "Stop calling me. My card is 4242 4242 4242 4242.", 5, 9),
        turn("agent", "I guarantee you'll love it.", 9, 12),
    ]
    guardrails = {"mode": "warn", "blocked_phrases": ["love it"], "mandatory_disclosures": [{"text": "I am an AI"}]}
    packs = list(builtin_packs().values())
    a = json.dumps(scan(turns, packs, guardrails), sort_keys=True)
    b = json.dumps(scan([dict(t) for t in turns], list(packs), dict(guardrails)), sort_keys=True)
    assert a == b
    card = json.loads(a)
    assert card["verdict"] == "FAIL"
    assert "guardrails@g-" in card["packs_enforced"][-1]
    ats = [f["at_t"] for f in card["findings"] if f["at_t"] is not None]
    assert ats == sorted(ats)
    assert "4242 4242" not in a
    assert card["counts"]["findings"] == len(card["findings"]) == sum(card["counts"]["by_severity"].values())
    assert card["call"] == {"turns": 3, "agent_turns": 2, "caller_turns": 1, "duration_s": 12.0}


def test_a_pack_given_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        scan([], [builtin_packs()["pii"], builtin_packs()["pii"]])


def test_specs_are_compiled_on_the_way_in() -> None:
    card = scan([turn("agent", "This call is recorded.", 0, 2)], [NOTICE])
    assert card["packs_enforced"] == ["notice@1"] and card["verdict"] == "PASS"
