"""The tools one call may use: the agent profile's enabled bindings, or the ``tools`` of a
``configure`` frame (tool ids, and inline client tools the connected app runs).

A tool whose status is not ``active`` is never offered. A configure frame's tool id uses the
profile's binding settings when the profile binds it (an engine tool like ``transfer_to_human``
needs its number), else none.
"""

from __future__ import annotations

import re
from typing import Any

from pyai.gateway.errors import ProblemError
from pyai.omni.conversation import OfferedTool
from pyai.omni.json_schema import check_object_schema
from pyai.omni.tools import TOOL_NAME_PATTERN, AnyTool, find_tools

MAX_CALL_TOOLS = 64
DEFAULT_CLIENT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 120_000


def offered(tool: AnyTool, config: dict[str, Any]) -> OfferedTool:
    return OfferedTool(
        name=tool.name,
        kind=tool.execution,
        description=tool.description or "",
        parameters=tool.input_schema or {"type": "object", "properties": {}},
        timeout_ms=tool.timeout_ms,
        side_effect=tool.side_effect,
        config=config,
        source=tool,
    )


async def call_tools(services: Any, org_id: str, bindings: list[dict], requested: object) -> list[OfferedTool]:
    """The call's tools; ``requested`` is the configure frame's ``tools`` (None: the profile's).
    ValueError names the bad entry (``tools[2].name: ...``)."""
    bound = {b["tool_id"]: b for b in bindings}
    if requested is None:
        wanted: list[Any] = [b["tool_id"] for b in bindings if b.get("enabled", True)]
    elif not isinstance(requested, list) or len(requested) > MAX_CALL_TOOLS:
        raise ValueError(f"tools: expected a list of at most {MAX_CALL_TOOLS} tool ids or client tools")
    else:
        wanted = requested
    ids = {entry for entry in wanted if isinstance(entry, str)}
    async with services.db.session() as s:
        found = await find_tools(s, org_id, ids)
    tools: list[OfferedTool] = []
    for i, entry in enumerate(wanted):
        if isinstance(entry, str):
            tool = found.get(entry)
            if tool is None:
                raise ValueError(f"tools[{i}]: no tool '{entry}' for this organization (see GET /v1/tools)")
            if tool.status == "active":
                tools.append(offered(tool, bound.get(entry, {}).get("config", {})))
        elif isinstance(entry, dict):
            tools.append(_inline_client_tool(entry, f"tools[{i}]"))
        else:
            raise ValueError(f"tools[{i}]: expected a tool id or a client tool object")
    names = [t.name for t in tools]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise ValueError(f"tools: two tools are named '{duplicate}'")
    return tools


def _inline_client_tool(entry: dict, where: str) -> OfferedTool:
    """``{"name", "description", "parameters", "timeout_ms"}``: a tool the connected app runs."""
    unknown = sorted(set(entry) - {"type", "name", "description", "parameters", "input_schema", "timeout_ms"})
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: not a client tool field")
    if entry.get("type", "client") != "client":
        raise ValueError(f"{where}.type: inline tools are client tools (register server tools with POST /v1/tools)")
    name = entry.get("name")
    if not isinstance(name, str) or re.fullmatch(TOOL_NAME_PATTERN, name) is None:
        raise ValueError(f"{where}.name: 1-64 letters, digits, _ or -, starting with a letter")
    description = entry.get("description", "")
    if not isinstance(description, str) or len(description) > 1024:
        raise ValueError(f"{where}.description: a string of at most 1024 characters")
    parameters = entry.get("parameters", entry.get("input_schema", {"type": "object", "properties": {}}))
    if not isinstance(parameters, dict):
        raise ValueError(f"{where}.parameters: expected a JSON Schema object")
    try:
        check_object_schema(parameters, f"{where}.parameters")
    except ProblemError as e:
        raise ValueError(e.detail) from None
    timeout = entry.get("timeout_ms", DEFAULT_CLIENT_TIMEOUT_MS)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 100 <= timeout <= MAX_TIMEOUT_MS:
        raise ValueError(f"{where}.timeout_ms: an integer from 100 to {MAX_TIMEOUT_MS}")
    return OfferedTool(name, "client", description, parameters, timeout, side_effect="action")
