"""``/v1/knowledge-bases``: hosted knowledge for Cue grounding (documented extension; scope
``omni:session``). See docs/knowledge.md."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pyai.api.bodies import json_body, multipart_form, read_upload
from pyai.gateway.auth import caller
from pyai.gateway.principal import Principal
from pyai.knowledge.models import KnowledgeBase
from pyai.knowledge.service import add_document, delete_kb, kb_view, search_kb
from pyai.store.ids import new_id
from pyai.store.tenancy import get_owned, owned

router = APIRouter(tags=["Knowledge (extension)"])


class KnowledgeBaseIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=2000)


@router.post(
    "/v1/knowledge-bases",
    status_code=201,
    summary="Create a knowledge base",
    description="A container of documents that Cue (and Omni) ground answers in.",
)
async def create_kb(request: Request, p: Principal = caller()) -> JSONResponse:
    services = request.app.state.services
    body = await json_body(request, KnowledgeBaseIn)
    kb = KnowledgeBase(id=new_id("kb"), org_id=p.org_id, name=body.name, description=body.description)
    async with services.db.session() as s:
        s.add(kb)
        await s.commit()
    return JSONResponse(await kb_view(services, kb), status_code=201)


@router.get("/v1/knowledge-bases", summary="List knowledge bases", description="Newest first.")
async def list_kbs(request: Request, limit: int = Query(20, ge=1, le=100), p: Principal = caller()) -> dict:
    services = request.app.state.services
    async with services.db.session() as s:
        rows = (
            await s.scalars(
                owned(KnowledgeBase, p.org_id)
                .order_by(KnowledgeBase.created_at.desc(), KnowledgeBase.id.desc())
                .limit(limit)
            )
        ).all()
    return {"object": "list", "data": [await kb_view(services, kb) for kb in rows]}


@router.get("/v1/knowledge-bases/{id}", summary="Get a knowledge base")
async def get_kb(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    services = request.app.state.services
    async with services.db.session() as s:
        kb = await get_owned(s, KnowledgeBase, id, p.org_id, "knowledge base")
    return await kb_view(services, kb)


@router.delete("/v1/knowledge-bases/{id}", summary="Delete a knowledge base and its documents")
async def remove_kb(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    await delete_kb(request.app.state.services, p.org_id, id)
    return {"id": id, "object": "knowledge_base", "deleted": True}


@router.post(
    "/v1/knowledge-bases/{id}/documents",
    status_code=201,
    summary="Add a document",
    description="Multipart `file` (.txt, .md or .pdf; optional `content_type`), chunked and indexed.",
)
async def upload_document(request: Request, id: str, p: Principal = caller()) -> JSONResponse:  # noqa: A002
    services = request.app.state.services
    form = await multipart_form(request, "file")
    data, filename = await read_upload(form, "file", services.settings.max_upload_bytes)
    declared = str(form.get("content_type")) if form.get("content_type") else None
    doc = await add_document(services, p.org_id, id, filename, data, declared)
    return JSONResponse(
        {
            "id": doc.id,
            "object": "knowledge_base.document",
            "knowledge_base_id": id,
            "filename": doc.filename,
            "content_type": doc.content_type,
            "bytes": doc.bytes,
            "chunks": doc.chunks,
            "created_at": doc.created_at,
        },
        status_code=201,
    )


@router.get(
    "/v1/knowledge-bases/{id}/search",
    summary="Search a knowledge base",
    description="Top-k passages for a question, scores normalised to 0..1 (what Cue grounding returns).",
)
async def search(
    request: Request,
    id: str,
    q: str = Query(..., max_length=2000),  # noqa: A002
    k: int = Query(3, ge=1, le=20),
    p: Principal = caller(),
) -> dict:
    return {"object": "list", "data": await search_kb(request.app.state.services, p.org_id, id, q, k)}
