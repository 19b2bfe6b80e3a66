"""Scopes from the contract's table, with family wildcards (``hear:*``) and the global ``*``."""

from __future__ import annotations

KNOWN_SCOPES = (
    "hear:transcribe",
    "hear:stream",
    "voice:synthesize",
    "voice:clone",
    "voice:design",
    "flow:session",
    "omni:session",
    "omni:read",
    "transcribe:jobs",
    "trace:configure",
    "trace:read",
    "recap:configure",
    "recap:read",
    "telephony:manage",
)
FAMILIES = tuple(sorted({s.split(":")[0] for s in KNOWN_SCOPES}))
SANDBOX_SCOPES = ("hear:transcribe", "hear:stream", "voice:synthesize", "omni:session")


def is_valid(scope: str) -> bool:
    """A grantable scope: a known one, a known family's wildcard, or ``*``."""
    if scope == "*" or scope in KNOWN_SCOPES:
        return True
    family, _, rest = scope.partition(":")
    return rest == "*" and family in FAMILIES


def grants(granted: list[str] | tuple[str, ...], required: str) -> bool:
    """True when any granted scope covers ``required``."""
    family = required.split(":", 1)[0]
    return any(g == "*" or g == required or g == f"{family}:*" for g in granted)


def parse(text: str) -> list[str]:
    """Parse a comma-separated scope list, rejecting unknown names with a clear message."""
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in scopes if not is_valid(s)]
    if bad:
        raise ValueError(f"unknown scope(s): {', '.join(bad)}; known: {', '.join(KNOWN_SCOPES)}")
    return scopes
