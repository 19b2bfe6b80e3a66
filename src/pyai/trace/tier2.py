"""Tier-2 checks without a language model: honest lexical rules for concerns a phrase list can't
express, run after the call. Their findings are advisory (``action: flag``), carry
``method: "rules"`` and a ``confidence``, and never touch the hash-chained scorecard.

- ``hallucination``: an agent sentence that states facts — numbers, times, dates, money, proper
  names — that no knowledge passage (and nothing the caller said before) supports. A sentence is
  supported when one source contains every one of its facts *and* at least
  :data:`SUPPORT_OVERLAP` of its content words (words that are not stop words). Questions are not
  claims and are skipped; without passages there is nothing to compare with and the check does
  not run. Names in the agent's first turn (its own and its company's) count as known.
- ``ambiguous_optout``: the caller hedged about the calls ("maybe stop calling", "I don't know if
  I want these calls") and the agent's next turn neither confirmed an opt-out nor asked about one.
  A clear request ("stop calling me") that the agent ignored is ``optout_not_honored``. Consent
  may be revoked by any reasonable means (47 CFR § 64.1200(a)(10)), hedged ones included.
- ``context_pii``: PII that only context reveals, spoken by the agent: a date next to "born",
  "date of birth", "DOB" or "birthday", and a street address next to "address" / "live at".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyai.trace.pii import mask
from pyai.trace.text import Doc

#: Share of a factual sentence's content words one source must contain to support it.
SUPPORT_OVERLAP = 0.5
EVIDENCE_CHARS = 200

_STOP = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just let me
    more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself okay ok sure great yes yeah well please thanks thank
    get got go going one need like know see say said tell told may might must shall im ill ive
    youre youll weve were theyre thats dont doesnt didnt cant wont isnt arent""".split()
)
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_CALENDAR = frozenset(_MONTHS + _DAYS + [d + "s" for d in _DAYS])
_NOT_NAMES = frozenset(
    {"i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "am", "pm", "a.m", "p.m", "mr", "mrs", "ms", "dr"}
)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
#: A capitalised word that does not open its sentence: a proper name, or a name's part.
_CAPITAL = re.compile(r"(?<!^)\b[A-Z][a-zA-Z'’-]+")
#: Sentence ends, but not after a title ("Dr. Patel" is one sentence).
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bMrs\.)(?<!\bSt\.)(?<!\bProf\.)\s+")


def _number_key(raw: str) -> str:
    """``1,200`` and ``1200`` are one fact; ``3:30`` stays a time; ``49.00`` is ``49``."""
    value = raw.replace(",", "")
    if re.fullmatch(r"\d+\.0+", value):
        value = value.split(".")[0]
    return value


def _finding(
    check_id: str, severity: str, confidence: float, reason: str, turn: Mapping[str, Any], index: int, evidence: str
) -> dict[str, Any]:
    return {
        "object": "trace.finding",
        "check_id": check_id,
        "severity": severity,
        "verdict": "concern",
        "confidence": round(confidence, 2),
        "action": "flag",
        "speaker": turn.get("speaker"),
        "reason": reason,
        "preempt_instruction": None,
        "at_t": round(int(turn.get("start_ms") or 0) / 1000, 3),
        "tier": 2,
        "method": "rules",
        "turn": index,
        "evidence": _masked(evidence)[:EVIDENCE_CHARS],
    }


def _masked(text: str) -> str:
    """``text`` with its PII masked (evidence is stored)."""
    doc = Doc(text)
    out, pos = [], 0
    for hit in doc.pii:
        out += [text[pos : hit.start], mask(hit)]
        pos = hit.end
    return "".join(out) + text[pos:]


# ---- hallucination ------------------------------------------------------------------------------


class _Source:
    __slots__ = ("words", "numbers")

    def __init__(self, text: str) -> None:
        doc = Doc(text)
        self.words = doc.token_set
        self.numbers = frozenset(_number_key(n) for n in _NUMBER.findall(text))


