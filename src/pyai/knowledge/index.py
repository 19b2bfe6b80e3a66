"""Full-text retrieval over an org's knowledge base: FTS5 BM25 on SQLite, ``ts_rank_cd`` on
PostgreSQL. Spoken questions become an OR of their content words, so no user text can produce a
query syntax error. Scores are mapped to 0..1 with ``s / (s + 1)`` of the engine's relevance
(BM25 sign-flipped on SQLite), monotonic in relevance and comparable across queries enough for
``grounding_min_score``."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from had has have how i if in is it its me my "
    "of on or our please should so than that the their them then there these they this to us was we "
    "what when where which who why will with would you your".split()
)
MAX_TERMS = 16


def query_terms(question: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", question.lower())
    terms = [w for w in words if w not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


async def index_chunks(session: AsyncSession, rows: list[tuple[int, str, str, str]]) -> None:
    """Add (chunk_id, content, kb_id, org_id) rows to the SQLite FTS table (PostgreSQL indexes itself)."""
    if session.bind.dialect.name == "sqlite":
        await session.execute(
            text("INSERT INTO kb_chunks_fts(rowid, content, kb_id, org_id) VALUES (:id, :content, :kb, :org)"),
            [{"id": i, "content": c, "kb": kb, "org": org} for i, c, kb, org in rows],
        )


async def unindex_kb(session: AsyncSession, kb_id: str) -> None:
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("DELETE FROM kb_chunks_fts WHERE kb_id = :kb"), {"kb": kb_id})


async def search(session: AsyncSession, org_id: str, kb_id: str, question: str, k: int) -> list[dict]:
    terms = query_terms(question)
    if not terms:
        return []
    params = {"org": org_id, "kb": kb_id, "k": k}
    if session.bind.dialect.name == "sqlite":
        params["q"] = " OR ".join(f'"{t}"' for t in terms)
        sql = (
            "SELECT c.id, c.content, c.document_id, -bm25(kb_chunks_fts) AS s FROM kb_chunks_fts "
            "JOIN kb_chunks c ON c.id = kb_chunks_fts.rowid WHERE kb_chunks_fts MATCH :q "
            "AND kb_chunks_fts.kb_id = :kb AND kb_chunks_fts.org_id = :org ORDER BY s DESC LIMIT :k"
        )
    else:
        params["q"] = " | ".join(terms)
        sql = (
            "SELECT id, content, document_id, ts_rank_cd(tsv, q) * 10 AS s FROM kb_chunks, "
            "to_tsquery('english', :q) q WHERE tsv @@ q AND kb_id = :kb AND org_id = :org "
            "ORDER BY s DESC LIMIT :k"
        )
    rows = (await session.execute(text(sql), params)).all()
    return [
        {"content": r.content, "score": round(max(r.s, 0.0) / (max(r.s, 0.0) + 1.0), 4), "document_id": r.document_id}
        for r in rows
    ]
