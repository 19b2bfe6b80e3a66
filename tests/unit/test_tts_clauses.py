"""Where a neural voice's first inference ends: a short lead clause, cut where a speaker pauses."""

from __future__ import annotations

import pytest

from pyai.engines.tts.clauses import MAX_LEAD, lead_clause


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Can I have your account number, please?", None),  # short, its pause too late: made whole
        ("Would you like me to transfer you?", None),  # short, no pause: made whole
        ("Thank you for calling, your order has shipped.", "Thank you for calling,"),  # short: cut at its pause
        ("I'm sorry, I didn't catch that, could you say it again for me?", "I'm sorry,"),
        ("Please hold while I transfer you to a specialist now.", "Please hold"),
        (
            "Your order shipped on March fourteenth and should arrive within three days.",
            "Your order shipped on March fourteenth",
        ),
        # no pause or conjunction early in a long sentence: cut, but never inside a number
        (
            "The total comes to one thousand two hundred thirty-four dollars and fifty cents today.",
            "The total comes",
        ),
    ],
)
def test_lead_clause(sentence: str, lead: str | None) -> None:
    parts = lead_clause(sentence)
    assert parts == [sentence] if lead is None else parts[0] == lead
    assert len(parts[0].split()) <= MAX_LEAD or lead is None
    assert " ".join(parts) == sentence  # nothing lost or reordered
