"""SQLAlchemy models shared by every product: identity, billing, durable jobs, idempotency.

Product modules declare their own tables on the same ``Base`` so one Alembic history covers all.
Every tenant-owned row carries ``org_id``; queries go through :mod:`pyai.store.tenancy`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pyai.store.ids import now_ms


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON, Any: JSON}


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="active")
    plan: Mapped[str] = mapped_column(String(32), default="payg")
    monthly_units: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    default_voice: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    env: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active")
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    daily_unit_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    allowed_origins: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CreditGrant(Base):
    """Prepaid credit added to an org (positive cents). Spend is derived from usage events."""

    __tablename__ = "credit_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(128), default="grant")
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class UsageEvent(Base):
    """One metered call: exact seconds, never rounded here (rounding happens per invoice period)."""

    __tablename__ = "usage_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40))
    env: Mapped[str] = mapped_column(String(8))
    product: Mapped[str] = mapped_column(String(16))
    meter: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(7))
    day: Mapped[str] = mapped_column(String(10))
    #: What was billed, when it must be billed at most once (``job:<id>``): a unique key, so a
    #: retried job can never record its usage twice.
    source: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        Index("ix_usage_org_period", "org_id", "period", "meter"),
        Index("ix_usage_key_period", "key_id", "period"),
        Index("ix_usage_key_day", "key_id", "day"),
        UniqueConstraint("source", name="uq_usage_source"),
    )


class UsageHold(Base):
    """Units set aside for a call in flight, so concurrent calls cannot all pass the billing gate.

    Reserved atomically at admission, settled into a :class:`UsageEvent` (exact seconds) or
    released when the call ends; a hold whose replica died lapses at ``expires_at``.
    """

    __tablename__ = "usage_holds"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40))
    env: Mapped[str] = mapped_column(String(8))
    meter: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(7))
    day: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        Index("ix_holds_org", "org_id", "expires_at"),
        Index("ix_holds_key", "key_id", "expires_at"),
    )


class Job(Base):
    """A durable unit of background work; the row is the source of truth across restarts."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_after"),
        Index("ix_jobs_org_kind_created", "org_id", "kind", "created_at"),
    )


class IdempotencyRecord(Base):
    """The first response to an ``Idempotency-Key``, replayed for identical retries."""

    __tablename__ = "idempotency_records"
    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
