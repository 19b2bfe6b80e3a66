"""What the streaming session gives its incremental recogniser, driven directly (sans I/O): the
speech of an utterance, and of a pause inside it only the first ``PARTIALS_PAUSE_MS``."""

from __future__ import annotations

import numpy as np

from pyai.audio.pcm import pcm16_to_float
from pyai.engines.stt.base import Transcript
from pyai.hear.streaming import (
    FRAME,
    PARTIALS_PAUSE_MS,
    Finish,
    JudgeTurn,
    LookAhead,
    Recognize,
    StreamOptions,
    StreamSession,
)
from tests.media import speech_pcm16

RATE = 16000
CHUNK = RATE // 10


def test_the_recogniser_hears_the_start_of_a_pause_and_the_speech_after_it() -> None:
    """A 1 s pause that the turn model calls unfinished keeps the utterance open; the recogniser
    gets its first 320 ms (and a block's rounding), none of the rest, and the speech after it."""
    first, second = (pcm16_to_float(speech_pcm16(p)) for p in ("my number is", "five five five"))
    pause = np.zeros(RATE, np.float32)
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), first, pause, second, np.zeros(2 * RATE, np.float32)])
    pause_at, resume_at = RATE // 2 + len(first), RATE // 2 + len(first) + len(pause)

    session = StreamSession(StreamOptions())
    fed: list[tuple[int, int]] = []  # (samples seen when a block was given to the recogniser, its samples)
    utterances: set[str] = set()

    def apply(out) -> None:  # noqa: ANN001 - streaming.Output
        queue = list(out.work)
        while queue:
            work = queue.pop(0)
            if isinstance(work, Recognize):
                fed.append((session.samples_seen, len(work.pcm) // 2))
                utterances.add(work.uid)
                result = session.on_partial(work.uid, "my number is", work.t_ms)
            elif isinstance(work, Finish):
                result = session.on_quick(work.uid, Transcript("my number is five five five"))
            elif isinstance(work, JudgeTurn):
                result = session.on_turn(work.uid, work.pause, 0.0)  # unfinished: wait for the fallback
            elif isinstance(work, LookAhead):
                result = session.on_lookahead(work, None)
            else:
                result = session.on_final(work.uid, Transcript("my number is five five five"))
            queue.extend(result.work)

    for i in range(0, len(audio), CHUNK):
        apply(session.feed(audio[i : i + CHUNK]))
    apply(session.commit())

    assert len(utterances) == 1  # the pause did not end the turn
    in_pause = [(seen, n) for seen, n in fed if pause_at < seen <= resume_at]
    # flite's own trailing silence comes before ``pause_at``, so the pause is heard as longer
    assert sum(n for _, n in in_pause) <= (PARTIALS_PAUSE_MS * RATE // 1000) + 5 * FRAME
    assert not [seen for seen, _ in fed if pause_at + RATE // 2 < seen <= resume_at]
    assert sum(n for seen, n in fed if seen > resume_at) >= len(second) // 2  # the speech after it
