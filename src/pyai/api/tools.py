"""``/v1/tools``: the prebuilt catalog, custom tools, test calls and the call log (``omni:session``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from pyai.api.bodies import json_body, optional_json_body
from pyai.api.contract_docs import documented
from pyai.closed_model import ClosedModel
from pyai.gateway.auth import caller
from pyai.gateway.errors import bad_request, not_found
from pyai.gateway.principal import Principal
from pyai.omni.json_schema import first_error
from pyai.omni.tool_executor import execute, tool_call_view
from pyai.omni.tools import (
    ToolCreateIn,
    ToolUpdateIn,
    create_tool,
    delete_tool,
    find_tool,
    list_tools,
    tool_signing_secret,
    tool_view,
    update_tool,
)
from pyai.store.omni_models import Agent, ToolCall
from pyai.store.pagination import newest_first, page
from pyai.store.tenancy import owned

router = APIRouter()


class ToolTestIn(ClosedModel):
    """Extension: what to call the tool with. The contract's test takes no body; without one the
    tool is called with ``{}``."""

    arguments: dict[str, Any] = Field(default_factory=dict)
    agent_id: str | None = Field(default=None, max_length=40)  # whose knowledge base knowledge_search reads
    #: Recorded on the call and sent as ``X-PyAI-Call``, as a live call's session label is: header-safe.
    call_id: Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]{1,256}$")] | None = None


@router.get("/v1/tools", **documented("/v1/tools", "get"))
async def list_all(request: Request, p: Principal = caller()) -> dict:
    async with request.app.state.services.db.session() as s:
        tools = await list_tools(s, p.org_id)
    return {"object": "list", "data": [tool_view(t) for t in tools], "has_more": False}


@router.post("/v1/tools", status_code=201, **documented("/v1/tools", "post"))
async def create(request: Request, p: Principal = caller()) -> JSONResponse:
    services = request.app.state.services
    tool = await create_tool(services, p.org_id, await json_body(request, ToolCreateIn))
    created = {**tool_view(tool), "hmac_secret": tool_signing_secret(services.settings.secret, tool.id)}
    return JSONResponse(created, status_code=201)


# Registered before /v1/tools/{id}, which would otherwise take "calls" for an id.
@router.get("/v1/tools/calls", **documented("/v1/tools/calls", "get"))
async def list_calls(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    tool_id: str | None = None,
    agent_id: str | None = None,
    p: Principal = caller(),
) -> dict:
    """Newest first; ``cursor``, ``tool_id`` and ``agent_id`` are extensions."""
    query = owned(ToolCall, p.org_id)
    if tool_id:
        query = query.where(ToolCall.tool_id == tool_id)
    if agent_id:
        query = query.where(ToolCall.agent_id == agent_id)
    async with request.app.state.services.db.session() as s:
        rows = list(await s.scalars(newest_first(query, ToolCall, cursor, limit)))
    return page(rows, limit, tool_call_view)


@router.get("/v1/tools/{id}", **documented("/v1/tools/{id}", "get"))
async def get(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    async with request.app.state.services.db.session() as s:
        tool = await find_tool(s, p.org_id, id)
    if tool is None:
        raise not_found("tool", id)
    return tool_view(tool)


@router.post("/v1/tools/{id}", **documented("/v1/tools/{id}", "post"))
async def update(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    body = await json_body(request, ToolUpdateIn)
    return tool_view(await update_tool(request.app.state.services, p.org_id, id, body))


@router.delete("/v1/tools/{id}", **documented("/v1/tools/{id}", "delete"))
async def delete(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    await delete_tool(request.app.state.services, p.org_id, id)
    return {"object": "tool.deleted", "tool_id": id, "deleted": True}


@router.post("/v1/tools/{id}/test", **documented("/v1/tools/{id}/test", "post"))
async def test(request: Request, id: str, p: Principal = caller()) -> dict:  # noqa: A002
    """Call the tool for real (server and hosted tools) and say how it went; the call is logged like
    any other. Engine and client tools run elsewhere, so for them only the arguments are checked."""
    services = request.app.state.services
    body = await optional_json_body(request, ToolTestIn) or ToolTestIn()
    async with services.db.session() as s:
        tool = await find_tool(s, p.org_id, id)
        if tool is None:
            raise not_found("tool", id)
        if body.agent_id and await s.scalar(owned(Agent, p.org_id).where(Agent.id == body.agent_id)) is None:
            raise bad_request(f"agent_id: no agent '{body.agent_id}' for this organization.", param="agent_id")
    result: dict[str, Any] = {"object": "tool.test", "tool_id": tool.id, "name": tool.name}
    if tool.execution in ("engine", "client"):
        problem = first_error(tool.input_schema, body.arguments, "arguments")
        runs_in = "the Omni call engine" if tool.execution == "engine" else "your connected app"
        message = "{}: {}".format(*problem) if problem else f"arguments are valid; {tool.name} runs in {runs_in}"
        return {**result, "ok": problem is None, "message": message}
    outcome = await execute(services, p.org_id, tool, body.arguments, agent_id=body.agent_id, call_id=body.call_id)
    return {
        **result,
        "ok": outcome.ok,
        "message": outcome.error or f"{tool.name} answered in {outcome.latency_ms} ms",
        "result": outcome.result,
        "latency_ms": outcome.latency_ms,
        "tool_call_id": outcome.tool_call_id,
    }
