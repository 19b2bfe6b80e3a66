"""Prefixed, random, URL-safe identifiers and the clock the store uses."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str, nbytes: int = 12) -> str:
    """``prefix_`` + random URL-safe text; the prefix tells a reader what kind of object it is."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def now_ms() -> int:
    return int(time.time() * 1000)