def _facts(sentence: str, doc: Doc) -> tuple[set[str], set[str]]:
    """(numbers, words that are facts: calendar words and proper names) of a sentence."""
    numbers = {_number_key(n) for n in _NUMBER.findall(sentence)}
    named = {w for w in doc.token_set if w in _CALENDAR}
    for m in _CAPITAL.finditer(sentence):
        word = m.group().lower().replace("’", "'")
        if word not in _NOT_NAMES and word not in _STOP:
            named.add(word.split("'")[0])
    return numbers, named


def hallucination(turns: Sequence[Mapping[str, Any]], passages: Iterable[str]) -> list[dict[str, Any]]:
    sources = [_Source(p) for p in passages if p and p.strip()]
    if not sources:
        return []
    known_names: set[str] = set()
    first_agent = next((t for t in turns if t.get("speaker") == "agent"), None)
    if first_agent is not None:
        known_names = {m.group().lower() for m in _CAPITAL.finditer(str(first_agent.get("text") or ""))}
    out = []
    for index, turn in enumerate(turns):
        text = str(turn.get("text") or "")
        if turn.get("speaker") == "caller":
            sources.append(_Source(text))  # what the caller said may be repeated back
            continue
        if turn.get("speaker") != "agent":
            continue
        for sentence in _SENTENCE_END.split(text):
            if not sentence or sentence.rstrip().endswith("?"):
                continue
            doc = Doc(sentence)
            numbers, named = _facts(sentence, doc)
            named -= known_names
            if not numbers and not named:
                continue
            content = {w for w in doc.token_set if w not in _STOP and (len(w) > 2 or w.isdigit())}
            best_missing, best_overlap = None, 0.0
            for src in sources:
                missing = (numbers - src.numbers) | (named - src.words)
                overlap = len(content & (src.words | src.numbers)) / len(content) if content else 1.0
                if not missing and overlap >= SUPPORT_OVERLAP:
                    break
                if best_missing is None or len(missing) < len(best_missing):
                    best_missing, best_overlap = missing, overlap
            else:
                facts = len(numbers) + len(named)
                share = len(best_missing or ()) / facts
                what = ", ".join(sorted(best_missing or ())) or "its wording"
                reason = (
                    f"The agent stated facts ({what}) that no knowledge passage supports "
                    f"(best passage: {best_overlap:.0%} of the sentence's content words, "
                    f"{SUPPORT_OVERLAP:.0%} needed, and every number, date and name)."
                )
                out.append(_finding("hallucination", "medium", 0.5 + 0.4 * share, reason, turn, index, sentence))
    return out


# ---- opt-outs -----------------------------------------------------------------------------------

_HEDGED = re.compile(
    r"\b(?:maybe (?:you should |you could |just )?(?:stop|quit) (?:calling|contacting)"
    r"|(?:i )?don't know if i (?:want|need) (?:these|your|any more|more|the) (?:calls|messages)"
    r"|not sure i (?:want|need) (?:these|your|any more|more|the) (?:calls|messages)"
    r"|i(?:'d| would) rather not (?:get|receive|have) (?:these |your |any more |more )?(?:calls|messages)"
    r"|(?:can|could) you (?:call|contact) (?:me )?less"
    r"|(?:please )?not so many calls|too many calls|you keep calling"
    r"|probably (?:shouldn't|should not|don't need to) call"
    r"|i guess you (?:can|could) (?:take me off|remove me|stop)"
    r"|do i (?:have to|need to) keep getting (?:these|your) calls)",
    re.IGNORECASE,
)
_CLEAR = re.compile(
    r"\b(?:stop calling|(?:don't|do not|never) call me|take me off (?:your|the) (?:calling )?list"
    r"|remove (?:me|my number) from|(?:put|add) me (?:on|to) (?:your|the) do not call list"
    r"|(?:i want to |please )?opt (?:me )?out|unsubscribe|no more calls|stop contacting me"
    r"|i (?:don't|do not) want (?:these|your|any more|any) calls)",
    re.IGNORECASE,
)
_ACKNOWLEDGED = re.compile(
    r"\b(?:remove (?:you|your number)|removed|take you off|taken you off"
    r"|won't (?:call|contact)|will not (?:call|contact)|do[- ]not[- ]call|opt(?:ed)? you out|opted out|opt[- ]out"
    r"|stop (?:calling|contacting) you|no longer (?:call|contact|receive)"
    r"|unsubscribe|(?:would|do) you (?:like|want) (?:us |me )?to (?:stop|opt out|be removed|remove)"
    r"|(?:would|do) you (?:still )?want (?:to keep )?(?:getting|receiving) (?:these|our) calls"
    r"|(?:just )?to confirm,? you(?:'d| would) like)",
    re.IGNORECASE,
)


