"""The embedded recap: outcome, extracted fields, action items and the rest, from realistic calls,
deterministically."""

from __future__ import annotations

import copy
import datetime

import pytest

from pyai.recap.builder import build_embedded_recap, build_recap, render
from pyai.recap.packs import UnknownPackError

CALL_DATE = datetime.date(2026, 11, 20)  # a Friday


def turns(*said: tuple[str, str]) -> list[dict]:
    """``(speaker, text)`` pairs as call-record turns, two seconds apart."""
    return [
        {"speaker": speaker, "text": text, "start_ms": i * 2000, "end_ms": i * 2000 + 1800, "interrupted": False}
        for i, (speaker, text) in enumerate(said)
    ]


MEETING_BOOKED = turns(
    ("agent", "Hi, this is Ava from Northwind Analytics. Is this Jordan?"),
    ("caller", "Yes, speaking."),
    ("agent", "I'm calling because you downloaded our guide on sales forecasting. Are you looking at tools right now?"),
    (
        "caller",
        "We are, actually. Our team is planning to roll out a new forecasting tool next quarter. "
        "Our budget is around fifty thousand dollars for the first year.",
    ),
    ("agent", "That's helpful. Who else would be involved in the decision?"),
    ("caller", "I'd need to run it by our CFO, but I lead the evaluation."),
    ("agent", "Understood. Would a thirty minute demo next week work for you and your CFO?"),
    ("caller", "Sure, Tuesday at 3 pm works for me."),
    (
        "agent",
        "Perfect. I've booked the demo for Tuesday, November 24th at 3 pm. "
        "I’ll send you a calendar invite and our pricing sheet today.",
    ),
    ("caller", "Sounds good. Can you also send me a case study from a company our size?"),
    ("agent", "Absolutely, I'll include one. Thanks Jordan, talk soon."),
)

NOT_INTERESTED = turns(
    ("agent", "Hi, this is Ava from Northwind Analytics. Do you have a minute to talk about sales forecasting?"),
    ("caller", "Honestly, we already use Salesforce forecasting and we're happy with it."),
    ("agent", "Many of our customers used it before switching. Can I send you a short comparison?"),
    ("caller", "No thank you, we're not interested. Please take us off your list."),
    ("agent", "Understood, I'll remove your number from our list. Have a good day."),
)

SUPPORT = turns(
    ("agent", "Thanks for calling Contoso support, this is Sam. How can I help?"),
    ("caller", "Hi, my name is Dana Whitfield. I was charged twice for my order this month and I'm pretty frustrated."),
    ("agent", "I'm sorry about that. Can I have your order number?"),
    ("caller", "Sure, order number 4 8 1 5 2 3."),
    (
        "agent",
        "Thank you. I see the duplicate charge. I can't refund it from here, so I've opened a ticket with our "
        "billing team and they will email you within two business days.",
    ),
    (
        "caller",
        "Okay. Please make it quick, it's urgent because it overdrew my account. You can reach me at 415 555 0134.",
    ),
    ("agent", "I've marked it urgent. Is there anything else?"),
    ("caller", "No, that's all, thanks."),
)

APPOINTMENT = turns(
    ("agent", "Elm Street Dental, this is Ava. How can I help?"),
    ("caller", "Hi, this is Maria Lopez. I'd like to book a cleaning appointment next week."),
    ("agent", "Sure. I have Thursday at 10:30 am or Friday at 2 pm."),
    ("caller", "Friday at 2 works."),
    ("agent", "You're booked for Friday, November 27th at 2 pm for a cleaning. See you then!"),
)

RECORD_KEYS = [
    "pack_id",
    "method",
    "model",
    "fallback_reason",
    "tldr",
    "summary",
    "outcome",
    "next_steps",
    "action_items",
    "extracted",
    "sentiment",
    "topics",
]


def recap(call: list[dict], pack: str = "sales_outbound", **kwargs: object) -> dict:
    return build_embedded_recap(call, pack, today=CALL_DATE, **kwargs)


