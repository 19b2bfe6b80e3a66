"""Trace configs: one per agent and one org default (``GET``/``PUT /v1/trace/config``).

A config is validated field by field (a 400 names the bad one), stored normalised, and identified
by a content hash (its ``etag``): the same config always has the same etag, so a gate that pinned
one knows when it changed. An agent without its own config inherits the org default; with
neither, the safe default applies (``enabled: false``, ``mode: warn``, ``fail_open: true``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pyai.store.ids import now_ms
from pyai.store.trace_models import TraceConfigRow

ORG_DEFAULT = ""  # the agent_key of the org-wide default


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Disclosure(_Strict):
    text: str = Field(min_length=1, max_length=500)
    trigger: Literal["call_start", "any"] = "any"
    required_within_seconds: float | None = Field(default=None, gt=0, le=3600)


class BlockPii(_Strict):
    patterns: list[Literal["ssn", "credit_card", "email", "us_phone"]] = Field(default_factory=list, max_length=4)


class Guardrails(_Strict):
    mode: Literal["warn", "modify", "block", "human_handoff"] = "warn"
    block_pii: BlockPii = Field(default_factory=BlockPii)
    mandatory_disclosures: list[Disclosure] = Field(default_factory=list, max_length=20)
    blocked_phrases: list[str] = Field(default_factory=list, max_length=200)
    fail_open: bool = True
    inline_timeout_ms: float = Field(default=10, gt=0, le=1000)


class PackChoice(_Strict):
    enabled: bool = True
    version: str | None = Field(default=None, max_length=64)


class TraceConfigIn(_Strict):
    agent_id: str | None = Field(default=None, max_length=40)
    enabled: bool = False
    channels: list[Literal["voice", "text"]] = Field(default_factory=lambda: ["voice"], max_length=2)
    rule_packs: dict[str, PackChoice] = Field(default_factory=dict, max_length=32)
    guardrails: Guardrails = Field(default_factory=Guardrails)


def unwrap(body: Any) -> Any:
    """The body raw, or unwrapped from ``{agent_id, config}``."""
    if isinstance(body, dict) and isinstance(body.get("config"), dict) and set(body) <= {"agent_id", "config"}:
        return {**body["config"], **({"agent_id": body["agent_id"]} if "agent_id" in body else {})}
    return body


def normalised(config: TraceConfigIn) -> dict[str, Any]:
    """What is stored: every field, defaults filled in, without the agent id (the row's key)."""
    return config.model_dump(exclude={"agent_id"})


def etag_of(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


SAFE_DEFAULT = normalised(TraceConfigIn())


def view(agent_id: str | None, config: dict[str, Any], updated_at: int | None, source: str) -> dict[str, Any]:
    """The contract's ``TraceConfig`` (``source`` is an extension: agent, org_default or default).
    A config never saved has no ``updated_at``, and the org default's body no ``agent_id``: the
    contract types both as non-null, so they are left out rather than sent as null."""
    out = {
        "object": "trace.config",
        "agent_id": agent_id,
        "enabled": config["enabled"],
        "mode": config["guardrails"]["mode"],
        "etag": etag_of(config),
        "source": source,
        "config": {**({"agent_id": agent_id} if agent_id else {}), **config},
    }
    if updated_at is not None:
        out["updated_at"] = updated_at
    return out


async def effective(s: Any, org_id: str, agent_id: str | None) -> tuple[dict[str, Any], int | None, str]:
    """(config, updated_at, source) for an agent: its own, else the org default, else the safe one."""
    keys = [agent_id, ORG_DEFAULT] if agent_id else [ORG_DEFAULT]
    for key, source in zip(keys, ("agent", "org_default") if agent_id else ("org_default",), strict=False):
        row = await s.get(TraceConfigRow, (org_id, key))
        if row is not None:
            return row.config, row.updated_at, source
    return SAFE_DEFAULT, None, "default"


async def store(s: Any, org_id: str, agent_id: str | None, config: dict[str, Any]) -> TraceConfigRow:
    """Upsert (the caller commits)."""
    key = agent_id or ORG_DEFAULT
    row = await s.get(TraceConfigRow, (org_id, key))
    if row is None:
        row = TraceConfigRow(org_id=org_id, agent_key=key)
        s.add(row)
    row.config, row.etag, row.updated_at = config, etag_of(config), now_ms()
    return row