def optouts(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, turn in enumerate(turns):
        if turn.get("speaker") != "caller":
            continue
        text = Doc(str(turn.get("text") or "")).text
        hedged, clear = _HEDGED.search(text), _CLEAR.search(text)
        if not hedged and not clear:
            continue
        reply = next((t for t in turns[index + 1 :] if t.get("speaker") == "agent"), None)
        if reply is not None and _ACKNOWLEDGED.search(Doc(str(reply.get("text") or "")).text):
            continue
        tail = (
            "the call ended before the agent answered" if reply is None else "the agent's reply did not treat it as one"
        )
        if hedged:
            reason = (
                f"The caller may have asked to stop the calls (“{hedged.group()}”) and {tail}: confirm whether they "
                "want to opt out (consent may be revoked by any reasonable means, 47 CFR § 64.1200(a)(10))."
            )
            out.append(_finding("ambiguous_optout", "medium", 0.6 if reply else 0.45, reason, turn, index, text))
        else:
            reason = (
                f"The caller asked to stop the calls (“{clear.group()}”) and {tail}: record the opt-out "
                "(47 CFR § 64.1200(a)(10); § 64.1200(d)(3))."
            )
            out.append(_finding("optout_not_honored", "high", 0.9 if reply else 0.6, reason, turn, index, text))
    return out


# ---- context-dependent PII ----------------------------------------------------------------------

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d{{2}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?:19|20)\d{{2}}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)
_DOB_CONTEXT = re.compile(r"\b(?:born|date of birth|birth ?date|birthday|d\.?o\.?b)\b", re.IGNORECASE)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Za-z]+\s+){1,3}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct"
    r"|way|place|pl|terrace|circle|parkway|highway)\b",
    re.IGNORECASE,
)
_ADDRESS_CONTEXT = re.compile(r"\b(?:address|live at|living at|reside at|residence|home at)\b", re.IGNORECASE)
CONTEXT_CHARS = 60


def _near(context: re.Pattern[str], text: str, m: re.Match[str]) -> bool:
    return context.search(text, max(0, m.start() - CONTEXT_CHARS), m.end() + CONTEXT_CHARS) is not None


def context_pii(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, turn in enumerate(turns):
        if turn.get("speaker") != "agent":
            continue
        text = str(turn.get("text") or "")
        for m in _DATE.finditer(text):
            if _near(_DOB_CONTEXT, text, m):
                reason = (
                    "The agent spoke a date of birth. Ask the caller to state it rather than reading it out; "
                    "a birth date is identifying (a HIPAA identifier, 45 CFR § 164.514(b)(2)(i)(C))."
                )
                out.append(_finding("context_pii", "medium", 0.85, reason, turn, index, text))
                break
        for m in _STREET.finditer(text):
            if _near(_ADDRESS_CONTEXT, text, m):
                reason = "The agent read out a street address; confirm it partially or ask the caller to say it."
                out.append(_finding("context_pii", "medium", 0.7, reason, turn, index, text))
                break
    return out


def check(turns: Sequence[Mapping[str, Any]], passages: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every Tier-2 finding of a call (``turns`` as the call record stores them; ``passages``: the
    agent's knowledge texts), in call order. Each is a ``TraceFinding`` without ``id``,
    ``interaction_id`` and ``agent_id`` (the caller's to add), plus ``turn`` and ``evidence``."""
    turns = list(turns)
    found = hallucination(turns, passages) + optouts(turns) + context_pii(turns)
    return sorted(found, key=lambda f: (f["turn"], f["check_id"]))
