"""The echo gate (pyai.omni.echo): the agent's voice picked up by a caller's speakerphone must not
reach the VAD, and the caller talking over the agent must.

The agent is flite speech; the caller a human recording. The echo path is what a speakerphone
does to the agent: a delay, -12 dB, a room (a direct path and an exponentially decaying noise tail
of ~150 ms), soft clipping, and -50 dBFS of line noise. Speech is judged per 32 ms window by the
project's VAD (Silero, as the streaming session runs it); behaviour only, never timing.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import soxr

from pyai.engines.vad.silero import SPEECH, WINDOW, SileroEndpointer, SileroVad
from pyai.omni.echo import EchoGate, barge_floor_dbfs, level_dbfs
from tests.speech_samples import ARCTIC
from tests.vad_audio import LIBRIVOX, flite, load

RATE = 16000
AGENT_SAYS = (
    "Thanks for calling the city library. Your books are due back on Friday the twelfth.",
    "You can renew them online, or I can do it for you right now if you like.",
    "There is also a reading group on Tuesday evenings at seven.",
)


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """``x`` scaled so that its active part (20 ms frames within 30 dB of its loudest) is at ``dbfs``."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    power = (frames**2).mean(axis=1)
    active = power[power > power.max() * 1e-3].mean()
    return (x * math.sqrt(10 ** (dbfs / 10) / active)).astype(np.float32)


def resampled(x: np.ndarray, rate: int) -> np.ndarray:
    return x if rate == RATE else soxr.resample(x, RATE, rate).astype(np.float32)


@functools.cache
def agent_speech(rate: int = RATE) -> np.ndarray:
    """~14 s of the agent: three sentences with 0.3 s between them, at -20 dBFS."""
    pause = np.zeros(int(0.3 * RATE), dtype=np.float32)
    speech = np.concatenate([part for text in AGENT_SAYS for part in (flite(text), pause)])
    return resampled(at_level(speech, -20), rate)


def noise(n: int, dbfs: float = -50, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * 10 ** (dbfs / 20)).astype(np.float32)


