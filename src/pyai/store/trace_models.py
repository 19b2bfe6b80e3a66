"""Tables of Trace: per-agent configs, tenants' custom rule packs, scorecards (interactions) with
their hash chain, their violations, and Tier-2 findings.

Built-in rule packs are package data (``pyai.trace``), not rows. A scorecard is written once and
never updated: ``audit_hash`` links it to the org's previous scorecard (``seq`` orders the
chain), so ``pyai trace verify`` can recompute the chain and name the first altered record.
Violations are the scorecard's findings as rows, for filtered listing and the exposure summary;
Tier-2 findings arrive later and never touch the chain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pyai.store.ids import now_ms
from pyai.store.models import Base


class TraceConfigRow(Base):
    """One org's Trace config for one agent (``agent_key`` ``""``: the org default)."""

    __tablename__ = "trace_configs"
    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    etag: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class TraceRulePackRow(Base):
    """A tenant's uploaded rule pack, one row per version (versions are pinned, never replaced)."""

    __tablename__ = "trace_rule_packs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    pack_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str | None] = mapped_column(String(128), nullable=True)
    legal_status: Mapped[str | None] = mapped_column(String(256), nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    etag: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        UniqueConstraint("org_id", "pack_id", "version", name="uq_trace_rule_packs_version"),
        Index("ix_trace_rule_packs_org_created", "org_id", "created_at"),
    )


class TraceInteraction(Base):
    """A scanned call's scorecard (``id`` is the call id), a link of the org's hash chain."""

    __tablename__ = "trace_interactions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)  # the org's chain order, from 1
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    product: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verdict: Mapped[str] = mapped_column(String(8))
    findings: Mapped[int] = mapped_column(Integer)
    blocked_turns: Mapped[int] = mapped_column(Integer)
    modified_turns: Mapped[int] = mapped_column(Integer)
    packs_enforced: Mapped[str] = mapped_column(String(512))
    scorecard: Mapped[dict[str, Any]] = mapped_column(JSON)
    audit_hash: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        UniqueConstraint("org_id", "seq", name="uq_trace_interactions_seq"),
        Index("ix_trace_interactions_org_created", "org_id", "created_at"),
    )


class TraceViolationRow(Base):
    """One finding of a scorecard (Tier 0/1), for filtered listing and the exposure summary."""

    __tablename__ = "trace_violations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    interaction_id: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    pack_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    action_taken: Mapped[str] = mapped_column(String(16))
    citation: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    at_t: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (Index("ix_trace_violations_org_created", "org_id", "created_at"),)


class TraceFindingRow(Base):
    """A Tier-2 (asynchronous, advisory) finding about a scanned call."""

    __tablename__ = "trace_findings"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    interaction_id: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    check_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    finding: Mapped[dict[str, Any]] = mapped_column(JSON)  # the contract's TraceFinding fields
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (Index("ix_trace_findings_org_created", "org_id", "created_at"),)
