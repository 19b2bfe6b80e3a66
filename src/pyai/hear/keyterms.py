"""Key terms (products, surnames, jargon) that bias the full-context decoder, on every Hear surface.

Jobs take them as ``keyterms``, streams as a comma-separated ``keyterms`` query parameter, batch
as OpenAI's ``prompt``; they reach Whisper as its initial prompt (engines/stt/whisper_engine.py).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

MAX_KEYTERMS = 100
MAX_KEYTERM_CHARS = 50

#: One key term that the decoder should expect.
Keyterm = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_KEYTERM_CHARS)]


def keyterm_prompt(keyterms: list[str]) -> str | None:
    """Key terms as the decoder's prompt: a plain comma-separated list (measured: a list ending in a
    full stop, or wrapped in a sentence, made Whisper tiny.en invent a closing sentence)."""
    return ", ".join(keyterms) or None


def parse_keyterms(raw: str | None) -> list[str]:
    """A comma-separated list (the stream's query parameter); ValueError names what is wrong."""
    terms = [t.strip() for t in (raw or "").split(",") if t.strip()]
    if len(terms) > MAX_KEYTERMS:
        raise ValueError(f"keyterms: at most {MAX_KEYTERMS} terms, got {len(terms)}")
    if long := [t for t in terms if len(t) > MAX_KEYTERM_CHARS]:
        raise ValueError(f"keyterms: each term at most {MAX_KEYTERM_CHARS} characters ({long[0][:60]!r})")
    return terms