def test_a_booked_meeting() -> None:
    r = recap(MEETING_BOOKED)
    assert list(r) == RECORD_KEYS
    assert (r["pack_id"], r["method"], r["model"], r["fallback_reason"]) == ("sales_outbound", "embedded", None, None)
    assert r["outcome"] == "meeting_booked"
    assert r["extracted"] == {
        "budget": 50000,
        "timeline": "next quarter",
        "decision_maker": "CFO",
        "next_meeting": "2026-11-24T15:00",  # the booking, not "today" of "I'll send the invite today"
        "callback_when": None,
        "objection": None,
    }
    assert r["action_items"] == [
        {"owner": "agent", "text": "Send the caller a calendar invite and our pricing sheet today"},
        {"owner": "agent", "text": "Send the caller a case study from a company our size"},  # a request granted
    ]
    assert r["tldr"] == "Meeting booked for 2026-11-24 at 15:00 (budget 50,000)."
    assert r["next_steps"] == [
        "Meeting on 2026-11-24 at 15:00",
        "Agent to send the caller a calendar invite and our pricing sheet today",
        "Agent to send the caller a case study from a company our size",
    ]
    assert r["sentiment"]["label"] == "positive" and r["sentiment"]["basis"] == "lexical"
    assert "forecasting" in r["topics"]
    assert r["summary"].startswith("The caller said: “Our team is planning to roll out a new forecasting tool")
    assert "Outcome: meeting booked" in r["summary"] and "budget 50,000" in r["summary"]


def test_not_interested() -> None:
    r = recap(NOT_INTERESTED)
    assert r["outcome"] == "not_interested"
    assert r["extracted"]["objection"] == "competitor"
    assert r["extracted"]["budget"] is None and r["extracted"]["next_meeting"] is None
    assert r["action_items"] == [{"owner": "agent", "text": "Remove the caller's number from our list"}]
    assert r["tldr"] == "Prospect not interested (objection: competitor)."
    assert r["next_steps"] == ["Agent to remove the caller's number from our list"]
    assert r["sentiment"]["label"] == "neutral"  # "happy with it" and "not interested" cancel out


def test_a_support_call() -> None:
    r = recap(SUPPORT, "support_inbound")
    assert r["outcome"] == "follow_up_required"
    assert r["extracted"] == {
        "issue_category": "billing",
        "order_number": "481523",
        "priority": "High",
        "callback_phone": "4155550134",
        "email": None,
    }
    assert r["action_items"] == [{"owner": "agent", "text": "Email the caller within two business days"}]
    assert r["tldr"] == "Billing issue needs a follow-up (ref 481523)."
    assert r["sentiment"]["label"] == "negative"


def test_an_appointment_booked_by_a_tool() -> None:
    r = recap(
        APPOINTMENT, "appointment", tool_outcomes=[{"name": "book_appointment", "status": "ok", "latency_ms": 80}]
    )
    assert r["outcome"] == "booked"
    assert r["extracted"] == {
        "appointment_date": "2026-11-27",
        "appointment_time": "14:00",
        "service": "cleaning",
        "caller_name": "Maria Lopez",
        "phone": None,
        "email": None,
    }
    assert r["tldr"] == "Appointment booked for 2026-11-27 at 14:00 (cleaning)."
    assert "Tool book_appointment ran 1 time (1 ok)." in r["summary"]


def test_a_cancellation_and_a_new_booking_is_a_reschedule() -> None:
    call = turns(
        ("caller", "I can't make Tuesday anymore, can we do Friday instead?"),
        ("agent", "No problem. I've cancelled your Tuesday appointment and booked you for Friday at 10 am."),
    )
    r = recap(call, "appointment")
    assert r["outcome"] == "rescheduled"
    assert (r["extracted"]["appointment_date"], r["extracted"]["appointment_time"]) == ("2026-11-27", "10:00")


