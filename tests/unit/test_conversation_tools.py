"""Tools in the conversation engine, sans I/O: a round of calls answered and remembered in the
chat-completions shape, a slow tool filled with one short sentence once the agent is silent,
engine tools acting on the call (end_call after the goodbye, transfer, keypad tones, hold
audio, collect by keys or by voice), an unknown tool, and a caller who speaks while a tool runs."""

from __future__ import annotations

import json

import numpy as np

from pyai.hear.streaming import Output as HeardOutput
from pyai.omni.conversation import (
    FILLER,
    MAX_TOOL_ROUNDS,
    Cancel,
    Conversation,
    ConversationOptions,
    Hangup,
    OfferedTool,
    RunTool,
    Synthesize,
    Think,
    spoken_digits,
)
from pyai.omni.steps import CallTool
from pyai.omni.tones import dtmf

RATE = 16000
FRAME = RATE // 50
LOOKUP = OfferedTool("order_status", "server", "Look up an order.", timeout_ms=3000)
APP = OfferedTool("open_ticket", "client", "Open a ticket in the app.", timeout_ms=2000)
END = OfferedTool("end_call", "engine", "Hang up.", config={"farewell": "Bye now!"})
TRANSFER = OfferedTool("transfer_to_human", "engine", "A person.", config={"human_number": "+14155550123"})
DTMF = OfferedTool("send_dtmf", "engine", "Press keys.")
HOLD = OfferedTool("play_hold", "engine", "Hold.", config={"max_hold_seconds": 3})
COLLECT = OfferedTool("collect", "engine", "Keys.", timeout_ms=15000)


def kinds(out) -> list[str]:  # noqa: ANN001 - Output
    return [e["type"] for e in out.events]


def conversation(*tools: OfferedTool) -> Conversation:
    conv = Conversation(ConversationOptions(rate=RATE, greeting=None, tools=list(tools)))
    conv.start()
    return conv


def caller_says(conv: Conversation, text: str):  # noqa: ANN201 - Output
    return conv.heard(HeardOutput(events=[{"type": "final", "utterance_id": "utt_x", "text": text}]))


def think_of(out) -> Think:  # noqa: ANN001
    (think,) = [w for w in out.work if isinstance(w, Think)]
    return think


def play(conv: Conversation, turn_id: str, seq: int, seconds: float) -> int:
    """Make ``seconds`` of audio for a sentence and pull everything queued; samples pulled."""
    conv.on_audio(turn_id, seq, np.full(int(seconds * RATE), 0.1, dtype=np.float32))
    conv.on_audio_done(turn_id, seq)
    return drain(conv)


def drain(conv: Conversation, seconds: float = 30) -> int:
    got = 0
    for _ in range(int(seconds * 50)):
        audio, _ = conv.pull(FRAME)
        got += len(audio)
    return got


def test_the_brain_is_offered_the_tools_and_a_round_is_remembered_then_asked_again() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "Where is order 42?"))
    assert think.tools == [LOOKUP.spec()]
    out = conv.on_sentence(think.turn_id, "Let me check.")
    out += conv.on_tool_call(think.turn_id, CallTool("call_1", "order_status", {"order": "42"}))
    assert kinds(out) == ["agent.text", "tool_call"]
    run = out.work[-1]
    assert isinstance(run, RunTool) and run.tool is LOOKUP and run.arguments == {"order": "42"}
    assert out.events[-1]["kind"] == "server"
    assert conv.on_thought(think.turn_id).work == []  # waiting for the tool
    out = conv.on_tool_result("call_1", "ok", {"status": "shipped"})
    assert kinds(out) == ["tool_result"] and out.events[0]["result"] == {"status": "shipped"}
    again = think_of(out)
    assert again.turn_id == think.turn_id
    assistant, tool = again.messages[-2:]
    assert assistant["content"] == "Let me check."
    assert assistant["tool_calls"][0]["function"] == {"name": "order_status", "arguments": '{"order": "42"}'}
    assert tool == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": json.dumps({"status": "ok", "result": {"status": "shipped"}}),
    }
    conv.on_sentence(think.turn_id, "It has shipped.")
    conv.on_thought(think.turn_id)
    play(conv, think.turn_id, 0, 0.5)
    play(conv, think.turn_id, 1, 0.5)
    assert conv.turn is None
    assert conv.messages[-1] == {"role": "assistant", "content": "It has shipped."}  # not "Let me check." twice


