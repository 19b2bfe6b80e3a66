"""Cue grounding: validate the config frame, and fetch passages for a finished utterance.

Retrieval is fail-open by contract: whatever goes wrong (slow endpoint, bad JSON, unknown KB,
network error), the utterance's frames carry ``grounding: []`` within ``timeout_ms`` — a
transcript is never held back by its context.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass
from typing import Any

from pyai.knowledge.service import search_kb
from pyai.net.ssrf import post_json

log = logging.getLogger("pyai.cue")


@dataclass(frozen=True)
class GroundingConfig:
    grounding: bool = False
    k: int = 3
    min_score: float = 0.0
    timeout_ms: int = 450
    knowledge_base_id: str | None = None
    kb_endpoint: str | None = None
    session_label: str | None = None


def _number(frame: dict, name: str, kind: type, lo: float, hi: float, default: Any) -> Any:
    value = frame.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))  # 1e999 parses as inf; NaN parses too
        or (kind is int and value != int(value))
    ):
        raise ValueError(f"{name}: expected {'an integer' if kind is int else 'a number'}")
    if not lo <= value <= hi:
        raise ValueError(f"{name}: must be between {lo:g} and {hi:g}")
    return kind(value)


def validate_grounding_config(frame: dict, *, allow_loopback: bool = False) -> GroundingConfig:
    """Check the first ``config`` frame against the contract's ranges; ValueError names the field."""
    grounding = frame.get("grounding", False)
    if not isinstance(grounding, bool):
        raise ValueError("grounding: expected true or false")
    kb_id = frame.get("knowledge_base_id")
    if kb_id is not None and (not isinstance(kb_id, str) or not kb_id):
        raise ValueError("knowledge_base_id: expected a knowledge base id string")
    endpoint = frame.get("kb_endpoint")
    if endpoint is not None:
        allowed = ("https://", "http://") if allow_loopback else ("https://",)
        if not isinstance(endpoint, str) or not endpoint.startswith(allowed):
            raise ValueError("kb_endpoint: expected an https URL")
    label = frame.get("session_label")
    if label is not None and (not isinstance(label, str) or len(label) > 256):
        raise ValueError("session_label: expected a string of at most 256 characters")
    return GroundingConfig(
        grounding=grounding,
        k=_number(frame, "grounding_k", int, 1, 20, 3),
        min_score=_number(frame, "grounding_min_score", float, 0, 1, 0.0),
        timeout_ms=_number(frame, "grounding_timeout_ms", int, 50, 2000, 450),
        knowledge_base_id=kb_id,
        kb_endpoint=endpoint,
        session_label=label,
    )


def _clamp(score: Any) -> float:
    try:
        return min(1.0, max(0.0, float(score)))
    except (TypeError, ValueError):
        return 0.0


async def query_endpoint(
    url: str, *, query: str, session_label: str | None, k: int, timeout: float, allow_loopback: bool
) -> list[dict]:
    """POST ``{query, session_label, k}`` to a customer endpoint; accepts ``{results:[…]}`` or a list."""
    body = json.dumps({"query": query, "session_label": session_label, "k": k}).encode()
    resp = await post_json(url, body, {}, timeout=timeout, allow_loopback=allow_loopback)
    resp.raise_for_status()
    data = resp.json()
    items = data.get("results", data.get("passages", [])) if isinstance(data, dict) else data
    passages = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("content"), str):
            passages.append({"content": item["content"], "score": _clamp(item.get("score", 0.0))})
        elif isinstance(item, str):
            passages.append({"content": item, "score": 0.0})
    return passages


async def _retrieve(services, org_id: str, config: GroundingConfig, query: str, timeout: float) -> list[dict]:  # noqa: ANN001
    results: list[dict] = []
    if config.knowledge_base_id:
        results += await search_kb(services, org_id, config.knowledge_base_id, query, config.k)
    if config.kb_endpoint:
        results += await query_endpoint(
            config.kb_endpoint,
            query=query,
            session_label=config.session_label,
            k=config.k,
            timeout=timeout,
            allow_loopback=services.settings.test_mode,
        )
    return results


async def ground(services, org_id: str, config: GroundingConfig, query: str) -> list[dict]:  # noqa: ANN001
    """Top-k ``[{content, score}]`` at or above ``min_score``; ``[]`` on any failure or timeout."""
    if not query.strip() or not (config.knowledge_base_id or config.kb_endpoint):
        return []
    timeout = config.timeout_ms / 1000
    try:
        results = await asyncio.wait_for(_retrieve(services, org_id, config, query, timeout), timeout)
    except Exception as e:  # fail open, by contract
        log.info("grounding failed open (%s: %s)", type(e).__name__, e)
        return []
    kept = sorted((r for r in results if r["score"] >= config.min_score), key=lambda r: -r["score"])
    return [{"content": r["content"], "score": round(r["score"], 4)} for r in kept[: config.k]]
