"""Who may use the full-context engine now: every final, and look-aheads when it has room.

A stream's look-aheads (hear/streaming.py) are optional work — they settle ``stable_text`` early
and can make a ``final`` ready the moment the turn ends — while its finals are owed to the
client. A Whisper decode keeps both cores of a 2-core machine busy for ~0.5-1 s, and the streams'
incremental decoders and turn model need the same cores, so:

- a look-ahead asked mid-speech (only for stable words) starts only when no decode at all is
  running in this process;
- one asked at a pause (it may become the final) also starts beside other decodes while the
  engine has a free decoder (Whisper runs two at once);
- anything else is skipped: a busy machine settles fewer words and decodes its finals when the
  turn ends, as without look-aheads, rather than falling behind.

Counted on the event loop, so no lock is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class DecodeGate:
    def __init__(self, parallel: int) -> None:
        self.parallel = max(1, parallel)  # decodes the engine runs at once
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
    def look_ahead(self, at_pause: bool) -> Iterator[bool]:
        """Yields whether the look-ahead may run now; if not, the caller skips it."""
        if self.running >= (self.parallel if at_pause else 1):
            yield False
            return
        with self.final():
            yield True