def test_a_tool_that_answers_before_the_brain_is_done_waits_for_it() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "Where is my order?"))
    conv.on_tool_call(think.turn_id, CallTool("call_1", "order_status", {}))
    assert not [w for w in conv.on_tool_result("call_1", "error", error="HTTP 500").work if isinstance(w, Think)]
    again = think_of(conv.on_thought(think.turn_id))
    assert json.loads(again.messages[-1]["content"]) == {"status": "error", "error": "HTTP 500"}


def test_a_slow_tool_gets_one_filler_once_the_agent_is_silent() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "Where is my order?"))
    conv.on_sentence(think.turn_id, "Let me look that up.")
    conv.on_tool_call(think.turn_id, CallTool("call_1", "order_status", {}))
    conv.on_thought(think.turn_id)
    assert conv.on_tool_slow("call_1").events == []  # the first sentence is not even made yet
    play(conv, think.turn_id, 0, 0.5)
    out = conv.on_tool_slow("call_1")
    assert kinds(out) == ["agent.text"] and out.events[0]["text"] == FILLER
    assert out.work == [Synthesize(think.turn_id, 1, FILLER)]
    play(conv, think.turn_id, 1, 0.3)
    assert conv.on_tool_slow("call_1").events == []  # once only
    out = conv.on_tool_result("call_1", "timeout", error="no answer within timeout_ms (3000 ms)")
    assert think_of(out).messages[-2]["content"] == f"Let me look that up. {FILLER}"


def test_a_client_tool_call_is_for_the_app_and_its_result_is_not_echoed() -> None:
    conv = conversation(APP)
    think = think_of(caller_says(conv, "Open a ticket please"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_9", "open_ticket", {"subject": "x"}))
    assert out.events[0]["kind"] == "client" and isinstance(out.work[0], RunTool)
    assert conv.pending_tool("call_9") is APP
    conv.on_thought(think.turn_id)
    out = conv.on_tool_result("call_9", "ok", {"ticket": 7}, from_app=True)
    assert kinds(out) == [] and think_of(out).turn_id == think.turn_id
    assert conv.pending_tool("call_9") is None


def test_an_unknown_tool_is_answered_with_an_error_for_the_brain() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "hi"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_1", "launch_rocket", {}))
    assert kinds(out) == ["tool_call", "tool_result"] and out.events[0]["kind"] == "unknown"
    again = think_of(conv.on_thought(think.turn_id))
    assert "no tool named 'launch_rocket'" in again.messages[-1]["content"]


def test_rounds_are_capped_and_the_last_round_is_offered_no_tools() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "Where is my order?"))
    for i in range(MAX_TOOL_ROUNDS):
        assert think.tools == ([LOOKUP.spec()] if i < MAX_TOOL_ROUNDS else [])
        conv.on_tool_call(think.turn_id, CallTool(f"call_{i}", "order_status", {}))
        conv.on_thought(think.turn_id)
        think = think_of(conv.on_tool_result(f"call_{i}", "ok", {}))
    assert think.tools == []


