"""The brain for open conversation: a model behind any OpenAI-compatible chat-completions endpoint
(OpenAI, vLLM, Ollama, llama.cpp's server, LiteLLM, ...), called with the official ``openai`` SDK.

One :meth:`LlmBrain.reply` is one streamed ``chat.completions.create``:

- the reply's text is cut into sentences as the tokens arrive (:class:`SentenceStream`, the
  splitter TTS uses), and each is yielded as a :class:`Say` as soon as its end is seen, so the
  agent starts speaking while the model is still writing; the rest is said when the stream ends.
- tool calls are assembled from their deltas (``index``, ``id``, ``function.name`` and
  ``function.arguments`` fragments) and yielded as :class:`CallTool`, in index order, once the
  stream has ended — after the text, which is what the model said before calling them ("Let me
  check that."). ``end_call`` is a tool like any other; the conversation acts on it. A call whose
  arguments are not a JSON object is skipped with a warning rather than run with made-up
  arguments (a tool with side effects must never run on a guess); a missing id gets a fresh one.
- with ``retrieve`` set, the latest caller message is grounded: passages retrieved for it go in
  a system message right before it (at most ``MAX_KNOWLEDGE_CHARS``). Grounding fails open.
- an API error, a timeout, a dropped stream or a reply with nothing usable (every tool call
  skipped, no text) never ends the call: it is logged and the agent says ``APOLOGY``. Only
  ``asyncio.CancelledError`` (barge-in, hang-up) leaves ``reply``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import openai

from pyai.engines.tts.sentences import SentenceStream
from pyai.omni.steps import CallTool, Say, Step

if TYPE_CHECKING:
    from pyai.omni.brain import Retrieve

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, I'm having trouble answering right now."
KNOWLEDGE_HEADER = "Relevant passages from the knowledge base:"
#: The passages' share of the prompt (about 1000 tokens): a few good passages, not the whole base.
MAX_KNOWLEDGE_CHARS = 4000
#: A spoken reply's length cap (~300 words, two minutes of speech).
DEFAULT_MAX_TOKENS = 512
#: One retry of a failed request (connection error, 429, 5xx): a second failure is an apology,
#: not a caller left in silence through a chain of back-offs.
MAX_RETRIES = 1
#: Sent when ``PYAI_LLM_API_KEY`` is unset (local servers want none). Never left to the SDK, which
#: would read ``OPENAI_API_KEY`` from the environment and send it to whatever endpoint this is.
NO_API_KEY = "none"


def llm_client(base_url: str, api_key: str | None, timeout_s: float) -> openai.AsyncOpenAI:
    """The one client a process shares (its connection pool) for every call's brain."""
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key or NO_API_KEY, timeout=timeout_s, max_retries=MAX_RETRIES
    )


@dataclass
class _PartialCall:
    call_id: str = ""
    name: str = ""
    arguments: str = ""


