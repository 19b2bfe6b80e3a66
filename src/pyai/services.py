"""The per-process service container hung on ``app.state.services``.

Built once in the app's lifespan (and by ``pyai worker``), so routers, realtime handlers and job
handlers all share one database pool, one blob store, one gateway and one job queue.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from pyai.gateway.auth import Gateway
from pyai.gateway.billing import Billing
from pyai.gateway.idempotency import Idempotency
from pyai.jobs.queue import JobQueue
from pyai.settings import Settings
from pyai.store.blobs import BlobStore
from pyai.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    billing: Billing
    gateway: Gateway
    jobs: JobQueue
    idempotency: Idempotency
    #: Lazily built engines and product singletons, keyed by name (see ``engine``).
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        settings.ensure_dirs()
        db = Database(settings.resolved_database_url)
        billing = Billing(db, settings.free_monthly_grant_cents, settings.key_cache_seconds)
        return cls(
            settings=settings,
            db=db,
            blobs=BlobStore(settings.blob_dir, settings.secret),
            billing=billing,
            gateway=Gateway(settings, db, billing),
            jobs=JobQueue(db, settings.job_lease_seconds),
            idempotency=Idempotency(db),
        )

    def singleton(self, name: str, factory) -> Any:  # noqa: ANN001 - zero-arg callable
        """Build an expensive object (an engine, a pool) once per process, on first use."""
        if name not in self.extras:
            self.extras[name] = factory()
        return self.extras[name]

    async def close(self) -> None:
        for extra in self.extras.values():  # engines with worker processes or pools
            if callable(close := getattr(extra, "close", None)) and inspect.isawaitable(closing := close()):
                await closing  # an async client (the LLM brain's)
        await self.gateway.close()
        await self.db.dispose()
