"""Agent profiles: optional, pre-stored Omni session config (persona, voice, knobs, knowledge, tools).

Everything a profile names is checked when it is written, against the org, so a call never starts
from a profile that cannot work: the voice resolves (stock, OpenAI preset, or the org's own ready
clone or design), URLs pass the SSRF guard, the knowledge base exists, and every bound tool
resolves with settings that meet its ``config_schema``. Updates are partial: present fields are
set, ``null`` clears (back to the default where the field has one), absent fields stay.

``kb_endpoint`` and ``knowledge_base_id`` are extensions (the contract sells profiles as
"persona+voice+KB+tools" but names no KB field): the customer knowledge endpoint Cue already
calls, and a hosted knowledge base that the prebuilt ``knowledge_search`` tool searches.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from pyai.closed_model import ClosedModel
from pyai.gateway.errors import ProblemError, bad_request
from pyai.hear.keyterms import MAX_KEYTERMS, Keyterm
from pyai.knowledge.models import KnowledgeBase
from pyai.omni.bindings import BindingIn, Bindings, bind_tools, bindings_view
from pyai.omni.json_schema import check_object_schema
from pyai.omni.tools import AnyTool, find_tools
from pyai.omni.urls import vetted_url
from pyai.speak.library import lookup_voice
from pyai.store.ids import new_id, now_ms
from pyai.store.omni_models import Agent
from pyai.store.pagination import newest_first, page
from pyai.store.sealed import secret_box
from pyai.store.tenancy import get_owned, owned

#: What a field holds when never set or cleared with ``null``; other fields clear to ``null``.
DEFAULTS: dict[str, Any] = {
    "brain_model": "default",
    "barge_sensitivity": "normal",
    "ack_mode": "auto",
    "recordings_enabled": False,
    "metadata": {},
    "keyterms": [],
    "goals": [],
}
BARGE_LEVELS = ("low", "normal", "high")
#: The quietest and loudest talk-over level a dBFS ``barge_sensitivity`` may name.
MIN_DBFS, MAX_DBFS = -90.0, 0.0
MAX_METADATA = 16
MAX_GOALS = 20
#: Model fields stored under another column name.
COLUMNS = {"metadata": "meta"}
#: Outbound URLs, vetted by the SSRF guard when set.
URL_FIELDS = ("extraction_webhook_url", "kb_endpoint")

BrainModel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]
Goal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AgentConfigIn(ClosedModel):
    """The contract's ``AgentConfig`` (plus the two knowledge extensions)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    persona_system_prompt: str | None = Field(default=None, max_length=32000)
    greeting: str | None = Field(default=None, max_length=1000)
    voice_id: str | None = Field(default=None, min_length=1, max_length=80)
    brain_model: BrainModel | None = None
    barge_sensitivity: str | None = Field(default=None, max_length=16)
    ack_mode: Literal["auto", "always", "off"] | None = None
    recordings_enabled: StrictBool | None = None
    consent_line: str | None = Field(default=None, max_length=500)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(default=None, max_length=MAX_METADATA)
    keyterms: list[Keyterm] | None = Field(default=None, max_length=MAX_KEYTERMS)
    goals: list[Goal] | None = Field(default=None, max_length=MAX_GOALS)
    extraction_schema: dict[str, Any] | None = None
    extraction_webhook_url: str | None = Field(default=None, max_length=2048)
    kb_endpoint: str | None = Field(default=None, max_length=2048)
    knowledge_base_id: str | None = Field(default=None, min_length=1, max_length=40)
    tools: Bindings | None = None

    @field_validator("barge_sensitivity")
    @classmethod
    def _barge(cls, value: str | None) -> str | None:
        if value is None or value in BARGE_LEVELS:
            return value
        try:
            level = float(value.removesuffix("dBFS").removesuffix("dbfs").strip())
        except ValueError:
            level = None
        if level is None or not MIN_DBFS <= level <= MAX_DBFS:
            raise ValueError(f"expected low, normal, high or a level in dBFS from {MIN_DBFS:g} to {MAX_DBFS:g}")
        return value


def _fields_in_order(body: AgentConfigIn) -> list[str]:
    """The fields present, in the contract's order, so the first error reported is predictable."""
    return [name for name in AgentConfigIn.model_fields if name in body.model_fields_set and name != "tools"]


async def _check_voice(s: AsyncSession, org_id: str, voice_id: str) -> None:
    try:
        await lookup_voice(s, org_id, voice_id)
    except ProblemError as e:  # the library names the field of a speech request; ours is voice_id
        raise bad_request(f"voice_id: {e.detail.removeprefix('voice: ')}", param="voice_id", code=e.code) from None


async def _check_knowledge_base(s: AsyncSession, org_id: str, kb_id: str) -> None:
    if await s.scalar(owned(KnowledgeBase, org_id).where(KnowledgeBase.id == kb_id)) is None:
        raise bad_request(
            f"knowledge_base_id: no knowledge base '{kb_id}' for this organization.",
            param="knowledge_base_id",
            code="unknown_knowledge_base",
        )


async def _vet_urls(services, body: AgentConfigIn) -> None:  # noqa: ANN001
    """The SSRF guard on the URLs being set; it resolves DNS, so it runs before any row is locked."""
    for name in URL_FIELDS:
        if (url := getattr(body, name)) is not None:
            await vetted_url(url, name, test_mode=services.settings.test_mode)


