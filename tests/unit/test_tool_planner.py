"""The embedded brain's tools, without a model: the tool the caller's words name (and none when
they only brush its description), arguments asked for one at a time, actions read back for a
yes, a "no" that drops the request, a caller who moves on, and what the agent says about the
tool's answer."""

from __future__ import annotations

import datetime
import json

from pyai.omni.steps import CallTool
from pyai.omni.tool_planner import ToolPlanner, result_sentence

BOOK = {
    "type": "function",
    "function": {
        "name": "book_table",
        "description": "Reserve a table for a party at a date and time.",
        "parameters": {
            "type": "object",
            "properties": {
                "party_size": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Number of guests"},
                "date": {"type": "string", "format": "date"},
                "time": {"type": "string", "format": "time"},
            },
            "required": ["party_size", "date", "time"],
        },
    },
}
STATUS = {
    "type": "function",
    "function": {
        "name": "order_status",
        "description": "Look up where an order is.",
        "parameters": {
            "type": "object",
            "properties": {"order_number": {"type": "string"}},
            "required": ["order_number"],
        },
    },
}
END = {"type": "function", "function": {"name": "end_call", "description": "Hang up.", "parameters": {}}}
TOOLS = [BOOK, STATUS, END]


def planner() -> ToolPlanner:
    return ToolPlanner({"book_table": "action", "order_status": "read"})


def test_a_read_tool_with_everything_said_is_called_at_once() -> None:
    step = planner().step("Where is order one two three four five?", TOOLS)
    assert isinstance(step, CallTool) and step.name == "order_status" and step.arguments == {"order_number": "12345"}


def test_missing_arguments_are_asked_for_then_the_action_is_read_back_and_done_on_yes() -> None:
    p = planner()
    assert p.step("I'd like to book a table for four people", TOOLS).lower().startswith("what date")
    asked = p.step("tomorrow", TOOLS)
    assert "time" in asked.lower()
    confirm = p.step("seven thirty pm", TOOLS)
    assert "book table" in confirm and "Shall I go ahead?" in confirm and "19:30" in confirm
    call = p.step("Yes please.", TOOLS)
    assert isinstance(call, CallTool) and call.name == "book_table"
    assert call.arguments["party_size"] == 4 and call.arguments["time"] == "19:30"
    assert call.arguments["date"] == str(datetime.date.today() + datetime.timedelta(days=1))
    assert p.plan is None


def test_a_change_during_the_read_back_is_read_back_again_and_no_drops_it() -> None:
    p = planner()
    p.step("Book a table for two tomorrow at 7:30 pm", TOOLS)
    again = p.step("Actually make it for five people", TOOLS)
    assert "party size 5" in again and "Shall I go ahead?" in again
    assert p.step("No, cancel that.", TOOLS).startswith("Okay, I won't")
    assert p.plan is None


def test_words_that_only_brush_a_description_choose_no_tool() -> None:
    assert planner().step("What time do you open?", TOOLS) is None  # "time" alone is not booking
    assert planner().step("Please end the call", TOOLS) is None  # call control is not planned here


def test_a_caller_who_moves_on_is_answered_instead() -> None:
    p = planner()
    p.step("I want to book a table", TOOLS)
    assert p.step("hmm what's on the menu", TOOLS) is not None  # asked once more
    assert p.step("do you have vegan food", TOOLS) is None  # gave up: the brain answers this
    assert p.plan is None


def test_what_the_agent_says_about_an_answer() -> None:
    ok = json.dumps({"status": "ok", "result": {"message": "Booked for 7:30."}})
    assert result_sentence("book_table", ok) == "Booked for 7:30."
    facts = json.dumps({"status": "ok", "result": {"status": "shipped", "eta": "Friday"}})
    assert result_sentence("order_status", facts) == "Done. status: shipped; eta: Friday."
    assert result_sentence("order_status", json.dumps({"status": "timeout", "error": "x"})).startswith("I'm sorry")
    assert result_sentence("order_status", json.dumps({"status": "cancelled", "error": "x"})) is None
