"""Tools: an org's custom tools (register, change, delete) beside the prebuilt catalog.

A ``server`` tool is a webhook the executor calls (``pyai.omni.tool_executor``); a ``client`` tool
runs in the customer's connected app. Its ``webhook_url`` passes the SSRF guard when registered,
its ``auth_secret`` is sealed at rest and never shown (only ``has_auth``), and its calls are
signed with a per-tool secret derived from the server secret, shown once at creation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.closed_model import ClosedModel
from pyai.gateway.errors import ProblemError, bad_request
from pyai.jobs.webhooks import signing_secret
from pyai.omni.json_schema import check_object_schema
from pyai.omni.prebuilt_tools import PREBUILT, PREBUILT_NAMES, PrebuiltTool, prebuilt
from pyai.omni.tool_config import ConfigSchema
from pyai.omni.urls import vetted_url
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Tool
from pyai.store.sealed import secret_box
from pyai.store.tenancy import get_owned, owned

DEFAULT_TIMEOUT_MS = 5000
DEFAULT_AUTH_HEADER = "Authorization"
#: Headers the executor sets itself; an auth header may not replace them.
RESERVED_HEADERS = frozenset(
    (
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "connection",
        "transfer-encoding",
        "x-pyai-signature",
        "x-pyai-tool",
        "x-pyai-tool-call",
        "x-pyai-agent",
        "x-pyai-call",
    )
)
#: Fields an update may set to ``null`` (the rest always have a value).
NULLABLE = frozenset({"webhook_url", "auth_header", "auth_secret"})

AnyTool = Tool | PrebuiltTool
#: What a model calls a function by (OpenAI's function-name rule).
TOOL_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
ToolName = Annotated[str, StringConstraints(pattern=TOOL_NAME_PATTERN)]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
#: A header value: printable ASCII, so it cannot smuggle a line break into the request.
HeaderValue = Annotated[str, StringConstraints(pattern=r"^[\t\x20-\x7e]{1,4096}$")]


class _ToolSettings(ClosedModel):
    """What both a registration and an update may set."""

    description: str | None = Field(default=None, max_length=2000)
    input_schema: dict[str, Any] | None = None
    config_schema: ConfigSchema | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    execution: Literal["server", "client"] | None = None
    auth_header: HeaderName | None = None
    auth_secret: HeaderValue | None = None
    side_effect: Literal["read", "action"] | None = None
    timeout_ms: StrictInt | None = Field(default=None, ge=100, le=15000)


class ToolCreateIn(_ToolSettings):
    """The contract's ``ToolCreate``: ``name`` required; a new tool is active."""

    name: ToolName


class ToolUpdateIn(_ToolSettings):
    """The contract's ``ToolUpdate``: present fields are set, ``null`` clears a nullable one."""

    name: ToolName | None = None
    status: Literal["active", "disabled"] | None = None


def tool_signing_secret(server_secret: bytes, tool_id: str) -> str:
    """The secret a tool's webhook verifies ``X-PyAI-Signature`` with (``hmac_secret``)."""
    return signing_secret(server_secret, f"tool:{tool_id}")


def tool_view(tool: AnyTool) -> dict[str, Any]:
    """A tool in the contract's ``Tool`` shape; the auth secret shows only as ``has_auth``."""
    return {
        "object": "tool",
        "id": tool.id,
        "org_id": tool.org_id,
        "name": tool.name,
        "kind": "prebuilt" if isinstance(tool, PrebuiltTool) else "custom",
        "description": tool.description,
        "input_schema": tool.input_schema,
        "config_schema": tool.config_schema,
        "webhook_url": tool.webhook_url,
        "execution": tool.execution,
        "auth_header": tool.auth_header,
        "has_auth": tool.sealed_auth_secret is not None,
        "side_effect": tool.side_effect,
        "timeout_ms": tool.timeout_ms,
        "status": tool.status,
        "created_at": tool.created_at,
    }


async def find_tool(s: AsyncSession, org_id: str, tool_id: str) -> AnyTool | None:
    """A prebuilt tool, or one of the org's custom tools; None for anything else."""
    if (builtin := prebuilt(tool_id)) is not None:
        return builtin
    return await s.scalar(owned(Tool, org_id).where(Tool.id == tool_id))


async def find_tools(s: AsyncSession, org_id: str, tool_ids: set[str]) -> dict[str, AnyTool]:
    """The tools among ``tool_ids`` that resolve for the org, by id (one query for the custom ones)."""
    found: dict[str, AnyTool] = {t.id: t for t in PREBUILT if t.id in tool_ids}
    if custom := tool_ids - found.keys():
        found |= {t.id: t for t in await s.scalars(owned(Tool, org_id).where(Tool.id.in_(custom)))}
    return found


