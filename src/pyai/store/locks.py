"""Named locks held for one transaction, for check-then-insert sections replicas must not interleave."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_for_transaction(session: AsyncSession, name: str) -> None:
    """Hold the lock ``name`` until ``session`` commits or rolls back.

    PostgreSQL: a transaction-level advisory lock, so the section runs one at a time across every
    replica and worker on the database. SQLite needs none: it has one writer at a time, and a
    transaction that writes before it reads keeps the database's write lock until it ends, so a
    section that inserts its row first and then counts is already serialised there.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
