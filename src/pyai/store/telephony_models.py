"""Tables of Telephony: each org's carrier (its secrets sealed) and its phone numbers.

A number row is kept after release (``status: released``) so listings with
``include_released`` and idempotent releases keep working. A number bills its calls to the key
that provisioned it (``key_id``): a phone call has no key of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pyai.store.ids import now_ms
from pyai.store.models import Base


class TelephonyCarrier(Base):
    __tablename__ = "telephony_carriers"
    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # twilio | local_sip
    #: the carrier's settings; secrets as ``sealed_<name>`` (``pyai.store.sealed``)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class TelephonyNumber(Base):
    __tablename__ = "telephony_numbers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    phone_number: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    area_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    agent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    monthly_cost_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # active | released
    carrier: Mapped[str] = mapped_column(String(16))
    carrier_number_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    released_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_telephony_numbers_org_created", "org_id", "created_at"),
        Index("ix_telephony_numbers_phone", "phone_number", "status"),
    )