def speakerphone(agent: np.ndarray, rate: int, delay_ms: int, seed: int = 0) -> np.ndarray:
    """What the caller's microphone hears of ``agent``: through a room (a direct path and a noise
    tail decaying 60 dB in 150 ms, as loud as the direct path), clipped softly at its peaks, 12 dB
    down and ``delay_ms`` late."""
    t = np.arange(int(0.15 * rate)) / rate
    tail = np.random.default_rng(seed).standard_normal(len(t)) * 10 ** (-3 * t / 0.15)
    tail[: rate // 500] = 0
    room = tail / np.sqrt(np.sum(tail**2))
    room[0] = 1.0
    size = 1 << (len(agent) + len(room)).bit_length()
    y = np.fft.irfft(np.fft.rfft(agent, size) * np.fft.rfft(room, size), size)[: len(agent)]
    peak = np.max(np.abs(y))
    y = np.tanh(y / peak) * peak
    y *= math.sqrt(np.mean(agent**2) / np.mean(y**2)) * 10 ** (-12 / 20)
    late = rate * delay_ms // 1000
    return np.concatenate([np.zeros(late), y[: len(agent) - late]]).astype(np.float32)


def caller_speech(name: str) -> np.ndarray:
    """A human recording at -26 dBFS: about 6 dB above the agent's echo."""
    x = load(ARCTIC)[int(0.4 * RATE) :] if name == "arctic" else load(LIBRIVOX[0])
    return at_level(x, -26)


def speech_windows(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Whether the VAD hears speech in each 32 ms window."""
    vad = SileroVad()
    x16 = soxr.resample(x, rate, RATE).astype(np.float32) if rate != RATE else x
    return np.array([vad(x16[i : i + WINDOW]) >= SPEECH for i in range(0, len(x16) - WINDOW + 1, WINDOW)])


def utterances(x: np.ndarray) -> list[int]:
    """When (ms) the streaming endpointer would open an utterance: a barge-in."""
    endpointer = SileroEndpointer()
    events = [e for i in range(0, len(x), 320) for e in endpointer.process(x[i : i + 320])]
    return [e.ms for e in events if e.kind == "speech_start"]


def through_gate(gate: EchoGate, mic: np.ndarray, agent: np.ndarray, chunks: list[int] | None = None) -> np.ndarray:
    """Play ``agent`` and clean ``mic`` as a call does, 20 ms at a time (or in ``chunks``)."""
    sizes = chunks or [gate.rate // 50] * math.ceil(len(mic) / (gate.rate // 50))
    out, at = [], 0
    for size in sizes:
        if at >= len(mic):
            break
        gate.played(agent[at : at + size])
        piece = mic[at : at + size]
        cleaned = gate.clean(piece)
        assert len(cleaned) == len(piece)
        out.append(cleaned)
        at += size
    return np.concatenate(out)


@pytest.mark.parametrize("delay_ms", [120, 350])
def test_the_agents_echo_is_gated(delay_ms: int) -> None:
    agent = agent_speech()
    mic = speakerphone(agent, RATE, delay_ms) + noise(len(agent))
    gate = EchoGate(RATE)
    cleaned = through_gate(gate, mic, agent)
    assert gate.delay_ms == pytest.approx(delay_ms, abs=4)
    assert speech_windows(mic).mean() > 0.6  # the VAD hears the echo as speech ...
    assert utterances(mic)  # ... and it would barge in
    assert speech_windows(cleaned).mean() < 0.02
    assert utterances(cleaned) == []


def test_the_echo_is_gated_on_a_telephone_line() -> None:
    rate = 8000
    agent = agent_speech(rate)
    mic = speakerphone(agent, rate, 200) + noise(len(agent))
    cleaned = through_gate(EchoGate(rate), mic, agent)
    assert speech_windows(mic, rate).mean() > 0.6
    assert speech_windows(cleaned, rate).mean() < 0.02


@pytest.mark.parametrize(("delay_ms", "caller"), [(120, "arctic"), (350, "librivox")])
def test_the_caller_talking_over_the_agent_gets_through(delay_ms: int, caller: str) -> None:
    agent = agent_speech()
    start = 4 * RATE  # the agent has been talking for a while: the filter has adapted
    words = caller_speech(caller)[: len(agent) - start]
    near = np.zeros(len(agent), dtype=np.float32)
    near[start : start + len(words)] = words
    line = noise(len(agent))
    mic = speakerphone(agent, RATE, delay_ms) + near + line
    cleaned = through_gate(EchoGate(RATE), mic, agent)

    said = speech_windows(near + line)  # the caller's speech, as the VAD hears it alone
    heard = speech_windows(cleaned)
    assert said.sum() > 50
    assert heard[said].mean() > 0.75
    first, last = np.flatnonzero(said)[[0, -1]]
    echo_only = np.r_[: first - 10, last + 20 : len(said)]  # 0.3 s and 0.6 s away from the caller
    assert heard[echo_only].mean() < 0.03
    starts = utterances(cleaned)
    assert starts and all(start * 1000 // RATE - 100 <= ms <= (last + 20) * 32 for ms in starts)


def test_a_later_turn_starts_where_the_last_one_left_off() -> None:
    """Between turns the gate idles; what it learned of the echo path carries over, so the caller can
    barge in half a second into the agent's next turn."""
    agent = agent_speech()
    first, second = agent[: 5 * RATE], agent[5 * RATE : 11 * RATE]
    played = np.concatenate([first, np.zeros(3 * RATE, dtype=np.float32), second])
    start = 8 * RATE + RATE // 2
    words = caller_speech("arctic")
    near = np.zeros(len(played), dtype=np.float32)
    near[start : start + len(words)] = words
    line = noise(len(played))
    mic = speakerphone(played, RATE, 350) + near + line
    gate = EchoGate(RATE)
    cleaned = []
    for at in range(0, len(mic), RATE // 50):
        piece = played[at : at + RATE // 50]
        if piece.any():  # between turns nothing is played
            gate.played(piece)
        cleaned.append(gate.clean(mic[at : at + RATE // 50]))
        if at == 7 * RATE:
            assert not gate.engaged
    said = speech_windows(near + line)
    heard = speech_windows(np.concatenate(cleaned))
    assert heard[said].mean() > 0.75
    assert heard[~said].mean() < 0.02


def test_the_tail_of_the_agents_last_words_is_gated_and_the_caller_after_it_is_not() -> None:
    agent = agent_speech()[: int(3.2 * RATE)]  # the agent stops ...
    total = len(agent) + 4 * RATE
    played = np.concatenate([agent, np.zeros(total - len(agent), dtype=np.float32)])
    start = len(agent) + RATE  # ... and the caller talks a second later
    words = caller_speech("arctic")
    near = np.zeros(total, dtype=np.float32)
    near[start : start + len(words)] = words[: total - start]
    line = noise(total)
    gate = EchoGate(RATE)
    tail = speakerphone(played, RATE, 350)
    cleaned = through_gate(gate, tail + near + line, agent)  # only the agent's audio is played

    after_stop = slice(len(agent) // WINDOW, (len(agent) + int(0.9 * RATE)) // WINDOW)
    assert speech_windows(tail + line)[after_stop].any()  # the echo outlasts the agent ...
    assert not speech_windows(cleaned)[after_stop].any()  # ... but not the gate
    said = speech_windows(near + line)
    assert speech_windows(cleaned)[said].mean() > 0.9
    assert utterances(cleaned) == pytest.approx([start * 1000 // RATE], abs=100)
    assert not gate.engaged  # and by the end the gate is idle again


def caller_over(agent: np.ndarray, start: int, caller: str) -> np.ndarray:
    """``caller``'s speech from sample ``start`` on, as long as ``agent``."""
    words = caller_speech(caller)[: len(agent) - start]
    near = np.zeros(len(agent), dtype=np.float32)
    near[start : start + len(words)] = words
    return near


def onset_ms(said: np.ndarray) -> int:
    return int(np.flatnonzero(said)[0]) * WINDOW * 1000 // RATE


@pytest.mark.parametrize(("start_s", "caller"), [(0.5, "arctic"), (0.7, "librivox")])
def test_without_echo_a_caller_gets_through_early_in_the_agents_turn(start_s: float, caller: str) -> None:
    """A headset, or a phone that cancels its own echo: the microphone stays far below what is played,
    so within a few hundred ms the gate takes the echo path to be weak, and a caller who talks over
    the agent long before any delay could be found is heard (the gate held all but ~20% of their
    speech windows before it learnt this, and the first utterance came 1-2 s late)."""
    agent = agent_speech()
    near = caller_over(agent, int(start_s * RATE), caller)
    line = noise(len(agent))
    gate = EchoGate(RATE)
    cleaned = through_gate(gate, near + line, agent)
    said = speech_windows(near + line)
    heard = speech_windows(cleaned)
    assert gate.delay_ms is None  # (nothing to find)
    assert heard[said].mean() > 0.75
    assert onset_ms(said) <= utterances(cleaned)[0] <= onset_ms(said) + 500


def test_an_echo_later_than_the_gate_relaxes_is_still_gated() -> None:
    """650 ms late, the echo first reaches the microphone when the gate has already taken the path to
    be weak: held while it is checked against the played audio, it is found to be the echo."""
    agent = agent_speech()[: 6 * RATE]
    mic = speakerphone(agent, RATE, 650) + noise(len(agent))
    gate = EchoGate(RATE)
    cleaned = through_gate(gate, mic, agent)
    assert gate.checks_echo >= 1
    assert speech_windows(cleaned).mean() < 0.02
    assert utterances(cleaned) == []


@pytest.mark.parametrize("then", ["caller", "echo"])
def test_after_a_silent_client_the_gate_starts_moderate(then: str) -> None:
    """A client that sent nothing for the first second of the agent (skip) gave no evidence either way:
    the gate then takes the echo to be at most 10 dB under the loudest block played since, not all of
    it. A caller who talks over the agent from their first frame is heard; a speakerphone's echo
    (-12 dB, 350 ms late) is still gated."""
    agent = agent_speech()
    gate = EchoGate(RATE)
    gate.played(agent[:RATE])
    gate.skip(RATE)
    rest = agent[RATE:]
    line = noise(len(rest))
    if then == "caller":
        near = caller_over(rest, 0, "arctic")
        cleaned = through_gate(gate, near + line, rest)
        said = speech_windows(near + line)
        assert speech_windows(cleaned)[said].mean() > 0.75
        assert utterances(cleaned)[0] <= onset_ms(said) + 500
    else:
        cleaned = through_gate(gate, speakerphone(rest, RATE, 350) + line, rest)
        assert speech_windows(cleaned).mean() < 0.02
        assert utterances(cleaned) == []


def test_with_nothing_played_the_caller_audio_passes_untouched() -> None:
    gate = EchoGate(RATE)
    x = load(ARCTIC)
    rng = np.random.default_rng(0)
    at = 0
    while at < len(x):
        piece = x[at : at + int(rng.integers(1, 900))]
        assert gate.clean(piece) is piece
        at += len(piece)
    assert not gate.engaged and gate.delay_ms is None


def test_any_chunking_keeps_the_length_and_gates_the_echo() -> None:
    agent = agent_speech()
    mic = speakerphone(agent, RATE, 120) + noise(len(agent))
    chunks = list(np.random.default_rng(2).integers(37, 700, size=len(mic) // 37))
    cleaned = through_gate(EchoGate(RATE), mic, agent, chunks)
    assert len(cleaned) == len(mic)
    assert speech_windows(cleaned).mean() < 0.02


def test_the_gate_goes_idle_after_the_echo_and_passes_audio_untouched_again() -> None:
    agent = agent_speech()[: 2 * RATE]
    gate = EchoGate(RATE)
    mic = speakerphone(agent, RATE, 120) + noise(len(agent))
    through_gate(gate, mic, agent)
    quiet = noise(RATE // 50)
    for _ in range(65):  # 1.3 s: the longest echo (0.8 s + the filter's 0.24 s + 0.2 s) has died
        gate.clean(quiet)
    assert not gate.engaged
    assert gate.clean(quiet) is quiet
    assert gate.delay_ms == pytest.approx(120, abs=4)  # kept for the agent's next turn


def test_level_dbfs() -> None:
    t = np.arange(RATE) / RATE
    assert level_dbfs(np.sin(2 * np.pi * 440 * t)) == pytest.approx(-3.01, abs=0.01)
    assert level_dbfs(0.1 * np.ones(100)) == pytest.approx(-20)
    assert level_dbfs(np.zeros(100)) == -math.inf
    assert level_dbfs(np.zeros(0)) == -math.inf
    assert level_dbfs(caller_speech("arctic")) < -26  # the pauses count too


@pytest.mark.parametrize(
    ("value", "floor"),
    [
        ("low", -26.0),
        ("normal", -35.0),
        ("high", -45.0),
        (" High ", -45.0),
        ("-35", -35.0),
        ("-35dBFS", -35.0),
        ("-40.5 dbfs", -40.5),
        (-50, -50.0),
        (-12.5, -12.5),
        (0, 0.0),
        ("-90", -90.0),
        (None, None),
    ],
)
def test_barge_floor_dbfs(value: str | float | None, floor: float | None) -> None:
    assert barge_floor_dbfs(value) == floor


def test_barge_floors_order_by_sensitivity() -> None:
    assert barge_floor_dbfs("low") > barge_floor_dbfs("normal") > barge_floor_dbfs("high")


@pytest.mark.parametrize("value", ["loud", "", "-120", "5", "nan", "inf", "-35 dB", 5, -90.5, True, float("nan"), [1]])
def test_barge_floor_dbfs_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="^barge_sensitivity: "):
        barge_floor_dbfs(value)  # type: ignore[arg-type]