def test_end_call_says_its_farewell_and_hangs_up_after_it_has_played() -> None:
    conv = conversation(END)
    think = think_of(caller_says(conv, "That's all"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_1", "end_call", {"reason": "done"}))
    assert kinds(out) == ["tool_call", "agent.text", "tool_result"]
    assert out.events[1]["text"] == "Bye now!"
    out = conv.on_thought(think.turn_id)
    assert not [w for w in out.work if isinstance(w, Think)]  # no more thinking after end_call
    conv.on_audio(think.turn_id, 0, np.full(RATE, 0.1, dtype=np.float32))
    assert not conv.on_audio_done(think.turn_id, 0).work
    work: list = []
    for _ in range(60):
        work += conv.pull(FRAME)[1].work
    assert work == [Hangup("agent_end_call")]


def test_transfer_announces_tells_the_client_and_ends_with_reason_transfer() -> None:
    conv = conversation(TRANSFER)
    think = think_of(caller_says(conv, "A person please"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_1", "transfer_to_human", {"reason": "asked"}))
    transfer = next(e for e in out.events if e["type"] == "transfer")
    assert transfer["to"] == "+14155550123" and transfer["reason"] == "asked"
    conv.on_thought(think.turn_id)
    play(conv, think.turn_id, 0, 0.5)
    assert conv.ended


def test_send_dtmf_plays_keypad_tones_in_the_agents_audio() -> None:
    conv = conversation(DTMF)
    think = think_of(caller_says(conv, "press one two"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_1", "send_dtmf", {"digits": "12"}))
    assert out.events[-1]["status"] == "ok"
    audio = np.concatenate([conv.pull(FRAME)[0] for _ in range(20)])
    tones = dtmf("12", RATE)
    assert len(tones) and np.allclose(audio[: len(tones)], tones)
    bad = think_of(conv.on_thought(think.turn_id))
    out = conv.on_tool_call(bad.turn_id, CallTool("call_2", "send_dtmf", {"digits": "9x"}))
    assert out.events[-1]["status"] == "error"


def test_play_hold_says_its_message_then_plays_hold_audio_capped_by_the_setting() -> None:
    conv = conversation(HOLD)
    think = think_of(caller_says(conv, "hold on"))
    out = conv.on_tool_call(think.turn_id, CallTool("call_1", "play_hold", {"seconds": 60}))
    assert out.events[1]["text"] == "Please hold." and out.events[-1]["result"] == {"held_seconds": 3}
    conv.on_audio(think.turn_id, 0, np.full(RATE // 2, 0.1, dtype=np.float32))
    conv.on_audio_done(think.turn_id, 0)
    assert drain(conv, 10) == RATE // 2 + 3 * RATE


def test_collect_by_keypad_ends_at_the_terminator() -> None:
    conv = conversation(COLLECT)
    think = think_of(caller_says(conv, "I want to pay"))
    out = conv.on_tool_call(think.turn_id, CallTool("c1", "collect", {"prompt": "Enter your account number."}))
    assert out.events[1]["text"] == "Enter your account number."
    assert isinstance(out.work[-1], RunTool) and out.work[-1].timeout_ms == 15000
    conv.on_thought(think.turn_id)
    play(conv, think.turn_id, 0, 0.5)
    assert conv.turn is not None  # the turn waits for the keys
    assert kinds(conv.on_dtmf("12")) == ["caller.dtmf"]
    out = conv.on_dtmf("3#9")
    assert out.events[-1]["result"] == {"digits": "123", "complete": True}
    assert json.loads(think_of(out).messages[-1]["content"])["result"]["digits"] == "123"


def test_collect_by_voice_over_the_prompt_still_answers_the_tool() -> None:
    conv = conversation(COLLECT)
    think = think_of(caller_says(conv, "I want to pay"))
    conv.on_tool_call(think.turn_id, CallTool("c1", "collect", {"prompt": "Enter your PIN.", "digits": 4}))
    conv.on_thought(think.turn_id)
    conv.on_audio(think.turn_id, 0, np.full(RATE, 0.1, dtype=np.float32))
    conv.pull(FRAME)
    conv.paused_at_ms = 0  # caller speech over the prompt...
    out = caller_says(conv, "one two three four")  # ...that says the digits
    assert "interruption" in kinds(out)
    result = next(e for e in out.events if e["type"] == "tool_result")
    assert result["result"]["digits"] == "1234"
    again = think_of(out)
    assert [m["role"] for m in again.messages[-2:]] == ["assistant", "tool"]


def test_collect_timeout_with_some_keys_returns_them_as_incomplete() -> None:
    conv = conversation(COLLECT)
    think = think_of(caller_says(conv, "pay"))
    conv.on_tool_call(think.turn_id, CallTool("c1", "collect", {"prompt": "Enter it."}))
    conv.on_dtmf("55")
    out = conv.on_tool_result("c1", "timeout", error="late")
    assert out.events[-1]["result"] == {"digits": "55", "complete": False}


def test_the_caller_speaking_while_a_tool_runs_cancels_the_round_and_remembers_it() -> None:
    conv = conversation(LOOKUP)
    think = think_of(caller_says(conv, "Where is my order?"))
    conv.on_tool_call(think.turn_id, CallTool("call_1", "order_status", {}))
    conv.on_thought(think.turn_id)
    out = caller_says(conv, "Actually, never mind, what are your hours?")
    assert Cancel(think.turn_id) in out.work
    nxt = think_of(out)
    assistant, tool, user = nxt.messages[-3:]
    assert assistant["tool_calls"][0]["id"] == "call_1" and json.loads(tool["content"])["status"] == "cancelled"
    assert user["role"] == "user"
    assert conv.on_tool_result("call_1", "ok", {}).events == []  # a late answer changes nothing


def test_spoken_digits_only_when_the_words_are_digits() -> None:
    assert spoken_digits("one two three oh") == "1230"
    assert spoken_digits("It's 4 5 6.") == "456"
    assert spoken_digits("I have two cats") == ""
