"""``/healthz``, ``/readyz`` and ``/metrics``: for probes and Prometheus, not part of the API contract.

Plain Starlette routes like the playground's, so the app-wide key guard and the access-table audit
(which cover FastAPI's API routes) leave them alone and the schema never lists them. See
docs/operations.md.

- ``GET /healthz``: the process is up and serving (liveness) — always ``200 {"status": "ok"}``.
- ``GET /readyz``: ``200`` when every check passes (database, migrations, Redis when configured,
  engines warm), else ``503``; ``503`` ``draining`` once a shutdown began (pyai/ops/health.py).
- ``GET /metrics``: Prometheus text. A 404 unless ``PYAI_METRICS_TOKEN`` is set (then it wants
  ``Authorization: Bearer <token>``) or ``PYAI_METRICS_OPEN=true`` (no token: private networks).
"""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from pyai.gateway.errors import ApiError, ProblemError
from pyai.ops import health, metrics

router = APIRouter()
log = logging.getLogger("pyai.ops")
NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def readyz(request: Request) -> Response:
    ready, body = await health.readiness(request.app.state.services)
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)


def _authorize_scrape(request: Request) -> None:
    settings = request.app.state.services.settings
    if settings.metrics_open:
        return
    if not settings.metrics_token:
        raise ProblemError(404, "not_found", f"No route {request.method} {request.url.path}.", title="Not found")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
        raise ApiError(401, "invalid_metrics_token", "GET /metrics needs Authorization: Bearer <PYAI_METRICS_TOKEN>.")


async def scrape(request: Request) -> Response:
    _authorize_scrape(request)
    try:
        await metrics.refresh_job_gauges(request.app.state.services.db)
    except Exception:  # the database is down: serve the process's own metrics anyway
        log.warning("metrics: job gauges not refreshed", exc_info=True)
    data, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(data, media_type=content_type, headers=NO_STORE)


router.add_route("/healthz", healthz, methods=["GET", "HEAD"], include_in_schema=False)
router.add_route("/readyz", readyz, methods=["GET", "HEAD"], include_in_schema=False)
router.add_route("/metrics", scrape, methods=["GET"], include_in_schema=False)
