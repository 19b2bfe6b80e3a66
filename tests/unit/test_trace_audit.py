"""The scorecards' hash chain: any change to a record is caught, and the first bad record named."""

from __future__ import annotations

import copy
import hashlib

from pyai.trace.audit import GENESIS, canonical_json, link, verify


def chain(n: int = 5) -> list[tuple[str, dict, str]]:
    out, previous = [], None
    for i in range(n):
        card = {"verdict": "PASS" if i % 2 else "WARN", "findings": [{"rule_id": f"r-{i}", "at_t": i * 1.5}], "n": i}
        previous = link(previous, card)
        out.append((f"call_{i}", card, previous))
    return out


def test_link_is_sha256_of_previous_and_canonical_json() -> None:
    card = {"b": [1, 2.5, "é"], "a": {"y": None, "x": True}}
    assert canonical_json(card) == '{"a":{"x":true,"y":null},"b":[1,2.5,"é"]}'.encode()
    expected = hashlib.sha256(("f" * 64 + "\n").encode() + canonical_json(card)).hexdigest()
    assert link("f" * 64, card) == expected
    assert link(None, card) == link(GENESIS, card)
    assert link(None, {"a": 1, "b": 2}) == link(None, {"b": 2, "a": 1})


def test_an_untouched_chain_verifies() -> None:
    assert verify(chain()) is None
    assert verify([]) is None


def test_tampering_a_middle_record_is_named() -> None:
    records = chain()
    rid, card, stored = records[2]
    altered = copy.deepcopy(card)
    altered["verdict"] = "PASS" if card["verdict"] != "PASS" else "FAIL"
    records[2] = (rid, altered, stored)
    assert verify(records) == "call_2"


def test_rewriting_a_records_hash_breaks_the_next_link() -> None:
    records = chain()
    rid, card, _ = records[2]
    card = {**card, "findings": []}
    records[2] = (rid, card, link(records[1][2], card))  # forger recomputes this link only
    assert verify(records) == "call_3"


def test_removed_and_reordered_records_are_caught() -> None:
    records = chain()
    assert verify(records[:2] + records[3:]) == "call_3"
    assert verify([records[1], records[0], *records[2:]]) == "call_1"


def test_a_record_that_is_no_longer_json_is_named() -> None:
    records = chain()
    rid, card, stored = records[1]
    records[1] = (rid, {**card, "n": float("nan")}, stored)
    assert verify(records) == "call_1"
