"""The scorecards' hash chain: each record's hash covers the previous record's hash and its own
scorecard, so changing, removing or reordering any record breaks every link after it, and
:func:`verify` names the first record that no longer matches.

``link(previous, scorecard) = sha256(previous + "\\n" + canonical_json(scorecard))`` as lower-case
hex, where ``previous`` is the previous record's hash (:data:`GENESIS` for the first record) and
the canonical JSON has sorted keys, no whitespace, UTF-8 text and no NaN/Infinity, so the same
scorecard always hashes the same wherever it is serialised. The chain proves integrity relative
to its newest hash: anchor that hash somewhere the database's writers cannot rewrite (a log, a
signed export) to prove the whole history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

#: What the first record of a chain links to.
GENESIS = "0" * 64


def canonical_json(scorecard: Mapping[str, Any]) -> bytes:
    return json.dumps(scorecard, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def link(previous_hash: str | None, scorecard: Mapping[str, Any]) -> str:
    """The hash of a record holding ``scorecard`` that follows the record hashed ``previous_hash``
    (None: the chain's first record)."""
    h = hashlib.sha256((previous_hash or GENESIS).encode("ascii"))
    h.update(b"\n")
    h.update(canonical_json(scorecard))
    return h.hexdigest()


def verify(chain: Iterable[tuple[Hashable, Mapping[str, Any], str]]) -> Hashable | None:
    """The id of the first record (in chain order) whose stored hash is not the link of the
    previous stored hash and its scorecard, or None when the whole chain holds."""
    previous: str | None = None
    for record_id, scorecard, stored in chain:
        try:
            expected = link(previous, scorecard)
        except (TypeError, ValueError):  # not JSON any more: altered
            return record_id
        if expected != stored:
            return record_id
        previous = stored
    return None
