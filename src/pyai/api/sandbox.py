"""``POST /v1/sandbox/keys``: mint a throwaway test key with no auth, rate-limited per network."""

from __future__ import annotations

import ipaddress
import re

from fastapi import APIRouter, Request
from limits import RateLimitItemPerHour
from pydantic import BaseModel, Field

from pyai.api.bodies import optional_json_body
from pyai.api.contract_docs import documented
from pyai.gateway import identity, scopes
from pyai.gateway.errors import ProblemError

router = APIRouter(tags=["Sandbox"])
_LABEL_JUNK = re.compile(r"[^\w .\-]+")


class SandboxKeyRequest(BaseModel):
    label: str | None = Field(default=None, max_length=64)


def source_network(request: Request) -> str:
    """The caller's /24 (IPv4) or /64 (IPv6): one person rotating addresses shares one bucket."""
    host = request.client.host if request.client else "0.0.0.0"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@router.post("/v1/sandbox/keys", status_code=201, **documented("/v1/sandbox/keys", "post"))
async def create_sandbox_key(request: Request) -> dict:
    services = request.app.state.services
    settings = services.settings
    if not settings.sandbox_enabled:
        raise ProblemError(404, "not_found", "Sandbox-key minting is disabled on this deployment.")
    body = await optional_json_body(request, SandboxKeyRequest)  # a bad body spends no mint
    item = RateLimitItemPerHour(settings.sandbox_mints_per_hour)
    await services.gateway.rate.hit("sandbox:" + source_network(request), item=item)
    label = _LABEL_JUNK.sub("", (body.label if body else None) or "").strip()[:64] or "sandbox"
    async with services.db.session() as s:
        org, project = await identity.create_org(s, f"sandbox: {label}", plan="sandbox")
        key = await identity.issue_key(
            s,
            settings.secret,
            org_id=org.id,
            project_id=project.id,
            env="test",
            scopes=list(scopes.SANDBOX_SCOPES),
            expires_in=settings.sandbox_key_ttl_seconds,
            daily_unit_cap=settings.sandbox_daily_unit_cap,
            label=label,
        )
        await s.commit()
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return {
        "object": "sandbox.key",
        "api_key": key.api_key,
        "key_id": key.key_id,
        "org_id": key.org_id,
        "project_id": key.project_id,
        "environment": "test",
        "scopes": key.scopes,
        "expires_at": key.expires_at,
        "base_url": base,
        "docs": f"{base}/docs",
        "note": f"Test key: no credit gate, daily cap {settings.sandbox_daily_unit_cap} units "
        "(metered seconds), expires automatically. Keep it in an env var.",
    }
