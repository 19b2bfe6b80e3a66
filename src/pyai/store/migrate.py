"""Run Alembic migrations programmatically (used by ``pyai migrate`` and at server start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database to ``revision``; safe to call on every start (a no-op when current).

    Each product keeps its own migration branch off the foundation revision, so the default
    target is every head.
    """
    command.upgrade(alembic_config(database_url), revision)
