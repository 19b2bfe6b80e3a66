"""Persistence: SQLAlchemy models, the async database handle, Alembic migrations and the blob store."""
