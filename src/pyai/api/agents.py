"""``/v1/agents``: optional agent profiles and their tool bindings (scope ``omni:session``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import RootModel

from pyai.api.bodies import json_body
from pyai.api.contract_docs import documented
from pyai.gateway.auth import caller
from pyai.gateway.principal import Principal
from pyai.omni.agents import (
    AgentConfigIn,
    create_agent,
    delete_agent,
    get_agent,
    list_agents,
    set_agent_tools,
    update_agent,
)
from pyai.omni.bindings import Bindings

router = APIRouter()


class BindingsIn(RootModel[Bindings]):
    """The body of ``PUT /v1/agents/{id}/tools``: a JSON array of bindings."""


@router.get("/v1/agents", **documented("/v1/agents", "get"))
async def list_all(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = None,
    p: Principal = caller(),
) -> dict:
    """Newest first, a page at a time (``limit``, ``cursor`` and ``next_cursor`` are extensions)."""
    return await list_agents(request.app.state.services, p.org_id, cursor, limit)


@router.post("/v1/agents", status_code=201, **documented("/v1/agents", "post"))
async def create(request: Request, p: Principal = caller()) -> JSONResponse:
    body = await json_body(request, AgentConfigIn)
    return JSONResponse(await create_agent(request.app.state.services, p.org_id, body), status_code=201)


@router.get("/v1/agents/{id}", **documented("/v1/agents/{id}", "get"))
async def get(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    return await get_agent(request.app.state.services, p.org_id, id)


@router.post("/v1/agents/{id}", **documented("/v1/agents/{id}", "post"))
async def update(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    body = await json_body(request, AgentConfigIn)
    return await update_agent(request.app.state.services, p.org_id, id, body)


@router.delete("/v1/agents/{id}", **documented("/v1/agents/{id}", "delete"))
async def delete(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    await delete_agent(request.app.state.services, p.org_id, id)
    return {"object": "agent.deleted", "agent_id": id, "deleted": True}


@router.put("/v1/agents/{id}/tools", **documented("/v1/agents/{id}/tools", "put"))
async def set_tools(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    body = await json_body(request, BindingsIn)
    return {"object": "list", "data": await set_agent_tools(request.app.state.services, p.org_id, id, body.root)}
