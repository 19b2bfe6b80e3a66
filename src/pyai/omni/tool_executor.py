"""The tool executor: runs one tool call for the conversation engine (and for ``/v1/tools/{id}/test``).

- ``server`` tools: the arguments are POSTed as JSON to the tool's ``webhook_url``, signed like
  job webhooks (``X-PyAI-Signature: t=<unix s>,v1=<hex HMAC-SHA256("<t>.<raw body>")>``, keyed
  with the tool's ``hmac_secret``), with the tool's auth header, within ``timeout_ms`` (the whole
  call: DNS, connect, answer), through the SSRF guard again (DNS may have changed since the URL
  was registered), never following a redirect, reading at most ``MAX_RESULT_BYTES``.
- ``hosted`` tools run in-process (``knowledge_search`` searches the agent's knowledge base).
- ``engine`` and ``client`` tools are not run here: the call engine and the customer's app run them.

Every call is recorded in ``tool_calls`` (outcome, latency, error), never its arguments or result:
those are the caller's words and the customer's data. A failure is an outcome, not an exception,
because the engine hands it to the model as the tool's answer. Whether a tool may be called at all
(its ``status``, the binding's ``enabled``) is the engine's decision, so a test can run a disabled
tool.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pyai import safe_json
from pyai.gateway.errors import ProblemError
from pyai.jobs.webhooks import signature
from pyai.knowledge.service import search_kb
from pyai.net.ssrf import UnsafeUrlError, post_limited
from pyai.omni.json_schema import first_error
from pyai.omni.tools import AnyTool, tool_signing_secret
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent, ToolCall
from pyai.store.sealed import secret_box
from pyai.store.tenancy import owned

#: A tool's answer goes back into the model's context; more than this is a broken endpoint.
MAX_RESULT_BYTES = 256 * 1024
MAX_ERROR_CHARS = 500
USER_AGENT = "PyAI-Tools/1"


class ToolFailure(Exception):
    """A call that produced no result; the message is safe to show the customer and to keep."""


class ToolTimeout(ToolFailure):
    """The tool did not answer within its ``timeout_ms``."""


@dataclass(frozen=True)
class ToolOutcome:
    tool_call_id: str
    ok: bool
    result: Any
    error: str | None
    latency_ms: int
    timed_out: bool = False


async def execute(
    services,  # noqa: ANN001
    org_id: str,
    tool: AnyTool,
    arguments: Any,
    *,
    agent_id: str | None = None,
    call_id: str | None = None,
) -> ToolOutcome:
    """Run ``tool`` with ``arguments`` (checked against its ``input_schema`` first) and record the call."""
    if tool.execution not in ("server", "hosted"):
        raise ValueError(f"{tool.execution} tools are run by the call engine or the app, not the executor")
    record_id, started_at = new_id("tc"), now_ms()
    started = time.perf_counter()
    result, error, timed_out = None, None, False
    try:
        if problem := first_error(tool.input_schema, arguments, "arguments", quote_values=False):
            raise ToolFailure("{}: {}".format(*problem))
        if tool.execution == "server":
            result = await _call_webhook(services, tool, arguments, record_id, agent_id, call_id)
        else:
            result = await HOSTED[tool.name](services, org_id, arguments, agent_id)
    except ToolFailure as e:
        error = str(e)[:MAX_ERROR_CHARS]
        timed_out = isinstance(e, ToolTimeout)
    latency_ms = round((time.perf_counter() - started) * 1000)
    await record_call(
        services, org_id, tool, record_id, started_at, error, latency_ms, agent_id=agent_id, call_id=call_id
    )
    return ToolOutcome(record_id, error is None, result, error, latency_ms, timed_out)


async def record_call(
    services,  # noqa: ANN001
    org_id: str,
    tool: AnyTool,
    record_id: str,
    started_at: int,
    error: str | None,
    latency_ms: int,
    *,
    agent_id: str | None,
    call_id: str | None,
) -> None:
    """Add one call to the audit log (``GET /v1/tools/calls``): its outcome, never its data. The
    call engine records client tools here too, which the app ran."""
    async with services.db.session() as s:
        s.add(
            ToolCall(
                id=record_id,
                org_id=org_id,
                tool_id=tool.id,
                tool_name=tool.name,
                execution=tool.execution,
                agent_id=agent_id,
                call_id=call_id,
                ok=error is None,
                error=error,
                latency_ms=latency_ms,
                created_at=started_at,
            )
        )
        await s.commit()


async def _call_webhook(
    services,  # noqa: ANN001
    tool: AnyTool,
    arguments: Any,
    record_id: str,
    agent_id: str | None,
    call_id: str | None,
) -> Any:
    body = json.dumps(arguments, separators=(",", ":")).encode()
    secret = tool_signing_secret(services.settings.secret, tool.id)
    headers = {
        "X-PyAI-Signature": signature(secret, int(time.time()), body),
        "X-PyAI-Tool": tool.name,
        "X-PyAI-Tool-Call": record_id,
        "User-Agent": USER_AGENT,
    }
    headers |= {name: value for name, value in (("X-PyAI-Agent", agent_id), ("X-PyAI-Call", call_id)) if value}
    if tool.sealed_auth_secret is not None:
        headers[tool.auth_header] = secret_box(services).open(tool.sealed_auth_secret)
    timeout_s = tool.timeout_ms / 1000
    try:
        async with asyncio.timeout(timeout_s):
            status, content = await post_limited(
                tool.webhook_url,
                body,
                headers,
                max_bytes=MAX_RESULT_BYTES,
                timeout=timeout_s,
                allow_loopback=services.settings.test_mode,
            )
    except (TimeoutError, httpx.TimeoutException):
        raise ToolTimeout(f"the webhook did not answer within timeout_ms ({tool.timeout_ms} ms)") from None
    except UnsafeUrlError as e:
        raise ToolFailure(f"webhook call refused: {e}") from None
    except httpx.HTTPError as e:
        raise ToolFailure(f"could not reach the webhook ({type(e).__name__})") from None
    if not 200 <= status < 300:
        raise ToolFailure(f"the webhook answered HTTP {status}")
    if not content.strip():
        return None
    try:
        return safe_json.loads(content)
    except safe_json.InvalidJSON as e:
        raise ToolFailure(f"the webhook's answer {e}") from None


async def _knowledge_search(services, org_id: str, arguments: dict, agent_id: str | None) -> dict:  # noqa: ANN001
    """Passages from the agent's knowledge base, as ``GET /v1/knowledge-bases/{id}/search`` returns them."""
    if agent_id is None:
        raise ToolFailure("knowledge_search searches an agent's knowledge base; give the agent_id")
    async with services.db.session() as s:
        agent = await s.scalar(owned(Agent, org_id).where(Agent.id == agent_id))
    if agent is None or agent.knowledge_base_id is None:
        raise ToolFailure(f"agent '{agent_id}' has no knowledge_base_id to search")
    try:
        hits = await search_kb(services, org_id, agent.knowledge_base_id, arguments["query"], arguments.get("k", 3))
    except ProblemError as e:  # the knowledge base was deleted after it was set on the agent
        raise ToolFailure(e.detail) from None
    return {"results": hits}


HOSTED: dict[str, Callable[..., Awaitable[Any]]] = {"knowledge_search": _knowledge_search}


def tool_call_view(row: ToolCall) -> dict[str, Any]:
    """A recorded call in the contract's ``ToolCall`` shape (``tool_id`` is an extension)."""
    return {
        "object": "tool.call",
        "id": row.id,
        "tool_id": row.tool_id,
        "tool_name": row.tool_name,
        "agent_id": row.agent_id,
        "call_id": row.call_id,
        "execution": row.execution,
        "ok": row.ok,
        "error": row.error,
        "latency_ms": row.latency_ms,
        "ts": row.created_at,
    }
