"""The ``input`` of a speech request → its script: what to say, at what rate, with which pauses.

Plain text is cleaned and becomes one spoken part. Text that starts with ``<speak`` is SSML
(``speak/ssml.py``). Either way control characters are removed first (flite takes a C string,
so a NUL silently dropped everything after it; other controls are noise), over-long tokens are
cut (``parts.MAX_TOKEN_CHARS``) and the text is normalised (``text/spoken.py``). An input with
nothing a voice can say is refused rather than answered with silence.
"""

from __future__ import annotations

import re

from pyai.engines.tts.sentences import UNSPEAKABLE, speakable
from pyai.speak.parts import Script, ScriptError, Speech, spoken
from pyai.speak.ssml import is_ssml, parse_ssml

#: C0/C1 controls (but tab and newline, which separate words and sentences), surrogates left by
#: a JSON ``\ud800`` escape, and invisible format characters (zero-width spaces, bidi marks).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+")


def clean(text: str) -> str:
    """``text`` with each run of control characters replaced by a space (so words on either side
    stay apart); nothing after them is lost."""
    return _CONTROL.sub(" ", text)


def parse_input(text: str) -> Script:
    """The script for a request's ``input``; ``ScriptError`` when it is bad SSML or has nothing to say."""
    text = clean(text)
    script = parse_ssml(text) if is_ssml(text) else [Speech(spoken(text))]
    if not any(isinstance(part, Speech) and speakable(part.text) for part in script):
        raise ScriptError(UNSPEAKABLE)
    return script