def test_tools_decide_only_when_they_succeeded() -> None:
    call = turns(("caller", "Can I get a checkup next Monday?"), ("agent", "One moment please."))
    assert (
        recap(call, "appointment", tool_outcomes=[{"name": "book_appointment", "status": "ok"}])["outcome"] == "booked"
    )
    failed = [{"name": "book_appointment", "status": "error"}]
    assert recap(call, "appointment", tool_outcomes=failed)["outcome"] == "no_booking"


def test_the_last_word_decides_and_agent_questions_are_no_evidence() -> None:
    changed_mind = turns(
        ("caller", "To be honest I'm not interested right now."),
        ("agent", "Understood. Is there a better time?"),
        ("caller", "Actually, call me back in March, after our budget is set."),
    )
    r = recap(changed_mind)
    assert r["outcome"] == "callback_requested"
    assert r["extracted"]["callback_when"] == "in march"
    assert r["tldr"] == "Prospect asked for a callback in march."

    only_asked = turns(("agent", "Shall I book you for Tuesday at 3 pm?"), ("caller", "Let me think about it."))
    assert recap(only_asked)["outcome"] == "no_decision"


def test_negated_cues_do_not_count() -> None:
    call = turns(("caller", "I'm really not interested, and I wouldn't say it sounds good either."))
    r = recap(call)
    assert r["outcome"] == "not_interested"
    assert r["sentiment"]["label"] == "negative"


def test_chat_roles_and_empty_calls() -> None:
    chat = [{"role": "user", "text": "Send me some pricing info please."}, {"role": "assistant", "text": "Sure."}]
    r = recap(chat)
    assert r["outcome"] == "interested"
    assert r["action_items"] == []  # asked, but not with "can you…?"

    empty = recap([])
    assert empty["outcome"] == "no_decision" and empty["tldr"] == "No decision reached on the call."
    assert empty["summary"].startswith("The caller made no request.")
    assert empty["extracted"] == dict.fromkeys(empty["extracted"])


def test_the_embedded_recap_is_deterministic() -> None:
    call = copy.deepcopy(SUPPORT)
    assert recap(call, "support_inbound") == recap(SUPPORT, "support_inbound")
    assert call == SUPPORT  # the turns are not modified


async def test_build_recap_without_llm_is_the_embedded_one() -> None:
    assert await build_recap(MEETING_BOOKED, "sales_outbound", today=CALL_DATE) == recap(MEETING_BOOKED)
    with pytest.raises(UnknownPackError, match="default_pack_id|known packs: sales_outbound"):
        await build_recap(MEETING_BOOKED, "collections")


def test_templates_drop_parts_without_values() -> None:
    assert render("Meeting booked[ for {when}][ (budget {budget})].", {"budget": 1250.5}) == (
        "Meeting booked (budget 1,250.5)."
    )
    assert render("[{category} ]issue escalated.", {"category": None}) == "Issue escalated."


@pytest.mark.parametrize(
    ("caller_says", "field", "value"),
    [
        ("We want to switch tools by March. We can spend up to 40k on it.", "budget", 40000),
        ("We want to switch tools by March. We can spend up to 40k on it.", "timeline", "by march"),
        ("Budget-wise we have about $120,000 set aside, and 25 reps.", "budget", 120000),
        ("We have 25 reps and a lot of calls.", "budget", None),  # a count is no amount
        ("It's my decision, I sign off on these purchases.", "decision_maker", "caller"),
        ("I'm not the decision maker here.", "decision_maker", "someone else"),
        ("I'd have to check with my VP of sales first.", "decision_maker", "VP of sales"),
        ("Honestly it's too expensive for us.", "objection", "price"),
        ("Not right now, call me back next Tuesday afternoon.", "callback_when", "next tuesday afternoon"),
    ],
)
def test_sales_fields_from_common_phrasings(caller_says: str, field: str, value: object) -> None:
    assert recap(turns(("caller", caller_says)))["extracted"][field] == value
