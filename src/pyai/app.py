"""The ASGI application: routers, middleware, error envelopes, lifespan (services, workers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from pyai.api import (
    agents,
    body_limits,
    error_handlers,
    files,
    identity,
    knowledge,
    models,
    not_implemented,
    omni_calls,
    omni_sessions,
    ops,
    playground,
    recap,
    sandbox,
    speech,
    telephony,
    tools,
    trace,
    transcription_jobs,
    transcriptions,
    upgrade_required,
    voice_clones,
    voice_design,
    voices,
)
from pyai.api.served import served_operations
from pyai.contract import HTTP_METHODS, seed_operations, seed_spec
from pyai.gateway import access
from pyai.gateway.auth import guard
from pyai.hear.engine import partial_workers, warm_stream_models
from pyai.jobs.worker import Worker
from pyai.middleware import BodyLimitMiddleware, RequestIdMiddleware
from pyai.ops import drain, health, tracing
from pyai.ops.metrics import MetricsMiddleware
from pyai.realtime import audiosocket_bridge, hear_stream, omni_session, openai_session, sip_bridge, twilio_stream
from pyai.services import Services
from pyai.settings import Settings
from pyai.speak.synthesis import tts_engine
from pyai.telephony.audiosocket import start_audiosocket_server
from pyai.telephony.sip.server import start_sip_server

log = logging.getLogger("pyai.app")

ROUTERS = (
    identity.router,
    models.router,
    sandbox.router,
    files.router,
    transcriptions.router,
    hear_stream.router,
    omni_session.router,
    openai_session.router,
    omni_sessions.router,
    trace.router,
    recap.router,
    telephony.router,
    twilio_stream.router,
    omni_calls.router,
    transcription_jobs.router,
    speech.router,
    voices.router,
    voice_clones.router,
    voice_design.router,
    knowledge.router,
    agents.router,
    tools.router,
    playground.router,  # not part of the contract: plain routes, outside the guard and the schema
    ops.router,  # /healthz, /readyz, /metrics: likewise (docs/operations.md)
)


def _openapi(app: FastAPI) -> dict:
    """Our generated description, dressed in the contract's info/security, plus WebSocket ops.

    FastAPI does not describe WebSocket routes, so the contract's own operation text is used for
    those paths; everything else comes from the routes actually mounted.
    """
    if app.openapi_schema:
        return app.openapi_schema
    seed = seed_spec()
    doc = get_openapi(
        title=seed["info"]["title"],
        version=seed["info"]["version"],
        routes=app.routes,
        description=seed["info"]["description"],
        tags=seed.get("tags"),
    )
    doc["servers"] = seed.get("servers", [])
    doc["security"] = seed.get("security", [])
    components = doc.setdefault("components", {})
    components["securitySchemes"] = seed["components"]["securitySchemes"]
    for name, schema in seed["components"]["schemas"].items():
        components.setdefault("schemas", {}).setdefault(name, schema)
    for name, resp in seed["components"]["responses"].items():
        components.setdefault("responses", {}).setdefault(name, resp)
    for path, item in seed["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                doc["paths"].setdefault(path, {}).setdefault(method, op)
    app.openapi_schema = doc
    return doc


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    tracing.setup(settings)  # PYAI_OTEL_ENABLED: spans by OTLP (docs/operations.md)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings)
        app.state.services = services
        # so a first stream does not wait for worker processes and models to load
        partial_workers(services).warm()
        asyncio.get_running_loop().run_in_executor(None, health.track_warmup("stream_models", warm_stream_models))
        asyncio.get_running_loop().run_in_executor(None, health.track_warmup("tts", tts_engine(services).warm))
        worker = None
        if settings.worker_in_process:
            if services.db.is_sqlite:
                released = await services.jobs.release_all_running()
                if released:
                    log.info("re-queued %d job(s) orphaned by the previous run", released)
            worker = Worker(services.jobs, services, settings.job_poll_seconds)
            worker.start()
        pbx = None
        if settings.audiosocket_port is not None:  # phone calls from an Asterisk PBX (docs/telephony.md)
            pbx = await start_audiosocket_server(
                settings.audiosocket_host,
                settings.audiosocket_port,
                lambda conn: audiosocket_bridge.answer(services, services.gateway, conn),
            )
        sip = None
        if settings.sip_port is not None:  # calls placed over SIP by a PBX or trunk (docs/telephony.md)
            sip = await start_sip_server(
                settings.sip_host,
                settings.sip_port,
                settings.sip_advertised_host,
                lambda incoming: sip_bridge.answer(services, services.gateway, incoming),
            )
        try:
            yield
        finally:
            drain.begin()  # no new sessions from here on, however the server was stopped
            if pbx is not None:
                await pbx.close()
            if sip is not None:
                await sip.close()
            if worker:
                await worker.stop()
            await services.close()

    # Every route, built or stub, HTTP or WebSocket, is admitted by ``guard`` per the access table.
    app = FastAPI(
        title="PyAI API",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        dependencies=[Depends(guard)],
        telemetry=tracing.FASTAPI_TELEMETRY,  # FastAPI's own spans off: they record raw URLs (?api_key=)
    )
    for router in ROUTERS:
        app.include_router(router)
    not_implemented.install(app)
    upgrade_required.install(app)
    access.audit(served_operations(app), seed_operations())
    error_handlers.install(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits.BodyLimits(settings))
    app.add_middleware(MetricsMiddleware)  # by route template; outside the body guard, so 413s count
    if tracing.enabled():
        app.add_middleware(tracing.TracingMiddleware)  # the gateway span, inside the request id
    app.add_middleware(RequestIdMiddleware)  # outermost: the body guard's 413 carries the request id
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