class LlmBrain:
    """A :class:`~pyai.omni.brain.Brain` over ``client.chat.completions`` with ``model``."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        retrieve: Retrieve | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.client = client
        self.model = model
        self.retrieve = retrieve
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        #: The last query grounded and its passages: the rounds after a tool call answer the same
        #: caller message, so they reuse them instead of retrieving again.
        self._grounded: tuple[str, list[dict]] | None = None

    async def reply(self, messages: list[dict], tools: list[dict] | None = None) -> AsyncIterator[Step]:
        sentences = SentenceStream()
        calls: dict[int, _PartialCall] = {}
        said = False
        try:
            request = await self._request(messages, tools)
            async with await self.client.chat.completions.create(**request) as stream:
                async for chunk in stream:
                    for choice in chunk.choices or []:  # a usage-only chunk has none
                        if choice.index not in (0, None) or (delta := getattr(choice, "delta", None)) is None:
                            continue
                        if delta.content:
                            for sentence in sentences.feed(delta.content):
                                said = True
                                yield Say(sentence)
                        for fragment in delta.tool_calls or []:
                            _add_fragment(calls, fragment)
        except Exception as e:  # openai.APIError, a timeout, a malformed stream: the call goes on
            log.warning("LLM brain (%s): %s: %s", self.model, type(e).__name__, e)
            yield Say(APOLOGY)
            return
        for sentence in sentences.flush():
            said = True
            yield Say(sentence)
        valid = [step for _, call in sorted(calls.items()) if (step := _tool_call(call)) is not None]
        for step in valid:
            yield step
        if not said and not valid and calls:  # every call was unusable: don't leave the caller in silence
            yield Say(APOLOGY)

    async def _request(self, messages: list[dict], tools: list[dict] | None) -> dict:
        request: dict = {
            "model": self.model,
            "messages": await self._with_knowledge(messages),
            "stream": True,
            "max_tokens": self.max_tokens,
        }
        if tools:
            request["tools"] = tools
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self.seed is not None:
            request["seed"] = self.seed
        return request

    async def _with_knowledge(self, messages: list[dict]) -> list[dict]:
        """``messages`` with the passages for the latest caller message in a system message right
        before it (a new list; the conversation's own is not touched)."""
        last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)
        if self.retrieve is None or last is None or not (query := _text(messages[last].get("content")).strip()):
            return list(messages)
        if self._grounded is None or self._grounded[0] != query:
            try:
                passages = await self.retrieve(query)
            except Exception as e:  # fail open: answer without knowledge
                log.info("LLM brain grounding failed open (%s: %s)", type(e).__name__, e)
                passages = []
            self._grounded = (query, passages)
        if not (knowledge := knowledge_message(self._grounded[1])):
            return list(messages)
        return [*messages[:last], {"role": "system", "content": knowledge}, *messages[last:]]


def knowledge_message(passages: list[dict]) -> str | None:
    """The grounding system message: numbered passages, best first, cut to ``MAX_KNOWLEDGE_CHARS``
    in all (a passage that does not fit whole is cut at a word); None without passages."""
    text, room = KNOWLEDGE_HEADER, MAX_KNOWLEDGE_CHARS
    for n, passage in enumerate(passages, 1):
        content = " ".join(str(passage.get("content") or "").split())
        if not content:
            continue
        entry = f"\n\n[{n}] {content}"
        if len(entry) > room:
            cut = entry.rfind(" ", 0, room - 1)
            if cut <= len(f"\n\n[{n}]"):
                break
            entry = entry[:cut] + "…"
        text += entry
        room -= len(entry)
        if room <= 0:
            break
    return None if text == KNOWLEDGE_HEADER else text


def _text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _add_fragment(calls: dict[int, _PartialCall], fragment) -> None:  # noqa: ANN001 - ChoiceDeltaToolCall
    """One tool-call delta into the calls being assembled. ``id`` comes once, name and arguments
    may come in pieces (concatenated, as the SDK's own accumulator does). A server that sends no
    ``index`` sends each call whole: a new id is a new call."""
    index = fragment.index
    if index is None:
        known = next((i for i, c in calls.items() if fragment.id and c.call_id == fragment.id), None)
        index = known if known is not None else (len(calls) if fragment.id or not calls else max(calls))
    call = calls.setdefault(index, _PartialCall())
    if fragment.id and not call.call_id:
        call.call_id = fragment.id
    if (function := fragment.function) is not None:
        call.name += function.name or ""
        call.arguments += function.arguments or ""


def _tool_call(call: _PartialCall) -> CallTool | None:
    """The assembled call, or None (logged) when it has no name or its arguments are not a JSON object."""
    if not call.name:
        log.warning("LLM brain: skipped a tool call without a name (id %r)", call.call_id)
        return None
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        log.warning(
            "LLM brain: skipped a call of %s whose arguments are not a JSON object: %.200r", call.name, call.arguments
        )
        return None
    return CallTool(call.call_id or f"call_{secrets.token_hex(12)}", call.name, arguments)
