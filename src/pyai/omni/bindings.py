"""An agent's tool bindings: which tools its calls may use, each with its per-agent settings.

Bindings are replaced whole (``PUT /v1/agents/{id}/tools``, or ``tools`` in an agent body). Each
names a tool that resolves for the org now (a prebuilt one or the org's own) and carries settings
that meet the tool's ``config_schema``; a binding whose tool is deleted later stays, shown without
a name, so deleting a tool never silently rewrites an agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.closed_model import ClosedModel
from pyai.gateway.errors import ProblemError, bad_request
from pyai.omni.tool_config import bind_config, masked
from pyai.omni.tools import AnyTool, find_tools
from pyai.store.sealed import SecretBox

#: More tools than this make a model choose badly and cost tokens on every turn.
MAX_BINDINGS = 64


class BindingIn(ClosedModel):
    """A contract ``AgentToolBinding`` as written."""

    tool_id: str = Field(min_length=1, max_length=64)
    enabled: StrictBool = True
    config: dict[str, Any] = Field(default_factory=dict)
    # Shown on reads; accepted and ignored, so bindings read from an agent can be written back as they are.
    name: str | None = None
    description: str | None = None


Bindings = Annotated[list[BindingIn], Field(max_length=MAX_BINDINGS)]


async def bind_tools(
    s: AsyncSession,
    box: SecretBox,
    org_id: str,
    bindings: list[BindingIn],
    previous: list[dict[str, Any]],
    *,
    prefix: str,
    missing_status: int,
) -> list[dict[str, Any]]:
    """Bindings checked and ready to store (secret settings sealed, kept ones carried over from
    ``previous``). ``prefix`` leads the field names in errors (``tools.`` in an agent body); a tool
    that does not resolve is ``missing_status`` (400 in an agent body, 404 on the tools route)."""
    seen: set[str] = set()
    for i, binding in enumerate(bindings):
        if binding.tool_id in seen:
            where = f"{prefix}{i}.tool_id"
            raise bad_request(f"{where}: '{binding.tool_id}' is bound twice.", param=where)
        seen.add(binding.tool_id)
    tools = await find_tools(s, org_id, seen)
    kept = {b["tool_id"]: b["secrets"] for b in previous}
    stored = []
    for i, binding in enumerate(bindings):
        tool = tools.get(binding.tool_id)
        if tool is None:
            raise ProblemError(
                missing_status,
                "not_found" if missing_status == 404 else "unknown_tool",
                f"{prefix}{i}.tool_id: no tool '{binding.tool_id}' for this organization (see GET /v1/tools).",
                title="Unknown tool",
                param=f"{prefix}{i}.tool_id",
            )
        plain, sealed = bind_config(
            tool.config_schema, binding.config, kept.get(tool.id, {}), box, f"{prefix}{i}.config"
        )
        stored.append({"tool_id": tool.id, "enabled": binding.enabled, "config": plain, "secrets": sealed})
    return stored


def bindings_view(stored: list[dict[str, Any]], tools: dict[str, AnyTool]) -> list[dict[str, Any]]:
    """Bindings as the contract shows them: secrets masked, name and description where the tool resolves."""
    views = []
    for binding in stored:
        view = {
            "tool_id": binding["tool_id"],
            "enabled": binding["enabled"],
            "config": masked(binding["config"], binding["secrets"]),
        }
        if (tool := tools.get(binding["tool_id"])) is not None:
            view |= {"name": tool.name, "description": tool.description}
        views.append(view)
    return views
