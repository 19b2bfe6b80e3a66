"""Knowledge bases: create, ingest documents (chunk + index), delete, search — all org-scoped."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from pyai.gateway.errors import bad_request
from pyai.knowledge import index
from pyai.knowledge.chunking import DocumentError, chunk, extract_text
from pyai.knowledge.models import KbChunk, KbDocument, KnowledgeBase
from pyai.store.ids import new_id
from pyai.store.tenancy import get_owned

CONTENT_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain", ".pdf": "application/pdf"}


def content_type_of(filename: str, declared: str | None) -> str:
    if declared in CONTENT_TYPES.values():
        return declared
    for ext, ctype in CONTENT_TYPES.items():
        if filename.lower().endswith(ext):
            return ctype
    raise bad_request(
        "file: unsupported document type; upload .txt, .md or .pdf (or set content_type to "
        "text/plain, text/markdown or application/pdf).",
        param="file",
    )


async def add_document(
    services,
    org_id: str,
    kb_id: str,
    filename: str,
    data: bytes,  # noqa: ANN001
    declared_type: str | None,
) -> KbDocument:
    ctype = content_type_of(filename, declared_type)
    try:
        passages = chunk(extract_text(data, ctype))
    except DocumentError as e:
        raise bad_request(f"file: {e}", param="file", code="invalid_document") from None
    async with services.db.session() as s:
        await get_owned(s, KnowledgeBase, kb_id, org_id, "knowledge base")
        doc = KbDocument(
            id=new_id("doc"),
            kb_id=kb_id,
            org_id=org_id,
            filename=filename[:256],
            content_type=ctype,
            bytes=len(data),
            chunks=len(passages),
        )
        s.add(doc)
        await s.flush()  # no ORM relationship orders the inserts, so the parent row goes first
        rows = [
            KbChunk(kb_id=kb_id, org_id=org_id, document_id=doc.id, ordinal=i, content=p)
            for i, p in enumerate(passages)
        ]
        s.add_all(rows)
        await s.flush()
        await index.index_chunks(s, [(r.id, r.content, kb_id, org_id) for r in rows])
        await s.commit()
    return doc


async def delete_kb(services, org_id: str, kb_id: str) -> None:  # noqa: ANN001
    async with services.db.session() as s:
        kb = await get_owned(s, KnowledgeBase, kb_id, org_id, "knowledge base")
        await index.unindex_kb(s, kb_id)
        await s.execute(delete(KbChunk).where(KbChunk.kb_id == kb_id))
        await s.execute(delete(KbDocument).where(KbDocument.kb_id == kb_id))
        await s.delete(kb)
        await s.commit()


async def kb_view(services, kb: KnowledgeBase) -> dict:  # noqa: ANN001
    async with services.db.session() as s:
        docs, chunks = (
            await s.execute(
                select(func.count(KbDocument.id), func.coalesce(func.sum(KbDocument.chunks), 0)).where(
                    KbDocument.kb_id == kb.id
                )
            )
        ).one()
    return {
        "id": kb.id,
        "object": "knowledge_base",
        "name": kb.name,
        "description": kb.description,
        "created_at": kb.created_at,
        "document_count": docs,
        "chunk_count": int(chunks),
    }


async def search_kb(services, org_id: str, kb_id: str, question: str, k: int) -> list[dict]:  # noqa: ANN001
    async with services.db.session() as s:
        await get_owned(s, KnowledgeBase, kb_id, org_id, "knowledge base")
        return await index.search(s, org_id, kb_id, question, k)