async def _apply(services, s: AsyncSession, agent: Agent, body: AgentConfigIn) -> None:  # noqa: ANN001
    """Set the fields present in ``body`` on ``agent``, checking each against the org (URLs were
    vetted by ``_vet_urls``)."""
    for name in _fields_in_order(body):
        value = getattr(body, name)
        if value is None:
            if name == "name":
                raise bad_request("name: cannot be null; an agent always has a name.", param="name")
            value = deepcopy(DEFAULTS.get(name))
        elif name == "voice_id":
            await _check_voice(s, agent.org_id, value)
        elif name == "extraction_schema":
            check_object_schema(value, name)
        elif name == "knowledge_base_id":
            await _check_knowledge_base(s, agent.org_id, value)
        setattr(agent, COLUMNS.get(name, name), value)
    if agent.extraction_webhook_url is not None and agent.extraction_schema is None:
        raise bad_request(
            "extraction_webhook_url: requires extraction_schema (the fields to extract).",
            param="extraction_webhook_url",
        )
    if "tools" in body.model_fields_set:
        agent.tools = await _bind(services, s, agent, body.tools or [], prefix="tools.", missing_status=400)
    agent.updated_at = now_ms()


async def _bind(  # noqa: ANN001
    services, s: AsyncSession, agent: Agent, bindings: list[BindingIn], *, prefix: str, missing_status: int
) -> list[dict[str, Any]]:
    return await bind_tools(
        s, secret_box(services), agent.org_id, bindings, agent.tools, prefix=prefix, missing_status=missing_status
    )


def agent_view(agent: Agent, tools: dict[str, AnyTool]) -> dict[str, Any]:
    """An agent in the contract's ``Agent`` shape (``created_at`` in seconds, as it says)."""
    return {
        "object": "agent",
        "agent_id": agent.id,
        "name": agent.name,
        "persona_system_prompt": agent.persona_system_prompt,
        "greeting": agent.greeting,
        "voice_id": agent.voice_id,
        "brain_model": agent.brain_model,
        "barge_sensitivity": agent.barge_sensitivity,
        "ack_mode": agent.ack_mode,
        "recordings_enabled": agent.recordings_enabled,
        "consent_line": agent.consent_line,
        "keyterms": agent.keyterms,
        "goals": agent.goals,
        "metadata": agent.meta,
        "extraction_schema": agent.extraction_schema,
        "extraction_webhook_url": agent.extraction_webhook_url,
        "kb_endpoint": agent.kb_endpoint,
        "knowledge_base_id": agent.knowledge_base_id,
        "tools": bindings_view(agent.tools, tools),
        "created_at": agent.created_at // 1000,
    }


async def _bound_tools(s: AsyncSession, org_id: str, agents: list[Agent]) -> dict[str, AnyTool]:
    """The tools the agents' bindings name, looked up once for all of them."""
    return await find_tools(s, org_id, {b["tool_id"] for agent in agents for b in agent.tools})


async def create_agent(services, org_id: str, body: AgentConfigIn) -> dict[str, Any]:  # noqa: ANN001
    if body.name is None:
        raise bad_request("name: required when creating an agent.", param="name")
    agent = Agent(
        id=new_id("agent"), org_id=org_id, tools=[], **{COLUMNS.get(k, k): deepcopy(v) for k, v in DEFAULTS.items()}
    )
    await _vet_urls(services, body)
    async with services.db.session() as s:
        await _apply(services, s, agent, body)
        s.add(agent)
        await s.commit()
        return agent_view(agent, await _bound_tools(s, org_id, [agent]))


async def update_agent(services, org_id: str, agent_id: str, body: AgentConfigIn) -> dict[str, Any]:  # noqa: ANN001
    await _vet_urls(services, body)
    async with services.db.session() as s:
        agent = await get_owned(s, Agent, agent_id, org_id, "agent", for_update=True)
        await _apply(services, s, agent, body)
        await s.commit()
        return agent_view(agent, await _bound_tools(s, org_id, [agent]))


async def get_agent(services, org_id: str, agent_id: str) -> dict[str, Any]:  # noqa: ANN001
    async with services.db.session() as s:
        agent = await get_owned(s, Agent, agent_id, org_id, "agent")
        return agent_view(agent, await _bound_tools(s, org_id, [agent]))


async def list_agents(services, org_id: str, cursor: str | None, limit: int) -> dict[str, Any]:  # noqa: ANN001
    async with services.db.session() as s:
        rows = list(await s.scalars(newest_first(owned(Agent, org_id), Agent, cursor, limit)))
        tools = await _bound_tools(s, org_id, rows)
    return page(rows, limit, lambda agent: agent_view(agent, tools))


async def delete_agent(services, org_id: str, agent_id: str) -> None:  # noqa: ANN001
    async with services.db.session() as s:
        await s.delete(await get_owned(s, Agent, agent_id, org_id, "agent"))
        await s.commit()


async def set_agent_tools(services, org_id: str, agent_id: str, bindings: list[BindingIn]) -> list[dict]:  # noqa: ANN001
    """Replace the agent's bindings (an unknown tool is the contract's 404 here)."""
    async with services.db.session() as s:
        agent = await get_owned(s, Agent, agent_id, org_id, "agent", for_update=True)
        agent.tools = await _bind(services, s, agent, bindings, prefix="", missing_status=404)
        agent.updated_at = now_ms()
        await s.commit()
        return bindings_view(agent.tools, await _bound_tools(s, org_id, [agent]))
