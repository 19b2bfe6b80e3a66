"""Tables of Recap: each org's config and CRM config, and one recap record per call.

CRM secrets (Salesforce client secret, refresh token, and the access token it last got) are
sealed (``pyai.store.sealed``) before they reach a column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pyai.store.ids import now_ms
from pyai.store.models import Base


class RecapConfigRow(Base):
    __tablename__ = "recap_configs"
    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    default_pack_id: Mapped[str] = mapped_column(String(64))
    #: ``{salesforce: {…, sealed_client_secret, sealed_refresh_token}}`` or ``{}``.
    crm: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    crm_updated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecapCallRow(Base):
    """A call's recap (``id`` is the call id): ``pending`` → ``processing`` → ``complete``/``failed``."""

    __tablename__ = "recap_calls"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    pack_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    call_duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    crm_write_status: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    completed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_recap_calls_org_created", "org_id", "created_at"),)
