"""Keyset pagination, newest first, over ``(created_at, id)``.

Offsets shift when rows are added between two page reads (a row is then shown twice or never);
a cursor naming the last row seen does not, and the random id breaks ties between rows created
in the same millisecond, so every row appears exactly once however the pages interleave with
writes. The cursor is opaque to clients (base64 of ``created_at:id``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_

from pyai.gateway.errors import bad_request

T = TypeVar("T")


def encode_cursor(created_at: int, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{ident}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(created_at, id)`` of the last row of the previous page; a 400 naming ``cursor`` otherwise."""
    try:
        created, ident = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)
        return int(created), ident
    except (ValueError, UnicodeDecodeError):
        raise bad_request("cursor: not a cursor returned by this API.", param="cursor") from None


def newest_first(query: Select[tuple[T]], model: type[T], cursor: str | None, limit: int) -> Select[tuple[T]]:
    """``query`` ordered newest first, after ``cursor``, one row past ``limit`` (so ``page`` can tell
    whether more follow)."""
    created_at, ident = model.created_at, model.id  # type: ignore[attr-defined]
    if cursor:
        after_created, after_id = decode_cursor(cursor)
        query = query.where(or_(created_at < after_created, and_(created_at == after_created, ident < after_id)))
    return query.order_by(created_at.desc(), ident.desc()).limit(limit + 1)


def page(rows: Sequence[T], limit: int, view: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """The contract's list envelope for rows fetched by ``newest_first``, with ``next_cursor``."""
    shown = rows[:limit]
    has_more = len(rows) > limit
    last = shown[-1] if shown else None
    return {
        "object": "list",
        "data": [view(row) for row in shown],
        "has_more": has_more,
        "next_cursor": encode_cursor(last.created_at, last.id) if has_more and last else None,  # type: ignore[attr-defined]
    }
