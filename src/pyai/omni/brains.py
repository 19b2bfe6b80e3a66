"""Which brain a call gets, and how the deployment describes it (``GET /v1/models``, ``pyai doctor``).

With ``PYAI_LLM_BASE_URL`` set, every call's brain is an :class:`~pyai.omni.llm_brain.LlmBrain`
on that endpoint (an agent's ``brain_model`` naming the model, else ``PYAI_LLM_MODEL``), all
sharing one client built on first use. Without it, the :class:`~pyai.omni.brain.EmbeddedBrain`
answers, and ``brain_model``, ``temperature`` and ``seed`` have nothing to tune.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pyai.omni.brain import Brain, EmbeddedBrain, Retrieve
from pyai.settings import Settings

_JSON_OBJECT = re.compile(r"\{.*\}", re.S)

#: ``Services.singleton`` key of the process's one LLM client.
LLM_CLIENT = "llm_client"
#: An agent's ``brain_model`` that means "the deployment's model" (the stored default).
DEFAULT_MODEL = "default"
EMBEDDED_DESCRIPTION = (
    "Embedded brain, no language model: intents, retrieval and slot filling. It recognises call "
    "intents by their words (goodbye, asking for a person, thanks), runs a tool the caller names by "
    "filling its arguments from what they say and asking for the missing ones, and answers other "
    "questions with the best-matching sentence retrieved from the agent's knowledge, or says it does "
    "not know. Set PYAI_LLM_BASE_URL for open conversation with an OpenAI-compatible model."
)

#: The same, in one line (``pyai doctor``).
EMBEDDED_SUMMARY = "intents, retrieval and slot filling, no language model (PYAI_LLM_BASE_URL unset)"


def model_for(settings: Settings, brain_model: str | None) -> str:
    """The model a call uses: the agent's ``brain_model``, unless unset or ``default``."""
    return settings.llm_model if brain_model in (None, "", DEFAULT_MODEL) else brain_model


async def _no_knowledge(query: str) -> list[dict]:
    return []


def build_brain(
    services,  # noqa: ANN001 - pyai.services.Services (settings, singleton)
    *,
    model: str | None = None,
    retrieve: Retrieve | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    side_effects: dict[str, str] | None = None,
) -> Brain:
    """One call's brain. ``model`` is the agent's ``brain_model`` (None or ``"default"``: the
    deployment's ``PYAI_LLM_MODEL``); ``retrieve(query) -> [{content, score}]`` grounds answers
    (None: no knowledge); ``temperature`` and ``seed`` go to the model as given (None: its own);
    ``side_effects`` (tool name → ``read``/``action``) tell the embedded brain which tool calls
    to read back for a yes first (a model decides that from the persona itself)."""
    settings = services.settings
    if not settings.llm_base_url:
        return EmbeddedBrain(retrieve or _no_knowledge, side_effects)
    from pyai.omni.llm_brain import LlmBrain  # the openai SDK is imported only when used

    client = shared_llm_client(services)
    return LlmBrain(client, model_for(settings, model), retrieve=retrieve, temperature=temperature, seed=seed)


def shared_llm_client(services) -> Any:  # noqa: ANN001 - Services; an openai.AsyncOpenAI
    """The process's one client of ``PYAI_LLM_BASE_URL`` (its connection pool), built on first use."""
    from pyai.omni.llm_brain import llm_client

    settings = services.settings
    return services.singleton(
        LLM_CLIENT, lambda: llm_client(settings.llm_base_url, settings.llm_api_key, settings.llm_timeout_seconds)
    )


async def streamed_text(client: Any, model: str, messages: list[dict], **options: Any) -> str:
    """The whole text of a chat completion, streamed (the form every OpenAI-compatible server
    answers): what the post-call writers (summary, recap, Tier-2 review) read as one answer."""
    stream = await client.chat.completions.create(model=model, messages=messages, stream=True, **options)
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def json_object_in(text: str) -> Any:
    """The JSON object a model's answer holds (prose around it is ignored); None when it holds
    none, ValueError when it is not JSON."""
    match = _JSON_OBJECT.search(text)
    return json.loads(match.group(0)) if match else None


def display_url(url: str) -> str:
    """``url`` without any user:password part, for logs and ``pyai doctor``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def describe_brain(settings: Settings) -> dict:
    """What answers calls on this deployment, for ``GET /v1/models`` (no URL, no key)."""
    if not settings.llm_base_url:
        return {"name": "embedded", "llm": None, "description": EMBEDDED_DESCRIPTION}
    return {
        "name": "openai-compatible",
        "model": settings.llm_model,
        "endpoint": "an OpenAI-compatible /chat/completions (PYAI_LLM_BASE_URL)",
        "description": (
            "A language model streamed sentence by sentence, with the agent's tools and passages "
            "retrieved from its knowledge; an agent's brain_model names another model on the same endpoint."
        ),
    }
