"""The resolved caller: what every product handler receives after the gateway lets a request in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    org_id: str
    project_id: str
    env: str
    scopes: tuple[str, ...]
    status: str
    expires_at: int | None
    budget_cents: int | None
    daily_unit_cap: int | None
    org_status: str
    plan: str
    monthly_units: int | None
    # Set when the caller is an ephemeral Omni session token (pyai.gateway.session_tokens): the
    # fields above are then its parent key's, except ``scopes`` and ``expires_at`` (the token's).
    token_id: str | None = None
    token_origins: tuple[str, ...] = ()
    token_label: str | None = None

    @property
    def is_test(self) -> bool:
        return self.env == "test"

    @property
    def is_session_token(self) -> bool:
        return self.token_id is not None
