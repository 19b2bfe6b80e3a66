"""``Idempotency-Key`` support: replay the first response for an identical retry, 409 otherwise."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError

from pyai.gateway.errors import ProblemError, bad_request
from pyai.store.db import Database
from pyai.store.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Idempotency:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def validate(key: str | None) -> str | None:
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
            raise bad_request("Idempotency-Key must be 1-255 characters.", param="Idempotency-Key")
        return key

    async def lookup(self, org_id: str, scope: str, key: str, body_hash: str) -> tuple[int, dict] | None:
        """The stored response for a replay, None for a new key, 409 for a reused key with a new body."""
        async with self.db.session() as s:
            rec = await s.get(IdempotencyRecord, (org_id, scope, key))
        if rec is None:
            return None
        if rec.request_hash != body_hash:
            raise ProblemError(
                409,
                "idempotency_conflict",
                "Idempotency-Key was already used with a different request body.",
                title="Idempotency conflict",
                param="Idempotency-Key",
            )
        return rec.status_code, rec.response

    async def store(self, org_id: str, scope: str, key: str, body_hash: str, status: int, response: dict) -> bool:
        """Record the response; False if a concurrent request with the same key won the race."""
        try:
            async with self.db.session() as s:
                s.add(
                    IdempotencyRecord(
                        org_id=org_id,
                        scope=scope,
                        key=key,
                        request_hash=body_hash,
                        status_code=status,
                        response=response,
                    )
                )
                await s.commit()
            return True
        except IntegrityError:
            return False
