"""Who may use the full-context engine now: every final, and a look-ahead only when it is idle.

A stream's look-aheads (hear/streaming.py) are optional work — they settle ``stable_text`` early
and can make a ``final`` ready the moment the turn ends — while its finals are owed to the
client. A Whisper decode keeps both cores of a 2-core machine busy for ~0.4-0.6 s, and the
streams' incremental decoders and turn model need the same cores, so a look-ahead starts only
when no decode at all is running in this process: a lone stream gets them after every second
of speech and at every pause, a busy machine gets few or none (its finals are then decoded when
the turn ends, as without them) and the look-aheads never push anything else off real time.
Counted on the event loop, so no lock is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class DecodeGate:
    def __init__(self) -> None:
        self.running = 0

    @contextlib.contextmanager
    def final(self) -> Iterator[None]:
        """A final always runs (queueing in the engine if every decoder is busy)."""
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1

    @contextlib.contextmanager
    def look_ahead(self) -> Iterator[bool]:
        """Yields whether the look-ahead may run now (nothing else is decoding); if not, skip it."""
        if self.running:
            yield False
            return
        with self.final():
            yield True
