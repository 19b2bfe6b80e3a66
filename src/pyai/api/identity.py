"""``GET /v1/me``: the calling key's identity, limits and credit posture."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pyai.gateway.auth import caller
from pyai.gateway.principal import Principal

router = APIRouter(tags=["Identity"])


@router.get("/v1/me", operation_id="getMe", summary="Introspect the calling key (whoami)")
async def get_me(request: Request, p: Principal = caller()) -> dict:
    services = request.app.state.services
    settings = services.settings
    billing = services.billing
    return {
        "object": "identity",
        "key_id": p.key_id,
        "org_id": p.org_id,
        "project_id": p.project_id,
        "env": p.env,
        "status": p.status,
        "org_status": p.org_status,
        "scopes": list(p.scopes),
        "expires_at": p.expires_at,
        "plan": p.plan,
        "limits": {
            "rps": settings.rate_limit_rps,
            "burst": max(settings.rate_limit_burst, settings.rate_limit_rps),
            "concurrency": settings.realtime_concurrency,
            "monthly_units": p.monthly_units,
            "daily_unit_cap": p.daily_unit_cap if p.is_test else None,
        },
        "credit": {"gated": billing.is_gated(p), "available_cents": await billing.available_cents(p)},
        "key_budget_cents": p.budget_cents,
    }
