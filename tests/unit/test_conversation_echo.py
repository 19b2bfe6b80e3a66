"""The conversation engine on a speakerphone, sans I/O, with the real VAD: the agent's own voice
coming back through the caller's microphone neither starts an utterance nor interrupts the
agent; a caller who talks over it (double talk) still barges in; a client that streams nothing
while the agent talks can still barge in; and speech under the barge-in floor over the agent is
not the caller's turn."""

from __future__ import annotations

import numpy as np

from pyai.audio.pcm import float_to_pcm16
from pyai.hear.streaming import Output as HeardOutput
from pyai.omni.conversation import Conversation, ConversationOptions
from tests.speech_samples import ARCTIC
from tests.vad_audio import flite, load

RATE = 16000
FRAME = RATE // 50
AGENT = (
    "Thanks for calling Acme. Our store is open from nine until six on weekdays, and from ten until four on Saturday."
)


def scaled(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * (10 ** (dbfs / 20) / np.sqrt(np.mean(x**2)))).astype(np.float32)


def agent_turn(barge_sensitivity: str = "normal") -> tuple[Conversation, int]:
    """A call whose agent is saying ``AGENT`` (its audio all made); (conversation, samples of it)."""
    conv = Conversation(ConversationOptions(rate=RATE, greeting=AGENT, barge_sensitivity=barge_sensitivity))
    conv.start()
    voice = scaled(flite(AGENT), -20)
    for i, sentence in enumerate(conv.turn.sentences):
        piece = voice if i == 0 else np.zeros(FRAME, dtype=np.float32)
        conv.on_audio("turn_1", sentence.seq, piece)
        conv.on_audio_done("turn_1", sentence.seq)
    return conv, len(voice)


def talk(conv: Conversation, seconds: float, caller, echo_db: float | None, delay_ms: int = 200) -> list[dict]:  # noqa: ANN001
    """Real time, 20 ms a tick: pull the agent's audio, and send the caller's microphone — the
    echo of what was played ``delay_ms`` ago at ``echo_db`` (None: a headset), quiet room noise,
    and ``caller(i)``'s own speech for tick ``i``; the events it caused."""
    rng = np.random.default_rng(0)
    played: list[np.ndarray] = []
    delay = delay_ms * RATE // 1000
    room = np.exp(-np.arange(int(0.15 * RATE)) / (0.04 * RATE)) * rng.standard_normal(int(0.15 * RATE))
    room /= np.sqrt(np.sum(room**2))
    events: list[dict] = []
    for i in range(int(seconds * 50)):
        audio, out = conv.pull(FRAME)
        events += out.events
        played.append(np.pad(audio, (0, FRAME - len(audio))))
        mic = (10 ** (-60 / 20)) * rng.standard_normal(FRAME).astype(np.float32)
        if echo_db is not None:
            history = np.concatenate(played)
            wet = np.convolve(history, room)[: len(history)]
            start = len(history) - delay - FRAME
            if start >= 0:
                mic += np.tanh(2 * wet[start : start + FRAME] * 10 ** (echo_db / 20)) / 2
        mic += caller(i)
        events += conv.feed_caller(float_to_pcm16(mic.astype(np.float32)).tobytes()).events
    return events


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def no_one(i: int) -> np.ndarray:
    return np.zeros(FRAME, dtype=np.float32)


def human_from(start_s: float, dbfs: float):  # noqa: ANN201 - a caller(i) function
    speech = scaled(load(ARCTIC)[int(0.4 * RATE) :], dbfs)
    first = int(start_s * 50)

    def caller(i: int) -> np.ndarray:
        j = (i - first) * FRAME
        piece = speech[j : j + FRAME] if 0 <= j < len(speech) else np.zeros(0, dtype=np.float32)
        return np.pad(piece, (0, FRAME - len(piece)))

    return caller


def test_the_agents_own_echo_does_not_interrupt_it() -> None:
    conv, length = agent_turn()
    events = talk(conv, length / RATE + 1.0, no_one, echo_db=-12)
    assert "caller.speech_started" not in kinds(events) and "interruption" not in kinds(events)
    assert "agent.audio_end" in kinds(events)  # the agent said all of it


def test_without_the_gate_the_same_echo_would_have_interrupted_it() -> None:
    """The control: the same microphone, with the gate bypassed, is heard as the caller."""
    conv, length = agent_turn()
    conv.echo.clean = lambda samples: samples  # the gate off
    events = talk(conv, length / RATE, no_one, echo_db=-12)
    assert "caller.speech_started" in kinds(events)


def test_a_caller_talking_over_the_echo_still_barges_in() -> None:
    conv, length = agent_turn()
    events = talk(conv, 5.0, human_from(3.0, -24), echo_db=-12)
    started = [e for e in events if e["type"] == "caller.speech_started"]
    assert started and started[0]["t_ms"] >= 3000
    assert "interruption" in kinds(events)


def test_a_caller_on_a_headset_barges_in_at_once() -> None:
    conv, _ = agent_turn()
    events = talk(conv, 2.5, human_from(1.0, -28), echo_db=None)
    started = next(e for e in events if e["type"] == "caller.speech_started")
    assert 1000 <= started["t_ms"] <= 1300
    assert "interruption" in kinds(events)


def test_a_client_silent_while_the_agent_talks_can_still_barge_in() -> None:
    conv, _ = agent_turn()
    for _ in range(50):  # a second of the agent, and not one frame from the client
        conv.pull(FRAME)
    events = talk(conv, 1.5, human_from(0.0, -28), echo_db=None)
    assert "caller.speech_started" in kinds(events) and "interruption" in kinds(events)


def test_speech_under_the_barge_floor_over_the_agent_is_not_the_callers_turn() -> None:
    conv, _ = agent_turn("normal")  # -35 dBFS
    events = talk(conv, 2.5, human_from(0.5, -45), echo_db=None)
    assert "caller.speech_started" in kinds(events) and "interruption" not in kinds(events)
    uid = next(e for e in events if e["type"] == "caller.speech_started")["utterance_id"]
    out = conv.heard(HeardOutput(events=[{"type": "final", "utterance_id": uid, "text": "turn that down"}]))
    assert out.events[0]["ignored"] == "below_barge_floor" and not out.work


def test_high_sensitivity_lets_the_same_quiet_speech_barge_in() -> None:
    conv, _ = agent_turn("high")  # -45 dBFS
    events = talk(conv, 2.5, human_from(0.5, -42), echo_db=None)
    assert "interruption" in kinds(events)
