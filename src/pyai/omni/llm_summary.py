"""The post-call summary written by the configured OpenAI-compatible model (``PYAI_LLM_BASE_URL``).

The extractive summary (``pyai.omni.call_summary``) is always made first: it is the fallback, and
its counted facts (topics, tool outcomes) stay as they are, since a model adds nothing to a
count. The model rewrites what needs reading and judgement: the prose ``text`` and whether each
of the agent's goals was met, with a short piece of evidence. It answers in JSON; an answer that
is not the JSON asked for, or an endpoint that fails, leaves the extractive summary in place.
"""

from __future__ import annotations

import logging
from typing import Any

from pyai.omni.brains import json_object_in, model_for, shared_llm_client, streamed_text

log = logging.getLogger("pyai.omni.calls")

MAX_TRANSCRIPT_CHARS = 24_000
MAX_TEXT_CHARS = 2000
INSTRUCTIONS = (
    "You summarise phone calls between a caller and a voice agent for the business that runs the agent. "
    'Answer with one JSON object and nothing else: {"summary": "<3 sentences at most: what the caller wanted, '
    'what the agent did or answered, how the call ended>", "goals": [{"goal": "<the goal as given>", '
    '"met": true|false, "evidence": "<a few words from the transcript>"}]}. Judge only from the transcript.'
)


def _transcript(turns: list[dict]) -> str:
    lines = [f"{'Caller' if t.get('speaker') == 'caller' else 'Agent'}: {t.get('text', '')}" for t in turns]
    text = "\n".join(line for line in lines if line.split(": ", 1)[1])
    return text[-MAX_TRANSCRIPT_CHARS:]


async def llm_summary(
    services: Any, summary: dict, turns: list[dict], goals: list[str], brain_model: str | None
) -> dict:
    """``summary`` (the extractive one) with its text and goals written by the model; ``summary``
    itself when no model is configured, the call said nothing, or the model's answer is unusable."""
    settings = services.settings
    transcript = _transcript(turns)
    if not settings.llm_base_url or not transcript:
        return summary
    model = model_for(settings, brain_model)
    goal_lines = "\n".join(f"- {g}" for g in goals) or "(none)"
    try:
        messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Goals:\n{goal_lines}\n\nTranscript:\n{transcript}"},
        ]
        written = json_object_in(await streamed_text(shared_llm_client(services), model, messages, temperature=0))
    except Exception as e:  # noqa: BLE001 - the extractive summary stands
        log.warning("LLM summary failed (%s): the extractive one stands", type(e).__name__)
        return summary
    if not isinstance(written, dict) or not isinstance(written.get("summary"), str) or not written["summary"].strip():
        log.warning("LLM summary: the model did not answer with the JSON asked for; the extractive one stands")
        return summary
    judged = {g.get("goal"): g for g in written.get("goals") or [] if isinstance(g, dict)}
    goal_verdicts = []
    for verdict in summary.get("goals", []):
        by_model = judged.get(verdict["goal"])
        if by_model is not None and isinstance(by_model.get("met"), bool):
            evidence = str(by_model.get("evidence") or "")[:200]
            verdict = {**verdict, "met": by_model["met"], "evidence": evidence}
        goal_verdicts.append(verdict)
    return {
        **summary,
        "generator": f"llm:{model}",
        "text": written["summary"].strip()[:MAX_TEXT_CHARS],
        "goals": goal_verdicts,
    }
