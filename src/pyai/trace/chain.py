"""``pyai trace verify``: each org's scorecards re-hashed in chain order, so an edited scorecard,
an edited hash or a deleted record is found and named (docs/trace-rules.md, the audit chain)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pyai.store.trace_models import TraceInteraction
from pyai.trace import audit


async def verify_chains(s: Any, org_id: str | None = None) -> list[tuple[str, int, str | None]]:
    """``(org_id, scorecards, problem)`` per org; ``problem`` is None when its chain holds."""
    query = select(TraceInteraction.org_id, TraceInteraction.seq, TraceInteraction.id, TraceInteraction.scorecard)
    query = query.add_columns(TraceInteraction.audit_hash)
    if org_id is not None:
        query = query.where(TraceInteraction.org_id == org_id)
    rows = (await s.execute(query.order_by(TraceInteraction.org_id, TraceInteraction.seq))).all()
    by_org: dict[str, list[Any]] = {}
    for row in rows:
        by_org.setdefault(row[0], []).append(row)
    results = []
    for org, chain in by_org.items():
        problem = None
        gap = next((r for i, r in enumerate(chain, start=1) if r[1] != i), None)
        bad = audit.verify((r[2], r[3], r[4]) for r in chain)
        if bad is not None:
            seq = next(r[1] for r in chain if r[2] == bad)
            problem = f"record {bad} (seq {seq}) does not match its audit_hash: altered"
        elif gap is not None:
            problem = f"record {gap[2]} has seq {gap[1]}: a record before it is missing"
        results.append((org, len(chain), problem))
    return results
