"""Tenant isolation helpers: every read of tenant data is scoped to the caller's org.

Another org's object is reported as missing (404), never as forbidden, so ids leak nothing.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.gateway.errors import not_found

T = TypeVar("T")


def owned(model: type[T], org_id: str) -> Select[tuple[T]]:
    """``select(model)`` already filtered to ``org_id``."""
    return select(model).where(model.org_id == org_id)  # type: ignore[attr-defined]


async def get_owned(
    session: AsyncSession, model: type[T], ident: str, org_id: str, what: str, *, for_update: bool = False
) -> T:
    """Fetch one row of the caller's org or raise the 404 Problem; ``for_update`` locks the row
    until commit (PostgreSQL; SQLite has one writer anyway), for a read-modify-write."""
    query = owned(model, org_id).where(model.id == ident)  # type: ignore[attr-defined]
    row = await session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise not_found(what, ident)
    return row
