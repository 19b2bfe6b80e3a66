"""JSON parsing that refuses deep nesting first, in linear time and without recursion.

The stdlib parser recurses once per ``[``/``{``: a 100 kB body of ``[`` raises RecursionError
deep inside it (a 500, or a 1011 on a WebSocket). So the nesting depth is measured before
parsing, by a scan that never recurses: cut the strings out (their brackets are text), keep only
the brackets, and take the running depth's maximum. Legitimate bodies in the contract nest a few
levels; 64 leaves room for free-form ``metadata`` and stays far from the recursion limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 64

#: A JSON string ends at its first unescaped quote. An unterminated one does not match, so its
#: brackets stay in and count: the scan may over-count an already-broken document, never under-count.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int32)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


class InvalidJSON(ValueError):
    """Not JSON, or nested past the limit; the message reads after "Request body" or "Text frame"."""


def nesting_depth(text: str) -> int:
    """How deep ``text`` nests arrays and objects (0 for a scalar), counting no bracket inside a string."""
    brackets = _STRING.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)]).max())


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, refusing nesting deeper than ``max_depth`` before parsing; InvalidJSON otherwise."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:  # decoded as json.loads would, so the scan sees what it parses
        raise InvalidJSON(f"is not valid JSON: {e}") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise InvalidJSON(f"nests arrays/objects {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(text)
    except ValueError as e:  # JSONDecodeError, or an integer past Python's 4300-digit conversion limit
        raise InvalidJSON(f"is not valid JSON: {e}") from None
