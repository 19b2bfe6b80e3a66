"""The conversation engine, sans I/O: greeting, turns, sentence order, barge-in (pause at once,
resume after a backchannel, interrupt otherwise, remember only what was heard) and hanging up
after the goodbye has played. The listener is the real Hear session (real VAD on human speech);
transcripts, the brain and TTS are scripted."""

from __future__ import annotations

import numpy as np

from pyai.audio.pcm import float_to_pcm16
from pyai.hear.streaming import Output as HeardOutput
from pyai.omni.conversation import Cancel, Conversation, ConversationOptions, Hangup, Synthesize, Think
from tests.speech_samples import ARCTIC
from tests.vad_audio import load, noises

RATE = 16000
FRAME = RATE // 50


def human_speech() -> np.ndarray:
    """CMU ARCTIC a0007 from its first word (the recording opens with 0.4 s of silence)."""
    return load(ARCTIC)[int(0.4 * RATE) :]


def kinds(out) -> list[str]:  # noqa: ANN001 - Output
    return [e["type"] for e in out.events]


def speak_sentence(conv: Conversation, turn_id: str, seq: int, seconds: float) -> None:
    """The TTS made ``seconds`` of audio for one sentence."""
    conv.on_audio(turn_id, seq, np.full(int(seconds * RATE), 0.1, dtype=np.float32))
    conv.on_audio_done(turn_id, seq)


def pull_all(conv: Conversation, seconds: float, work: list | None = None) -> tuple[int, list[str]]:
    """Drain up to ``seconds`` of agent audio in 20 ms pulls; (samples pulled, event kinds), and
    the work it caused appended to ``work``."""
    got, events = 0, []
    for _ in range(int(seconds * 50)):
        audio, out = conv.pull(FRAME)
        got += len(audio)
        events += kinds(out)
        if work is not None:
            work += out.work
    return got, events


def caller_says(conv: Conversation, text: str) -> object:
    return conv.heard(HeardOutput(events=[{"type": "final", "utterance_id": "utt_x", "text": text}]))


def feed(conv: Conversation, samples: np.ndarray) -> list[str]:
    events: list[str] = []
    for i in range(0, len(samples) - FRAME + 1, FRAME):
        events += kinds(conv.feed_caller(float_to_pcm16(samples[i : i + FRAME]).tobytes()))
    return events


def greeted() -> Conversation:
    conv = Conversation(ConversationOptions(rate=RATE, greeting="Hello, thanks for calling, how can I help you today?"))
    out = conv.start()
    assert kinds(out) == ["session.ready", "agent.text"]
    assert out.work == [Synthesize("turn_1", 0, "Hello, thanks for calling, how can I help you today?")]
    return conv


def test_greeting_plays_then_the_callers_turn_goes_to_the_brain_with_the_history() -> None:
    conv = greeted()
    speak_sentence(conv, "turn_1", 0, 1.0)
    got, events = pull_all(conv, 1.5)
    assert got == RATE and events == ["agent.audio_start", "agent.audio_end", "agent.turn_end"]
    out = caller_says(conv, "I need to change my address.")
    assert kinds(out) == ["caller.final"]
    (think,) = out.work
    assert isinstance(think, Think) and think.turn_id == "turn_2"
    assert [m["role"] for m in think.messages] == ["system", "assistant", "user"]
    assert think.messages[1]["content"] == "Hello, thanks for calling, how can I help you today?"


def test_sentences_play_in_order_even_when_made_out_of_order() -> None:
    conv = Conversation(ConversationOptions(rate=RATE))
    conv.start()
    caller_says(conv, "What are your hours?")
    assert [type(w) for w in conv.on_sentence("turn_1", "We open at nine.").work] == [Synthesize]
    conv.on_sentence("turn_1", "We close at five.")
    conv.on_thought("turn_1")
    speak_sentence(conv, "turn_1", 1, 0.5)  # the second sentence is ready first: it must wait
    assert pull_all(conv, 0.5)[0] == 0
    speak_sentence(conv, "turn_1", 0, 0.5)
    got, events = pull_all(conv, 1.5)
    assert got == RATE and events == ["agent.audio_start", "agent.audio_end", "agent.turn_end"]
    assert conv.messages[-1] == {"role": "assistant", "content": "We open at nine. We close at five."}


