"""An org's carrier and phone numbers in the database (``/v1/telephony/*``, the call bridges).

The carrier is set by the operator (``pyai telephony carrier set``), its secrets sealed at rest;
until an org has one, the numbers routes answer 404 as the contract says. Numbers are provisioned
through the carrier (the voice URL pointing at this server), assigned to an agent, and released
back; a released number stays listed with ``include_released``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pyai.store.sealed import secret_box
from pyai.store.telephony_models import TelephonyCarrier, TelephonyNumber

SECRET_FIELDS = ("auth_token",)


@dataclass(frozen=True)
class CarrierSettings:
    """An org's carrier as stored, its secrets opened on demand."""

    kind: str
    config: dict[str, Any]  # without secrets
    sealed: dict[str, str]
    box: Any

    def secret(self, name: str) -> str:
        return self.box.open(self.sealed[name]) if name in self.sealed else ""

    def opened(self) -> dict[str, Any]:
        """The full config, secrets included, for the carrier adapter."""
        return {**self.config, **{name: self.secret(name) for name in self.sealed}}


async def carrier_for(s: Any, services: Any, org_id: str) -> CarrierSettings | None:
    row = await s.get(TelephonyCarrier, org_id)
    if row is None:
        return None
    config = {k: v for k, v in row.config.items() if not k.startswith("sealed_")}
    sealed = {k.removeprefix("sealed_"): v for k, v in row.config.items() if k.startswith("sealed_")}
    return CarrierSettings(row.kind, config, sealed, secret_box(services))


def sealed_config(box: Any, config: dict[str, Any]) -> dict[str, Any]:
    """A carrier config as it is stored: the secrets sealed (``box``: a ``SecretBox``)."""
    return {
        (f"sealed_{k}" if k in SECRET_FIELDS else k): (box.seal(v) if k in SECRET_FIELDS else v)
        for k, v in config.items()
    }


async def number_by_phone(s: Any, phone_number: str) -> TelephonyNumber | None:
    """The active number with this E.164 number, whatever its org (a carrier webhook names only it)."""
    query = select(TelephonyNumber).where(
        TelephonyNumber.phone_number == phone_number, TelephonyNumber.status == "active"
    )
    return await s.scalar(query)


def number_view(row: TelephonyNumber) -> dict[str, Any]:
    """The contract's ``TelephonyNumber``."""
    return {
        "object": "telephony.number",
        "id": row.id,
        "phone_number": row.phone_number,
        "country": row.country,
        "area_code": row.area_code,
        "capabilities": row.capabilities,
        "agent_id": row.agent_id,
        "recording": False,  # never carrier-side: calls are recorded in the bridge
        "monthly_cost_cents": row.monthly_cost_cents,
        "status": row.status,
        "created_at": row.created_at,
        "released_at": row.released_at,
    }
