"""What the agent says next: the brain interface, and the embedded brain that needs no LLM.

No instruction-tuned language model ships in any package here, so the default brain is honest
about what it is: it recognises a few call intents by their words (a greeting, goodbye, a person,
thanks, a moment to hold), answers other questions from the agent's knowledge (the hosted knowledge base and/or the
customer's ``kb_endpoint``, the same retrieval Cue uses) by reading the best passage, and says
plainly when it does not know. It uses the agent's tools by the caller's words, filling their
arguments slot by slot (``pyai.omni.tool_planner``). An OpenAI-compatible model behind
``PYAI_LLM_BASE_URL`` is the brain for open conversation (``pyai.omni.llm_brain``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from pyai.omni.steps import CallTool, EndCall, Say, Step
from pyai.omni.tool_planner import ToolPlanner, result_sentence
from pyai.text.words import content_words

__all__ = ["Brain", "CallTool", "EmbeddedBrain", "EndCall", "Say", "Step"]


class Brain(Protocol):
    def reply(self, messages: list[dict], tools: list[dict]) -> AsyncIterator[Step]:
        """The agent's next steps for ``messages`` (OpenAI chat format: system, user, assistant,
        assistant-with-``tool_calls`` and ``tool`` messages, newest last). ``tools`` are the
        tools the agent may call, in the chat-completions format
        ``{"type": "function", "function": {"name", "description", "parameters"}}``."""
        ...


#: (intent, pattern over the caller's words); the first that matches wins.
_INTENTS = [
    ("goodbye", re.compile(r"\b(bye|goodbye|that'?s all|hang up|nothing else|no,? that'?s it)\b")),
    ("person", re.compile(r"\b(human|real person|a person|someone|representative|operator|live agent)\b")),
    ("thanks", re.compile(r"^\W*(thanks|thank you)\b[\w\s]{0,12}\W*$")),
    ("hello", re.compile(r"^\W*(hello|hi|hey|good (morning|afternoon|evening))( there)?\W*$")),
    (
        "hold",
        re.compile(
            r"\b(hold on|hang on|(just|give me|wait) (a|one) (moment|second|sec|minute)|one (moment|second|sec))\b"
        ),
    ),
]
GOODBYE = "Thank you for calling. Goodbye!"
PERSON = "I can't transfer calls, but I can take a message, or you can ask me another question."
THANKS = "You're welcome. Is there anything else I can help with?"
HELLO = "Hello! How can I help you today?"
HOLD = "Sure, take your time. I'm here when you're ready."
DONT_KNOW = "I'm sorry, I don't have an answer to that. Could you ask it another way?"
#: The answer is the passage sentence sharing the most words with the question (a voice answer is
#: short); retrieval scores are relative (BM25 over a tiny knowledge base scores 0), so relevance
#: is judged by those shared words: none, and the brain says it does not know.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_STOPWORDS = frozenset(
    "the a an and or but is are was were be to of in on at for with what when where who how why does do did "
    "can could would will you your we our us i me my it its this that there their they them".split()
)

Retrieve = Callable[[str], Awaitable[list[dict]]]


class EmbeddedBrain:
    """Intents, tools, then retrieval; ``retrieve(query)`` returns ``[{content, score}]`` best
    first; ``side_effects`` says which tools only read (called at once) and which act (read back
    for a yes first)."""

    def __init__(self, retrieve: Retrieve, side_effects: dict[str, str] | None = None) -> None:
        self.retrieve = retrieve
        self.planner = ToolPlanner(side_effects or {})

    async def reply(self, messages: list[dict], tools: list[dict] | None = None) -> AsyncIterator[Step]:
        tools = tools or []
        if messages and messages[-1]["role"] == "tool":  # the tools it called have answered
            for name, content in _tool_answers(messages):
                if sentence := result_sentence(name, content):
                    yield Say(sentence)
            return
        said = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        words = said.lower()
        intent = next((name for name, pattern in _INTENTS if pattern.search(words)), None)
        if intent == "goodbye":
            yield Say(GOODBYE)
            yield EndCall()
            return
        if intent == "person":
            if any(t["function"]["name"] == "transfer_to_human" for t in tools):
                yield CallTool("call_transfer", "transfer_to_human", {"reason": said[:200]})
            else:
                yield Say(PERSON)
            return
        if intent in ("thanks", "hello"):
            yield Say(THANKS if intent == "thanks" else HELLO)
            return
        if intent == "hold":
            yield Say(HOLD)
            return
        step = self.planner.step(said, tools)
        if isinstance(step, CallTool):
            yield step
            return
        if step is not None:
            yield Say(step)
            return
        answer = best_sentence(said, await self.retrieve(said))
        yield Say(answer or DONT_KNOW)


def _tool_answers(messages: list[dict]) -> list[tuple[str, str]]:
    """(tool name, answer) for the latest round: the ``tool`` messages after the last assistant
    message with ``tool_calls``."""
    i = len(messages)
    while i and messages[i - 1]["role"] == "tool":
        i -= 1
    names = {c["id"]: c["function"]["name"] for c in messages[i - 1].get("tool_calls") or []} if i else {}
    return [(names.get(m["tool_call_id"], "that"), m["content"]) for m in messages[i:]]


def _content_words(text: str) -> set[str]:
    """The stems of the words that carry meaning ("opens" = "open"; text/words.py)."""
    return {s for s, _ in content_words(text, _STOPWORDS, min_len=2)}


def best_sentence(question: str, passages: list[dict]) -> str | None:
    """The sentence of the retrieved passages that best shares the question's content words, each
    weighted by how rare it is among those sentences ("sunday" in one sentence outweighs "open" in
    two), earlier passages winning ties; None when no sentence shares any."""
    wanted = _content_words(question)
    sentences = [s for p in passages for s in _SENTENCE_END.split(" ".join(p["content"].split()))]
    words = [_content_words(s) & wanted for s in sentences]
    df = Counter(w for shared in words for w in shared)
    best, best_score = None, 0.0
    for sentence, shared in zip(sentences, words, strict=True):
        score = sum(1 / df[w] for w in shared)
        if score > best_score:
            best, best_score = sentence, score
    return best