async def list_tools(s: AsyncSession, org_id: str) -> list[AnyTool]:
    """The prebuilt catalog, then the org's tools oldest first (a stable order)."""
    custom = await s.scalars(owned(Tool, org_id).order_by(Tool.created_at, Tool.id))
    return [*PREBUILT, *custom]


def _refuse_prebuilt(tool_id: str) -> None:
    """The catalog is the same for every org and read-only: a clear 409 rather than a 404."""
    if prebuilt(tool_id) is not None:
        raise ProblemError(
            409,
            "prebuilt_tool",
            f"Tool '{tool_id}' is a PyAI prebuilt tool and cannot be changed or deleted; set its per-agent "
            "settings on the agent's binding (PUT /v1/agents/{id}/tools), or create a custom tool.",
            title="Prebuilt tool",
            param="id",
        )


async def _vet_url(services, body: ToolCreateIn | ToolUpdateIn) -> None:  # noqa: ANN001
    """The SSRF guard on a new ``webhook_url``; it resolves DNS, so it runs before the database."""
    if body.webhook_url is not None:
        await vetted_url(body.webhook_url, "webhook_url", test_mode=services.settings.test_mode)


def _apply(services, tool: Tool, body: ToolCreateIn | ToolUpdateIn) -> None:  # noqa: ANN001
    """Set the fields present in ``body`` (``null`` clears a nullable one), then check the result."""
    for name in (n for n in type(body).model_fields if n in body.model_fields_set):  # a predictable first error
        value = getattr(body, name)
        if value is None and name not in NULLABLE:
            raise bad_request(f"{name}: cannot be null.", param=name)
        if name == "name" and value in PREBUILT_NAMES:
            raise _name_taken(value)
        if name == "input_schema":
            check_object_schema(value, "input_schema")
        elif name == "config_schema":
            value = value.dump()
        elif name == "auth_secret":
            tool.sealed_auth_secret = secret_box(services).seal(value) if value is not None else None
            continue
        setattr(tool, name, value)
    if tool.execution == "server" and not tool.webhook_url:
        raise bad_request("webhook_url: required for a tool with execution 'server'.", param="webhook_url")
    if tool.sealed_auth_secret is not None and tool.auth_header is None:
        tool.auth_header = DEFAULT_AUTH_HEADER
    if tool.auth_header is not None and tool.auth_header.lower() in RESERVED_HEADERS:
        raise bad_request(f"auth_header: {tool.auth_header} is set by the executor itself.", param="auth_header")
    tool.updated_at = now_ms()


def _name_taken(name: str) -> ProblemError:
    return ProblemError(
        409, "tool_name_taken", f"name: a tool named '{name}' already exists.", title="Name taken", param="name"
    )


async def _commit(s: AsyncSession, tool: Tool) -> None:
    """Commit; the unique (org, name) index turns a duplicate name into a 409, races included."""
    try:
        await s.commit()
    except IntegrityError:
        await s.rollback()
        raise _name_taken(tool.name) from None


async def create_tool(services, org_id: str, body: ToolCreateIn) -> Tool:  # noqa: ANN001
    tool = Tool(
        id=new_id("tool"),
        org_id=org_id,
        name=body.name,
        description="",
        input_schema={"type": "object", "properties": {}},
        config_schema={"fields": []},
        # "Defaults to server when webhook_url is set"; without one only the app can run it
        execution=body.execution or ("server" if body.webhook_url else "client"),
        side_effect="action",  # unless told otherwise, assume a call changes something
        timeout_ms=DEFAULT_TIMEOUT_MS,
        status="active",
    )
    await _vet_url(services, body)
    _apply(services, tool, body)
    async with services.db.session() as s:
        s.add(tool)
        await _commit(s, tool)
    return tool


async def update_tool(services, org_id: str, tool_id: str, body: ToolUpdateIn) -> Tool:  # noqa: ANN001
    _refuse_prebuilt(tool_id)
    await _vet_url(services, body)
    async with services.db.session() as s:
        tool = await get_owned(s, Tool, tool_id, org_id, "tool", for_update=True)
        _apply(services, tool, body)
        await _commit(s, tool)
    return tool


async def delete_tool(services, org_id: str, tool_id: str) -> None:  # noqa: ANN001
    """Delete a custom tool. Agents' bindings to it stay, shown without a name, until replaced."""
    _refuse_prebuilt(tool_id)
    async with services.db.session() as s:
        await s.delete(await get_owned(s, Tool, tool_id, org_id, "tool"))
        await s.commit()
