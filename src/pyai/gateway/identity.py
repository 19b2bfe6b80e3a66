"""Provisioning of orgs, projects and keys (used by the CLI, first start and sandbox minting)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.gateway import keys
from pyai.store.ids import new_id, now_ms
from pyai.store.models import ApiKey, CreditGrant, Org, Project

#: Plans whose live keys are not subject to the prepaid-credit gate.
UNGATED_PLANS = frozenset({"self-hosted", "enterprise", "subscription"})


@dataclass(frozen=True)
class IssuedKey:
    api_key: str
    key_id: str
    org_id: str
    project_id: str
    environment: str
    scopes: list[str]
    expires_at: int | None
    budget_cents: int | None
    daily_unit_cap: int | None

    def as_dict(self) -> dict:
        return {
            "api_key": self.api_key,
            "key_id": self.key_id,
            "org_id": self.org_id,
            "project_id": self.project_id,
            "environment": self.environment,
            "scopes": self.scopes,
            "expires_at": self.expires_at,
            "key_budget_cents": self.budget_cents,
            "daily_unit_cap": self.daily_unit_cap,
        }


async def create_org(
    session: AsyncSession, name: str, plan: str, monthly_units: int | None = None, org_id: str | None = None
) -> tuple[Org, Project]:
    """A new org and its default project (``org_id``: a chosen id, else a random one)."""
    org = Org(id=org_id or new_id("org"), name=name, plan=plan, status="active", monthly_units=monthly_units)
    project = Project(id=new_id("proj"), org_id=org.id, name="default")
    session.add_all([org, project])
    await session.flush()
    return org, project


async def default_project(session: AsyncSession, org_id: str) -> Project | None:
    return await session.scalar(select(Project).where(Project.org_id == org_id).order_by(Project.created_at).limit(1))


async def issue_key(
    session: AsyncSession,
    secret: bytes,
    *,
    org_id: str,
    project_id: str,
    env: str,
    scopes: list[str],
    expires_in: int | None = None,
    budget_cents: int | None = None,
    daily_unit_cap: int | None = None,
    label: str | None = None,
    allowed_origins: list[str] | None = None,
) -> IssuedKey:
    """Mint a key, store its hash, and return the plaintext once."""
    if env not in keys.ENVS:
        raise ValueError(f"env must be one of {keys.ENVS}")
    key_id = new_id("key", 9)
    expires_at = now_ms() + expires_in * 1000 if expires_in else None
    token = keys.mint(secret, keys.KeyClaims(key_id, org_id, env, expires_at))
    session.add(
        ApiKey(
            id=key_id,
            org_id=org_id,
            project_id=project_id,
            env=env,
            key_hash=keys.hash_key(token),
            scopes=list(scopes),
            expires_at=expires_at,
            budget_cents=budget_cents,
            daily_unit_cap=daily_unit_cap,
            label=label,
            allowed_origins=allowed_origins,
        )
    )
    await session.flush()
    return IssuedKey(token, key_id, org_id, project_id, env, list(scopes), expires_at, budget_cents, daily_unit_cap)


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.status == "active")
        .values(status="revoked", revoked_at=now_ms())
    )
    return result.rowcount > 0


async def set_org_status(session: AsyncSession, org_id: str, status: str) -> bool:
    result = await session.execute(update(Org).where(Org.id == org_id).values(status=status))
    return result.rowcount > 0


async def grant_credit(session: AsyncSession, org_id: str, cents: int, reason: str = "grant") -> None:
    if await session.get(Org, org_id) is None:
        raise LookupError(f"no org {org_id}")
    session.add(CreditGrant(org_id=org_id, cents=cents, reason=reason))
    await session.flush()


async def org_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Org)) or 0