def test_caller_speech_pauses_the_agent_then_interrupts_it_keeping_only_what_was_heard() -> None:
    conv = greeted()
    speak_sentence(conv, "turn_1", 0, 4.0)
    assert pull_all(conv, 1.0)[0] == RATE  # a quarter of the greeting has played
    speech = human_speech()
    events = feed(conv, speech[: int(0.2 * RATE)])
    assert "caller.speech_started" in events  # within 200 ms of the first word
    assert pull_all(conv, 0.2)[0] == 0  # held at once, while we learn whether it is a backchannel
    events = feed(conv, speech[int(0.2 * RATE) : int(1.4 * RATE)])
    assert "interruption" in events  # too long for a backchannel
    assert conv.turn is None and pull_all(conv, 0.5)[0] == 0  # the rest of the greeting is dropped
    heard = conv.messages[-1]
    assert heard["role"] == "assistant" and heard["content"] == "Hello, thanks"  # 1 s of 4 s: 2 of 7 words


def test_a_backchannel_resumes_the_agent_where_it_paused() -> None:
    conv = greeted()
    speak_sentence(conv, "turn_1", 0, 2.0)
    pull_all(conv, 0.5)
    speech = human_speech()
    assert "caller.speech_started" in feed(conv, speech[: int(0.3 * RATE)])
    assert pull_all(conv, 0.2)[0] == 0
    out = caller_says(conv, "Mm-hm.")
    assert kinds(out) == ["caller.final"] and not out.work  # no interruption, no new turn
    got, events = pull_all(conv, 2.0)
    assert got == int(1.5 * RATE) and events == ["agent.audio_end", "agent.turn_end"]


def test_with_ack_mode_off_a_backchannel_interrupts() -> None:
    conv = Conversation(ConversationOptions(rate=RATE, greeting="Hello there.", ack_mode="off"))
    conv.start()
    speak_sentence(conv, "turn_1", 0, 2.0)
    pull_all(conv, 0.5)
    feed(conv, human_speech()[: int(0.3 * RATE)])
    out = caller_says(conv, "Okay.")
    assert "interruption" in kinds(out) and any(isinstance(w, Think) for w in out.work)


def test_words_while_the_agent_is_still_thinking_supersede_its_turn() -> None:
    conv = Conversation(ConversationOptions(rate=RATE))
    conv.start()
    caller_says(conv, "My order number is")
    out = caller_says(conv, "four five six.")
    assert Cancel("turn_1") in out.work
    think = next(w for w in out.work if isinstance(w, Think))
    assert [m["content"] for m in think.messages if m["role"] == "user"] == ["My order number is", "four five six."]


def test_end_call_hangs_up_only_after_the_goodbye_has_played() -> None:
    conv = Conversation(ConversationOptions(rate=RATE))
    conv.start()
    caller_says(conv, "That's all, bye.")
    conv.on_sentence("turn_1", "Thanks for calling, goodbye!")
    assert not conv.on_thought("turn_1", end_call=True).work
    speak_sentence(conv, "turn_1", 0, 1.0)
    got, events = pull_all(conv, 0.5)
    assert "call.ended" not in events
    work: list = []
    got, events = pull_all(conv, 1.0, work)
    assert events == ["agent.audio_end", "agent.turn_end", "call.ended"] and conv.ended
    assert work == [Hangup("agent_end_call")]


def test_a_sentence_cut_while_still_being_made_is_remembered_by_the_time_it_played() -> None:
    """All the audio made so far has played (the TTS is behind): the words heard are estimated
    from the time played, never the whole sentence."""
    conv = greeted()
    conv.on_audio("turn_1", 0, np.full(RATE, 0.1, dtype=np.float32))  # 1 s made, more to come
    assert pull_all(conv, 1.5)[0] == RATE
    speech = human_speech()
    feed(conv, speech[: int(1.4 * RATE)])
    assert conv.messages[-1] == {"role": "assistant", "content": "Hello, thanks for"}  # 1 s at 3 words/s


def test_steady_noise_over_the_agent_neither_pauses_nor_interrupts_it() -> None:
    """Line hiss, a fan, music on hold: the caller's side is noisy while the agent talks."""
    for name, noise in noises(seconds=2.0).items():
        conv = greeted()
        speak_sentence(conv, "turn_1", 0, 1.5)
        events: list[str] = []
        for i in range(0, len(noise) - FRAME + 1, FRAME):
            events += kinds(conv.pull(FRAME)[1])
            events += kinds(conv.feed_caller(float_to_pcm16(noise[i : i + FRAME]).tobytes()))
        assert "caller.speech_started" not in events and "interruption" not in events, name
        assert "agent.audio_end" in events, name
