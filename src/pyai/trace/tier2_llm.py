"""Model-judged Tier-2 checks, when an OpenAI-compatible model is configured (``PYAI_LLM_BASE_URL``).

The rule-based checks (:mod:`pyai.trace.tier2`) always run; the model adds the judgements rules
cannot make — ``minimum_necessary`` (the agent asked for or disclosed more personal or health
information than the task needed), ``brand_tone`` (rude, pushy or off-brand wording),
``hallucination`` (a claim the knowledge passages do not support), ``ambiguous_optout`` (the
caller hinted they want no more calls and the agent went on), ``context_pii`` (personal data
identifiable only in context). The model answers in JSON; each finding it returns is checked
(known check, severity, a turn that exists) and marked ``method: "llm"``. An endpoint that fails
or an answer that is not the JSON asked for adds nothing: the rule findings stand.
"""

from __future__ import annotations

import logging
from typing import Any

from pyai.omni.brains import json_object_in, model_for, shared_llm_client, streamed_text

log = logging.getLogger("pyai.trace")
CHECKS = ("minimum_necessary", "brand_tone", "hallucination", "ambiguous_optout", "context_pii")
SEVERITIES = ("low", "medium", "high", "critical")
MAX_TRANSCRIPT_CHARS = 24_000
MAX_PASSAGE_CHARS = 8_000
INSTRUCTIONS = (
    "You review phone calls between a caller and a voice agent for a compliance team. Report only clear "
    "concerns of these kinds: minimum_necessary (the agent asked for or revealed more personal or health "
    "information than the task needed), brand_tone (rude, pushy or unprofessional wording by the agent), "
    "hallucination (an agent statement of fact the knowledge passages do not support), ambiguous_optout (the "
    "caller hinted they want no more calls and the agent did not treat it as an opt-out), context_pii (personal "
    "data that is identifying only in context, such as a date of birth). Answer with one JSON object and "
    'nothing else: {"findings": [{"check_id": "<one of the kinds>", "turn": <the line number>, "severity": '
    '"low|medium|high|critical", "confidence": <0..1>, "reason": "<one plain sentence>", "action": '
    '"flag|preempt_next|escalate", "preempt_instruction": "<a constraint for the next turn, or null>"}]}. '
    'No concerns: {"findings": []}.'
)


def _numbered(turns: list[dict]) -> str:
    lines = [
        f"{i}. {'Caller' if t.get('speaker') == 'caller' else 'Agent'}: {t.get('text', '')}"
        for i, t in enumerate(turns)
    ]
    return "\n".join(lines)[-MAX_TRANSCRIPT_CHARS:]


def _valid(raw: Any, turns: list[dict]) -> dict | None:
    """One of the model's findings in the TraceFinding shape, or None when it is not usable."""
    if not isinstance(raw, dict) or raw.get("check_id") not in CHECKS or raw.get("severity") not in SEVERITIES:
        return None
    turn = raw.get("turn")
    if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn < len(turns):
        return None
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return None
    confidence = raw.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        confidence = 0.5
    action = raw.get("action") if raw.get("action") in ("flag", "preempt_next", "escalate") else "flag"
    instruction = raw.get("preempt_instruction") if action == "preempt_next" else None
    return {
        "object": "trace.finding",
        "check_id": raw["check_id"],
        "severity": raw["severity"],
        "verdict": "concern",
        "confidence": round(min(max(float(confidence), 0.0), 1.0), 3),
        "action": action,
        "speaker": turns[turn].get("speaker"),
        "reason": reason.strip()[:500],
        "preempt_instruction": instruction[:300] if isinstance(instruction, str) else None,
        "at_t": round(turns[turn].get("start_ms", 0) / 1000, 3),
        "tier": 2,
        "method": "llm",
        "turn": turn,
    }


async def llm_check(services: Any, turns: list[dict], passages: list[str], brain_model: str | None) -> list[dict]:
    """The model's findings ([] when no model is configured, the call is empty, or it fails)."""
    settings = services.settings
    if not settings.llm_base_url or not turns:
        return []
    knowledge = "\n---\n".join(passages)[:MAX_PASSAGE_CHARS] or "(the agent has no knowledge base)"
    try:
        messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Knowledge passages:\n{knowledge}\n\nTranscript:\n{_numbered(turns)}"},
        ]
        model = model_for(settings, brain_model)
        written = json_object_in(await streamed_text(shared_llm_client(services), model, messages, temperature=0))
    except Exception as e:  # noqa: BLE001 - the rule findings stand
        log.warning("LLM Tier-2 checks failed (%s): the rule-based findings stand", type(e).__name__)
        return []
    if not isinstance(written, dict) or not isinstance(written.get("findings"), list):
        log.warning("LLM Tier-2 checks: the model did not answer with the JSON asked for")
        return []
    return [f for f in (_valid(raw, turns) for raw in written["findings"][:50]) if f is not None]
