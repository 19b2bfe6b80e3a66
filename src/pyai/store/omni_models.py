"""Tables of Omni's stored configuration: agent profiles, custom tools and the tool-call audit log.

Prebuilt tools are code (``pyai.omni.prebuilt_tools``), not rows. An agent's tool bindings are a
JSON list on its row: they are read and replaced whole, and a binding may outlive its tool (the
contract shows a binding's name only "when the tool resolves"). Secrets are sealed
(``pyai.store.sealed``) before they reach a column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pyai.store.ids import now_ms
from pyai.store.models import Base


class Agent(Base):
    """An agent profile: pre-stored Omni session config, referenced by id as the session label."""

    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    persona_system_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    greeting: Mapped[str | None] = mapped_column(Text, nullable=True)
    voice_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    brain_model: Mapped[str] = mapped_column(String(128))
    barge_sensitivity: Mapped[str] = mapped_column(String(16))
    ack_mode: Mapped[str] = mapped_column(String(16))
    recordings_enabled: Mapped[bool] = mapped_column(Boolean)
    consent_line: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``metadata`` is reserved on declarative classes, hence the attribute name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    keyterms: Mapped[list[str]] = mapped_column(JSON)
    goals: Mapped[list[str]] = mapped_column(JSON)
    extraction_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    extraction_webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    kb_endpoint: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    knowledge_base_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: ``[{tool_id, enabled, config, secrets}]``; ``secrets`` holds sealed values of secret fields.
    tools: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (Index("ix_agents_org_created", "org_id", "created_at"),)


class Tool(Base):
    """An org's custom tool: a webhook the executor calls (``server``) or one the app runs (``client``)."""

    __tablename__ = "tools"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    input_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    execution: Mapped[str] = mapped_column(String(8))
    auth_header: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sealed_auth_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    side_effect: Mapped[str] = mapped_column(String(8))
    timeout_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        # the model calls tools by name, so a name means one tool within an org
        UniqueConstraint("org_id", "name", name="uq_tools_org_name"),
        Index("ix_tools_org_created", "org_id", "created_at"),
    )


class ToolCall(Base):
    """One tool invocation's outcome and latency; never its arguments or result."""

    __tablename__ = "tool_calls"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    tool_id: Mapped[str] = mapped_column(String(40))
    #: Copied at call time, so the log still reads after the tool is renamed or deleted.
    tool_name: Mapped[str] = mapped_column(String(64))
    execution: Mapped[str] = mapped_column(String(8))
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (Index("ix_tool_calls_org_created", "org_id", "created_at"),)


class OmniCall(Base):
    """One ``/v1/omni`` session's record: written when the session opens (``in_progress``), kept
    alive by a heartbeat (``updated_at``) while it runs, and completed when it ends. The transcript
    (``turns``) and the tool outcomes are JSON lists on the row: a call's record is read and written
    whole, never paged. Tool arguments and results are never stored (as in ``tool_calls``)."""

    __tablename__ = "omni_calls"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    session_label: Mapped[str | None] = mapped_column(String(256), nullable=True)
    #: ``in_progress`` (an extension: the contract's enum has only the two ended states),
    #: ``completed`` or ``failed``.
    status: Mapped[str] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    rate: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: ``[{speaker, text, start_ms, end_ms, interrupted}]``, times on the session's clock.
    turns: Mapped[list[Any]] = mapped_column(JSON)
    #: ``[{tool_call_id, name, kind, status, latency_ms, at_ms}]``.
    tools: Mapped[list[Any]] = mapped_column(JSON)
    recording_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: ``{status, data, missing}`` once the post-call extraction job ran (``pending`` before).
    extraction: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: A phone call's ``{from, to, carrier, carrier_call_id}`` (None for a WebSocket session).
    phone: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    #: The heartbeat: a live session rewrites it every ~30 s, so a record left ``in_progress`` by
    #: a crashed replica is recognisable (``pyai.omni.call_record.reap_stale``).
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)

    __table_args__ = (
        Index("ix_omni_calls_org_created", "org_id", "created_at"),
        Index("ix_omni_calls_org_label", "org_id", "session_label", "created_at"),
        Index("ix_omni_calls_status_updated", "status", "updated_at"),
    )
