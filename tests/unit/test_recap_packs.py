"""Recap packs: the built-in ones, their outcomes and fields, and the error for an unknown id."""

from __future__ import annotations

import json

import pytest

from pyai.recap.packs import DEFAULT_PACK_ID, PACKS, UnknownPackError, get_pack
from pyai.recap.readers import READERS


def test_the_built_in_packs() -> None:
    assert list(PACKS) == ["sales_outbound", "support_inbound", "appointment"]
    assert get_pack(None).id == DEFAULT_PACK_ID == "sales_outbound"
    assert get_pack("sales_outbound").outcome_values == [
        "meeting_booked",
        "callback_requested",
        "not_interested",
        "interested",
        "no_decision",
    ]
    assert [f.name for f in get_pack("sales_outbound").fields][:4] == [
        "budget",
        "timeline",
        "decision_maker",
        "next_meeting",
    ]
    assert get_pack("sales_outbound").default_field_map() == {
        "summary": "Description",
        "next_steps": "NextStep",
        "budget": "Amount",
    }
    assert get_pack("support_inbound").default_field_map()["priority"] == "Priority"


@pytest.mark.parametrize("pack", list(PACKS.values()), ids=list(PACKS))
def test_every_pack_is_consistent(pack) -> None:  # noqa: ANN001
    values = pack.outcome_values
    assert pack.default_outcome in values and len(set(values)) == len(values)
    for outcome in pack.outcomes:
        assert outcome.implied_by <= set(values)
        assert outcome.speaker in ("caller", "agent")
    for field in pack.fields:
        assert field.read in READERS
        assert "null" in field.schema["type"]  # "not said" is a value the LLM may give
    json.dumps(pack.describe())  # the listing is JSON


def test_an_unknown_pack_names_the_known_ones() -> None:
    with pytest.raises(UnknownPackError) as e:
        get_pack("collections")
    assert e.value.pack_id == "collections"
    assert str(e.value) == "unknown recap pack 'collections'; known packs: sales_outbound, support_inbound, appointment"
    assert isinstance(e.value, ValueError)
    with pytest.raises(UnknownPackError):
        get_pack(42)  # type: ignore[arg-type]
