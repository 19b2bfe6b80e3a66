"""The call recorder without a server: how the stereo recording places audio on the session clock,
how events become turns as heard, and the embedded summary's rules."""

from __future__ import annotations

import time
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from pyai.omni.call_record import CallRecorder, _Track, _write_wav
from pyai.omni.call_summary import summarize

RATE = 16000


def tone(n: int, value: int) -> bytes:
    return np.full(n, value, dtype="<i2").tobytes()


def test_chunks_follow_on_within_the_jitter_allowance_and_leave_a_gap_beyond_it(tmp_path: Path) -> None:
    track = _Track(tmp_path / "t.pcm", RATE)
    track.place(tone(320, 1), 0)
    track.place(tone(320, 2), 320 + RATE // 20)  # 50 ms late: jitter, follows on
    assert track.end == 640
    track.place(tone(320, 3), 100)  # early (a burst): after the previous chunk
    assert track.end == 960
    track.place(tone(320, 4), 960 + RATE // 2)  # 500 ms later: a real pause
    assert track.end == 960 + RATE // 2 + 320
    track.close()
    data = np.frombuffer((tmp_path / "t.pcm").read_bytes(), dtype="<i2")
    assert list(data[[0, 320, 640, 960, 960 + RATE // 2]]) == [1, 2, 3, 0, 4]


def test_the_wav_is_stereo_caller_left_agent_right_padded_to_the_longer(tmp_path: Path) -> None:
    left, right = _Track(tmp_path / "l.pcm", RATE), _Track(tmp_path / "r.pcm", RATE)
    left.place(tone(RATE, 7), RATE * 2)
    right.place(tone(RATE * 25, -5), 0)  # longer than one 10 s block
    left.close()
    right.close()
    assert _write_wav(left, right, RATE, tmp_path / "out.wav") == RATE * 25
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, RATE, RATE * 25)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert set(frames[: RATE * 2, 0]) == {0} and set(frames[RATE * 2 : RATE * 3, 0]) == {7}
    assert set(frames[RATE * 3 :, 0]) == {0} and set(frames[:, 1]) == {-5}


def test_recording_places_audio_at_its_wall_clock_position(tmp_path: Path) -> None:
    services = SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path))
    rec = CallRecorder(
        services, "org_x", session_label=None, agent_id=None, rate=RATE, started=time.monotonic() - 2.0, recording=True
    )
    rec.on_agent_audio(tone(320, 9))  # sent now: starts at ~2 s
    rec.on_caller_audio(tone(320, 4))  # arrived now: ended at ~2 s
    assert rec._tracks is not None
    caller, agent = rec._tracks
    assert abs(agent.end - 320 - 2 * RATE) < RATE // 10 and abs(caller.end - 2 * RATE) < RATE // 10
    rec._discard_tracks()
    assert not list(tmp_path.joinpath("tmp").iterdir())


def test_a_caller_turn_is_timed_when_the_conversation_made_it_not_when_it_was_sent() -> None:
    """Caller audio is placed in the recording as it arrives; an event that waited behind other
    traffic to be sent must not move the caller's turn off that audio."""
    rec = CallRecorder(None, "org_x", session_label=None, agent_id=None, rate=RATE, started=time.monotonic() - 5.0)
    rec.on_event({"type": "caller.speech_started", "utterance_id": "u1"}, made_ms=2000)
    rec.on_event({"type": "caller.final", "utterance_id": "u1", "text": "Pay my bill."}, made_ms=3500)
    rec.on_event({"type": "caller.final", "utterance_id": "typed", "text": "Hello?"})  # sent at once: now
    turns, _ = rec._snapshot()
    assert [(t["start_ms"], t["end_ms"]) for t in turns[:1]] == [(2000, 3500)]
    assert turns[1]["start_ms"] == turns[1]["end_ms"] >= 5000


def test_events_become_turns_as_heard() -> None:
    rec = CallRecorder(None, "org_x", session_label="l", agent_id=None, rate=RATE, started=time.monotonic())
    for event in [
        {"type": "agent.text", "turn_id": "turn_1", "seq": 0, "text": "Hello."},
        {"type": "agent.text", "turn_id": "turn_1", "seq": 1, "text": "How can I help?"},
        {"type": "agent.audio_start", "turn_id": "turn_1"},
        {"type": "agent.audio_end", "turn_id": "turn_1", "audio_ms": 900},
        {"type": "caller.speech_started", "utterance_id": "u1"},
        {"type": "caller.final", "utterance_id": "u1", "text": " Where is my order? "},
        {"type": "agent.text", "turn_id": "turn_2", "seq": 0, "text": "Thought of, never voiced."},
        {"type": "caller.final", "utterance_id": "typed", "text": "Actually, cancel it."},
        {"type": "agent.text", "turn_id": "turn_3", "seq": 0, "text": "Okay, I will cancel your order now."},
        {"type": "agent.audio_start", "turn_id": "turn_3"},
        {"type": "tool_call", "call_id": "tc_1", "name": "cancel_order", "arguments": {"id": 1}, "kind": "server"},
        {"type": "tool_result", "call_id": "tc_1", "name": "cancel_order", "status": "ok", "result": {"x": 1}},
        {"type": "interruption", "turn_id": "turn_3", "played_ms": 400, "heard_text": "Okay, I will"},
        {"type": "call.ended", "reason": "caller_hangup"},
    ]:
        rec.stamp(event)
        rec.on_event(event)
    turns, tools = rec._snapshot()
    assert [(t["speaker"], t["text"], t["interrupted"]) for t in turns] == [
        ("agent", "Hello. How can I help?", False),
        ("caller", "Where is my order?", False),
        ("caller", "Actually, cancel it.", False),
        ("agent", "Okay, I will", True),
    ]
    assert all(t["start_ms"] <= t["end_ms"] for t in turns)
    assert tools == [
        {
            "tool_call_id": "tc_1",
            "name": "cancel_order",
            "kind": "server",
            "status": "ok",
            "latency_ms": tools[0]["latency_ms"],
            "at_ms": tools[0]["at_ms"],
        }
    ]
    assert rec.end_reason == "caller_hangup"
    ended = {"type": "call.ended", "reason": "caller_hangup"}
    rec.stamp(ended)
    assert ended["call_id"] == rec.call_id and ended["duration_ms"] == rec.ended_ms


def test_summary_picks_requests_and_answers_and_judges_goals_by_the_documented_rule() -> None:
    turns = [
        {"speaker": "agent", "text": "This call is recorded. Hello! How can I help you today?", "start_ms": 0},
        {"speaker": "caller", "text": "Hi. What time does the store open on Saturday?", "start_ms": 4000},
        {"speaker": "agent", "text": "On Saturday the store opens at ten and closes at four.", "start_ms": 6000},
        {"speaker": "caller", "text": "Great, thanks.", "start_ms": 9000},
    ]
    tools = [{"name": "book_appointment", "status": "ok", "latency_ms": 120}, {"name": "send_sms", "status": "error"}]
    goals = [
        "Tell the caller the Saturday opening hours",
        "Book an appointment",
        "Send the caller an SMS",
        "Sell a warranty",
    ]
    summary = summarize({"end_reason": "caller_hangup", "duration_ms": 12000}, turns, tools, goals)
    assert summary["caller_requests"] == ["What time does the store open on Saturday?"]
    assert summary["agent_answers"] == ["On Saturday the store opens at ten and closes at four."]
    assert "saturday" in summary["topics"]
    met = {g["goal"]: g["met"] for g in summary["goals"]}
    assert met == {goals[0]: True, goals[1]: True, goals[2]: False, goals[3]: False}
    assert summary["tool_outcomes"][1] == {
        "name": "send_sms",
        "calls": 1,
        "ok": 0,
        "error": 1,
        "timeout": 0,
        "unknown": 0,
        "mean_latency_ms": None,
    }
    assert "Saturday" in summary["text"] and summary["turns"] == {"caller": 2, "agent": 2, "interrupted": 0}
