"""The recap written by an OpenAI-compatible model (``PYAI_LLM_BASE_URL``), checked before use.

The model gets the pack (its outcomes and fields, with their JSON schemas) and the transcript, and
must answer one JSON object (``response_format: json_object``, temperature 0) with ``tldr``,
``summary``, ``outcome``, ``next_steps``, ``action_items`` and ``extracted``. The answer is
validated: an outcome that is not one of the pack's, a missing text, a malformed list, or a call
that fails or times out raises :class:`LlmRecapError`, and the builder keeps its embedded record.
An extracted value that does not meet its field's schema is dropped to ``null`` (one bad value is
not worth losing the rest). Sentiment and topics are not asked: the embedded ones are kept, since
a count gains nothing from a model.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from pyai.omni.brains import json_object_in, streamed_text
from pyai.recap.packs import Pack

MAX_TRANSCRIPT_CHARS = 24_000
MAX_TEXT = {"tldr": 300, "summary": 2000}
MAX_ITEMS = 10
MAX_ITEM_CHARS = 300


class LlmRecapError(Exception):
    """The model's recap cannot be used; the message says why (no transcript text in it)."""


def llm_for(services: Any, brain_model: str | None = None) -> tuple[Any, str] | None:
    """``(client, model)`` of the deployment's LLM (the process's shared client), or None when
    ``PYAI_LLM_BASE_URL`` is unset: what :func:`pyai.recap.builder.build_recap` takes."""
    from pyai.omni.brains import model_for, shared_llm_client

    if not services.settings.llm_base_url:
        return None
    return shared_llm_client(services), model_for(services.settings, brain_model)


def instructions(pack: Pack) -> str:
    """The system prompt: the record asked for, in this pack's terms."""
    fields = {f.name: {"description": f.description, "schema": dict(f.schema)} for f in pack.fields}
    outcomes = {o.value: o.description for o in pack.outcomes}
    return (
        f"You write post-call recaps of phone calls between a caller and a voice agent ({pack.name}: "
        f"{pack.description}). Judge only from the transcript. Answer with one JSON object and nothing else:\n"
        '{"tldr": "<one sentence>", "summary": "<3 sentences at most: what the caller wanted, what the agent '
        'did, how the call ended>", "outcome": "<one of the outcomes>", "next_steps": ["<short step>", ...], '
        '"action_items": [{"owner": "caller"|"agent", "text": "<what they committed to do>"}], '
        '"extracted": {<each field>: <value meeting its schema, or null when not said>}}\n'
        f"Outcomes: {json.dumps(outcomes)}\nFields: {json.dumps(fields)}\n"
        "Dates are YYYY-MM-DD and times HH:MM (24 h, as said). Do not invent values."
    )


def transcript(turns: Sequence[Mapping[str, Any]]) -> str:
    lines = [f"{'Caller' if t['speaker'] == 'caller' else 'Agent'}: {t['text']}" for t in turns]
    return "\n".join(lines)[-MAX_TRANSCRIPT_CHARS:]


def _text(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LlmRecapError(f"the model's answer has no {key}")
    return value.strip()[: MAX_TEXT[key]]


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LlmRecapError(f"the model's {key} is not a list of strings")
    return [v.strip()[:MAX_ITEM_CHARS] for v in value if v.strip()][:MAX_ITEMS]


def _items(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise LlmRecapError("the model's action_items is not a list")
    items = []
    for item in value:
        if (
            not isinstance(item, Mapping)
            or item.get("owner") not in ("caller", "agent")
            or not isinstance(item.get("text"), str)
            or not item["text"].strip()
        ):
            raise LlmRecapError("an action item of the model's is not {owner: caller|agent, text}")
        items.append({"owner": item["owner"], "text": item["text"].strip()[:MAX_ITEM_CHARS]})
    return items[:MAX_ITEMS]


def validate(pack: Pack, answer: Any) -> dict[str, Any]:
    """The parts of a recap the model wrote, checked against ``pack``; raises :class:`LlmRecapError`."""
    if not isinstance(answer, Mapping):
        raise LlmRecapError("the model did not answer with a JSON object")
    outcome = answer.get("outcome")
    if outcome not in pack.outcome_values:
        raise LlmRecapError(f"the model's outcome {str(outcome)[:40]!r} is not one of {pack.outcome_values}")
    raw = answer.get("extracted", {})
    if not isinstance(raw, Mapping):
        raise LlmRecapError("the model's extracted is not an object")
    extracted = {}
    for f in pack.fields:
        value = raw.get(f.name)
        extracted[f.name] = (
            value if value is not None and Draft202012Validator(dict(f.schema)).is_valid(value) else None
        )
    return {
        "tldr": _text(answer, "tldr"),
        "summary": _text(answer, "summary"),
        "outcome": outcome,
        "next_steps": _strings(answer.get("next_steps", []), "next_steps"),
        "action_items": _items(answer.get("action_items", [])),
        "extracted": extracted,
    }


async def llm_recap(
    client: Any, model: str, pack: Pack, turns: Sequence[Mapping[str, Any]], today: datetime.date
) -> dict[str, Any]:
    """The model's recap of normalised ``turns``, validated; :class:`LlmRecapError` when unusable."""
    text = transcript(turns)
    if not text:
        raise LlmRecapError("the call has no words to recap")
    try:
        messages = [
            {"role": "system", "content": instructions(pack)},
            {"role": "user", "content": f"Call date: {today.isoformat()}\n\nTranscript:\n{text}"},
        ]
        answer = await streamed_text(client, model, messages, response_format={"type": "json_object"}, temperature=0)
    except Exception as e:  # noqa: BLE001 - any failure of the endpoint leaves the embedded recap
        raise LlmRecapError(f"the LLM call failed ({type(e).__name__})") from e
    try:
        parsed = json_object_in(answer)
    except ValueError:
        parsed = None
    if parsed is None:
        raise LlmRecapError("the model's answer is not JSON")
    return validate(pack, parsed)
