"""The streaming session's look-aheads, driven directly (sans I/O) with a scripted full-context engine:
stable words come from two agreeing look-aheads, later decodes must begin with them, a look-ahead
that heard all of the speech is the final, and a skipped one costs nothing but the shortcut."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pyai.audio.pcm import pcm16_to_float
from pyai.engines.stt.base import Transcript, Word
from pyai.hear.streaming import Decode, Finish, JudgeTurn, LookAhead, Recognize, StreamOptions, StreamSession
from tests.media import speech_pcm16

RATE = 16000
PHRASES = ["please call me back", "tomorrow morning", "about the unpaid invoice"]
SENTENCE = " ".join(PHRASES)
WORDS = SENTENCE.split()
PAUSE = np.zeros(int(0.3 * RATE), np.float32)  # a pause inside the turn (shorter than any that ends it)
SPEECH = np.concatenate([x for p in PHRASES for x in (pcm16_to_float(speech_pcm16(p)), PAUSE)][:-1])


def heard(samples: np.ndarray, prefix: str = "") -> Transcript:
    """A scripted engine: the words of the share of the speech the audio holds (the utterance's
    audio is a little shorter than flite's output, which has silence at both ends)."""
    share = len(samples) / (0.8 * len(SPEECH))
    words = WORDS[: min(len(WORDS), int(len(WORDS) * share))]
    text = " ".join(words)
    assert text.startswith(prefix), (prefix, text)  # what a prefix-forcing engine guarantees
    return Transcript(text, [Word(w, 0.5 + 0.3 * i, 0.75 + 0.3 * i) for i, w in enumerate(words)])


@dataclass
class Run:
    events: list[dict] = field(default_factory=list)
    decodes: list[Decode] = field(default_factory=list)
    look_aheads: list[LookAhead] = field(default_factory=list)


def stops_after_the_prefix(prefix: str) -> Transcript:
    """What Whisper sometimes does when forced to begin with words: ends right after them."""
    words = prefix.split()
    return Transcript(prefix, [Word(w, 0.5 + 0.3 * i, 0.75 + 0.3 * i) for i, w in enumerate(words)])


def drive(
    *,
    answer_look_ahead: bool = True,
    skip_the_last: bool = False,
    forced_stops: bool = False,
    partial: str = " ".join(WORDS[:2]),
    late: bool = False,
) -> Run:
    """Stream 0.5 s of silence, the sentence (with a pause after each phrase) and 2 s of silence in
    100 ms chunks, doing each piece of work at once; look-aheads are answered, or skipped (None):
    all of them, or the one at the end of the speech; ``late``: a look-ahead asked at a pause is
    answered only after the turn model's verdict on it (as on a busy machine)."""
    session = StreamSession(StreamOptions(lookahead=True))
    run = Run()
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), SPEECH, np.zeros(2 * RATE, np.float32)])
    end_of_speech = (RATE // 2 + len(SPEECH)) // 320  # in 20 ms frames (the utterance starts later)

    held: list[LookAhead] = []
    deferred: set[int] = set()

    def apply(out) -> None:  # noqa: ANN001 - streaming.Output
        queue = list(out.work)
        run.events.extend(out.events)
        while queue:
            work = queue.pop(0)
            if isinstance(work, Recognize):
                result = session.on_partial(work.uid, partial, work.t_ms)
            elif isinstance(work, Finish):
                result = session.on_quick(work.uid, Transcript("please fall", [Word("please", 0.5, 0.8)]))
            elif isinstance(work, JudgeTurn):
                result = session.on_turn(work.uid, work.pause, 1.0)
                queue.extend(held)
                held.clear()
            elif isinstance(work, LookAhead) and late and work.at_pause and id(work) not in deferred:
                deferred.add(id(work))
                held.append(work)
                continue
            elif isinstance(work, LookAhead):
                run.look_aheads.append(work)
                at_the_end = session.samples_seen // 320 >= end_of_speech - 10
                answered = answer_look_ahead and not (skip_the_last and at_the_end)
                result = session.on_lookahead(work, heard(work.samples, work.prefix) if answered else None)
            else:
                run.decodes.append(work)
                forced = forced_stops and work.prefix
                transcript = stops_after_the_prefix(work.prefix) if forced else heard(work.samples, work.prefix)
                result = session.on_final(work.uid, transcript)
            run.events.extend(result.events)
            queue.extend(result.work)

    for i in range(0, len(audio), RATE // 10):
        apply(session.feed(audio[i : i + RATE // 10]))
    apply(session.commit())
    return run


def of(run: Run, kind: str) -> list[dict]:
    return [e for e in run.events if e["type"] == kind]


def test_a_look_ahead_that_heard_all_the_speech_is_the_final() -> None:
    run = drive()
    assert len(run.look_aheads) >= 3 and not run.decodes  # no decode after the turn ended
    [speech_final], [final] = of(run, "speech_final"), of(run, "final")
    assert final["text"] == SENTENCE and speech_final["text"] == SENTENCE  # not the quick "please fall"
    stables = [p["stable_text"] for p in of(run, "partial")]
    assert stables[-1] and all(b.startswith(a) for a, b in zip(stables, stables[1:], strict=False))
    assert all(final["text"].startswith(s) for s in stables)
    # each look-ahead was given the stable words of its time as the prefix it must begin with
    assert run.look_aheads[0].prefix == "" and run.look_aheads[-1].prefix


def test_the_final_decode_begins_with_the_stable_words() -> None:
    """Look-aheads at pauses inside the sentence settle words; the one at its end is skipped (a busy
    engine), so the turn's end asks for a decode, forced to begin with them."""
    run = drive(skip_the_last=True)
    [decode] = run.decodes
    stable = of(run, "partial")[-1]["stable_text"]
    assert stable and decode.prefix == stable
    assert of(run, "final")[0]["text"] == SENTENCE


def test_skipped_look_aheads_fall_back_to_one_decode_and_no_stable_words() -> None:
    run = drive(answer_look_ahead=False)
    assert run.look_aheads and len(run.decodes) == 1 and run.decodes[0].prefix == ""
    assert all(p["stable_text"] == "" for p in of(run, "partial"))
    assert [e["type"] for e in run.events if e["type"] != "partial"] == ["speech_final", "final"]
    assert of(run, "speech_final")[0]["text"] == "please fall" and of(run, "final")[0]["text"] == SENTENCE


def test_a_forced_decode_that_drops_speech_is_redone_without_the_prefix() -> None:
    """Losing the words after the stable ones would be worse than a final that does not begin
    with them, so a final cut short by its prefix is decoded again, unforced."""
    run = drive(skip_the_last=True, forced_stops=True)
    assert [d.prefix != "" for d in run.decodes] == [True, False]
    assert of(run, "final")[0]["text"] == SENTENCE


def test_a_lagging_partial_that_kept_a_finished_turn_open_gives_way_to_the_look_ahead() -> None:
    """The model calls the last pause finished, but the incremental recogniser's words stop at
    "... about the" (a word that cannot end a turn): the turn stays open until a fresher
    transcript — the look-ahead of all the speech — shows it does end, then closes at once."""
    lagging = " ".join(WORDS[:-2])  # "please call me back tomorrow morning about the"
    end_ms = (RATE // 2 + len(SPEECH)) * 1000 // RATE
    settled = of(drive(partial=lagging), "speech_final")[0]["t_ms"] - end_ms
    settled_late = of(drive(partial=lagging, late=True), "speech_final")[0]["t_ms"] - end_ms
    kept_open = of(drive(partial=lagging, answer_look_ahead=False), "speech_final")[0]["t_ms"] - end_ms
    assert kept_open >= 1400  # the fallback: 1.5 s of silence after the speech
    assert settled <= 800, settled  # the model's own verdict: 0.45 s (plus the VAD's hangover)
    assert settled_late <= 800, settled_late  # ... also when the look-ahead lands after the verdict
