"""What a speech request says, as parts: spoken text at a rate, and pauses.

Plain text is one spoken part; SSML (``speak/ssml.py``) can make many. Every piece of text
becomes speech through :func:`spoken`, so plain text and SSML get the same hygiene and
normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyai.text.spoken import to_spoken

#: The longest run of non-space characters spoken; the rest of it is dropped. No word is that long
#: (an e-mail address's local part may be 64), so a longer token is a pasted blob (base64, a
#: hash, a minified URL) that would otherwise be read letter by letter for minutes.
MAX_TOKEN_CHARS = 64
_LONG_TOKEN = re.compile(rf"\S{{{MAX_TOKEN_CHARS + 1},}}")


@dataclass(frozen=True)
class Speech:
    """Normalised text to say, at ``rate`` times the request's speed."""

    text: str
    rate: float = 1.0


@dataclass(frozen=True)
class Pause:
    """Silence of ``seconds``."""

    seconds: float


Part = Speech | Pause
Script = list[Part]


class ScriptError(ValueError):
    """The input cannot be spoken as written; the message says why (and where, for SSML)."""


def cap_tokens(text: str) -> str:
    """``text`` with every run of non-space characters cut to ``MAX_TOKEN_CHARS``."""
    return _LONG_TOKEN.sub(lambda m: m.group(0)[:MAX_TOKEN_CHARS], text)


def spoken(text: str) -> str:
    """Written text → what to say: over-long tokens cut, then normalised."""
    return to_spoken(cap_tokens(text)).strip()
