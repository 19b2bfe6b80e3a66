"""Recap packs: what a recap contains for one kind of call.

A pack names the outcomes a call of its kind can end in (with the cue phrases and tools that tell
them apart), the fields worth capturing (each with a JSON schema, so an LLM's answer can be
checked against it, and the embedded reader that finds it in the transcript), and the Salesforce
fields those logical fields naturally land in. Packs are data: the embedded builder
(:mod:`pyai.recap.builder`) and the LLM prompt (:mod:`pyai.recap.llm`) read them, and
docs/recap.md describes them for customers.

Outcome rules. An outcome is *decisive* when evidence of it settles the call whatever is said
after (a booking the agent confirmed, or a booking tool that succeeded); decisive outcomes are
tried in the pack's order, and one ``implied_by`` a set of others wins when all of those are
present (a cancellation and a new booking in one call is a reschedule). Otherwise the last
conversational cue said decides ("not interested … actually, call me back in March" is a
callback), and without any cue the pack's default. Agent questions are never evidence ("Shall I
book you in?").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pyai.recap.transcript import AGENT, CALLER, compile_all

DEFAULT_PACK_ID = "sales_outbound"


class UnknownPackError(ValueError):
    """No built-in pack has this id; the message names the known ones (safe to show a caller)."""

    def __init__(self, pack_id: object) -> None:
        self.pack_id = pack_id
        super().__init__(f"unknown recap pack {pack_id!r}; known packs: {', '.join(PACKS)}")


@dataclass(frozen=True)
class Outcome:
    """One way a call can end. ``tldr`` is a template for the record's one-sentence TL;DR and
    ``next_step`` for its first next step: ``{field}`` is an extracted value, and a ``[bracketed]``
    part is dropped when a value in it is missing."""

    value: str
    description: str
    tldr: str
    cues: tuple[re.Pattern[str], ...] = ()
    speaker: str = CALLER
    decisive: bool = False
    tools: frozenset[str] = frozenset()
    implied_by: frozenset[str] = frozenset()
    next_step: str | None = None


@dataclass(frozen=True)
class Field:
    """A value a recap captures. ``read`` names the embedded reader (:data:`pyai.recap.readers.READERS`);
    ``speakers`` whose sentences it reads, ``scope`` restricts them to sentences matching one of
    these patterns, ``patterns`` are the reader's own cues, ``categories`` the cue phrases of each
    value of a ``categories`` field. ``crm_field`` is the Salesforce field it maps to naturally."""

    name: str
    description: str
    schema: Mapping[str, Any]
    read: str = "slots"
    speakers: tuple[str, ...] = (CALLER,)
    scope: tuple[re.Pattern[str], ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    categories: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    crm_field: str | None = None


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    description: str
    #: Salesforce ``Task.CallType`` (``Outbound``/``Inbound``), or None when a pack serves both.
    call_type: str | None
    #: The Salesforce object a recap of this kind usually updates.
    crm_object: str
    outcomes: tuple[Outcome, ...]
    default_outcome: str
    fields: tuple[Field, ...]
    #: Record-level logical fields (``summary``, ``next_steps``…) → Salesforce field; extracted
    #: fields carry theirs in :attr:`Field.crm_field`.
    crm_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def outcome_values(self) -> list[str]:
        return [o.value for o in self.outcomes]

    def outcome(self, value: str) -> Outcome:
        return next(o for o in self.outcomes if o.value == value)

    def default_field_map(self) -> dict[str, str]:
        """Logical field → Salesforce field, the mapping a customer starts from."""
        return {**self.crm_fields, **{f.name: f.crm_field for f in self.fields if f.crm_field}}

    def describe(self) -> dict[str, Any]:
        """The pack as JSON, for an API listing and the LLM prompt."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "call_type": self.call_type,
            "crm_object": self.crm_object,
            "outcomes": [{"value": o.value, "description": o.description} for o in self.outcomes],
            "default_outcome": self.default_outcome,
            "fields": [{"name": f.name, "description": f.description, "schema": dict(f.schema)} for f in self.fields],
            "default_field_map": self.default_field_map(),
        }


def _cues(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return compile_all(patterns)


_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_TIME = {"type": "string", "format": "time", "pattern": r"^\d{2}:\d{2}$"}
_WHEN = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$"}
_MEETING_SCOPE = _cues(
    r"\b(?:book|booked|booking|schedul\w*|meeting|demo|appointment|calendar|invite|slot|works for me|see you|"
    r"set (?:it|that|you|something) up|pencil\w*|call with)\b"
)
_MEETING_SETTLED = _cues(
    r"\b(?:booked|scheduled|confirmed|set up|see you|works for me|pencil(?:l)?ed|got you down|put you down|moved|"
    r"rescheduled)\b"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_TIMELINE = _cues(
    r"\b(?:this|next|the next|(?:by )?(?:the )?end of (?:the |this |next )?)\s*"
    r"(?:quarter|month|year|fiscal year|summer|spring|fall|autumn|winter)\b",
    r"\b(?:in |by )?(?:q[1-4]|(?:the )?(?:first|second|third|fourth) quarter)\b",
    r"\b(?:in|within|over) (?:the next )?(?:\d+|a few|a couple of|a couple|two|three|four|six|nine|twelve) "
    r"(?:weeks|months|quarters|years)\b",
    rf"\b(?:by|in|before|after|(?:early|mid|late)[- ]?)\s*(?:{_MONTHS})\b",
    r"\b(?:asap|as soon as possible|right away|immediately)\b",
)
_PURCHASE = _cues(
    r"\b(?:looking to|plan\w* to|hoping to|want to|need to|decid\w*|decision|roll ?out|implement\w*|launch|go live|"
    r"start|buy|purchas\w*|switch|timeline|time ?frame|budget|contract|renew\w*|sign)\b"
)
_CALLBACK = (r"\b(?:call|ring|try|reach) (?:me |us )?(?:back|again)\b",)
_BOOKING_TOOLS = frozenset({"book", "booking", "schedule", "calendar", "meeting", "appointment", "appointments"})

SALES_OUTBOUND = Pack(
    id="sales_outbound",
    name="Outbound sales",
    description="A prospecting or follow-up call by a sales agent: interest, budget, timeline, the next meeting.",
    call_type="Outbound",
    crm_object="Opportunity",
    outcomes=(
        Outcome(
            "meeting_booked",
            "A meeting or demo was booked with the prospect.",
            "Meeting booked[ for {next_meeting}][ (budget {budget})].",
            _cues(
                r"\b(?:i've|i have|we've|we have|i just|i've just|i went ahead and) (?:booked|scheduled|set up|put)\b",
                r"\byou're (?:all )?(?:booked|scheduled|confirmed|set)\b",
                r"\b(?:booked|scheduled|pencil(?:l)?ed) you\b",
                r"\b(?:the|your|our) (?:meeting|demo|call) is (?:booked|scheduled|confirmed|set)\b",
                r"\bsen(?:d|ding|t) (?:you )?(?:a |an |the )?(?:calendar )?invit",
                r"\bsee you (?:on|at|next|then|tomorrow|monday|tuesday|wednesday|thursday|friday)\b",
            ),
            speaker=AGENT,
            decisive=True,
            tools=_BOOKING_TOOLS,
            next_step="Meeting[ on {next_meeting}]",
        ),
        Outcome(
            "callback_requested",
            "The prospect asked to be called again later.",
            "Prospect asked for a callback[ {callback_when}].",
            _cues(
                *_CALLBACK,
                r"\b(?:not|isn't|is not) a good time\b",
                r"\b(?:busy|driving|in a meeting) (?:right )?now\b",
                r"\b(?:follow up|reach out|circle back) (?:with me |with us )?(?:again )?(?:next|in|later|after|on)\b",
            ),
            next_step="Call back[ {callback_when}]",
        ),
        Outcome(
            "not_interested",
            "The prospect declined.",
            "Prospect not interested[ (objection: {objection})].",
            _cues(
                r"\bnot (?:really |at all )?interested\b",
                r"\bno,? thank you\b",
                r"\b(?:remove|take) (?:me|us|my number|our number) (?:off|from)\b",
                r"\b(?:don't|do not|stop) call(?:ing)? (?:me|us|here|again)\b",
                r"\bwe're (?:all set|good|happy with what we have)\b",
                r"\bnot (?:for us|a (?:good )?fit|the right fit|something we need)\b",
                r"\bnot looking\b",
                r"\b(?:we'll|i'll|i'm going to|we're going to|gonna) pass\b",
            ),
        ),
        Outcome(
            "interested",
            "The prospect showed interest but nothing was booked.",
            "Prospect interested, nothing booked yet[ (timeline: {timeline})].",
            _cues(
                r"\binterested\b",
                r"\bsounds (?:good|great|interesting|promising|perfect|useful)\b",
                r"\btell me more\b",
                r"\bsend (?:me|us|over) (?:some |more |the |a )?"
                r"(?:info|information|details|pricing|proposal|quote|deck|brochure|materials|case stud)",
                r"\b(?:that|this|it) (?:could|might|would) (?:work|help|be useful)\b",
                r"\b(?:love|like) to (?:see|learn|hear|try)\b",
            ),
            next_step="Follow up with the prospect",
        ),
        Outcome("no_decision", "The call ended without a clear answer.", "No decision reached on the call."),
    ),
    default_outcome="no_decision",
    fields=(
        Field(
            "budget",
            "The budget the prospect named, as a number in their currency.",
            {"type": ["number", "null"], "minimum": 0},
            read="money",
            scope=_cues(r"\b(?:budget|spend|afford|set aside|allocat\w*|invest\w*|price range|ballpark|up to)\b"),
            patterns=_cues(r"\b(?:budget|spend|afford|set aside|allocat\w*|invest\w*|price range|ballpark|up to)\b"),
            crm_field="Amount",
        ),
        Field(
            "timeline",
            "When the prospect plans to buy or start, as they said it (e.g. 'next quarter').",
            {"type": ["string", "null"], "maxLength": 100},
            read="phrase",
            scope=_PURCHASE,
            patterns=_TIMELINE,
        ),
        Field(
            "decision_maker",
            "'caller' when the prospect decides, else the role they must check with (e.g. 'CFO').",
            {"type": ["string", "null"], "maxLength": 100},
            read="decision_maker",
        ),
        Field(
            "next_meeting",
            "The booked or proposed meeting, YYYY-MM-DD or YYYY-MM-DDTHH:MM (local time as said).",
            {**_WHEN, "type": ["string", "null"]},
            read="meeting",
            speakers=(CALLER, AGENT),
            scope=_MEETING_SCOPE,
            patterns=_MEETING_SETTLED,
        ),
        Field(
            "callback_when",
            "When the prospect asked to be called back, as they said it (e.g. 'next week').",
            {"type": ["string", "null"], "maxLength": 100},
            read="phrase",
            patterns=_cues(
                r"\b(?:call|ring|try|reach) (?:me |us )?(?:back|again) (?P<v>(?:on |in |at |after )?[^,.;!?]+)"
            ),
        ),
        Field(
            "objection",
            "The prospect's main objection, if any.",
            {"type": ["string", "null"], "enum": ["price", "timing", "competitor", "no_need", "no_authority", None]},
            read="categories",
            categories={
                "price": _cues(
                    r"\btoo (?:expensive|pricey|much|costly)\b",
                    r"\b(?:can't|cannot) afford\b",
                    r"\bno budget\b",
                    r"\bout of (?:our|my) (?:budget|price range)\b",
                    r"\bcosts? too much\b",
                ),
                "timing": _cues(
                    r"\bnot (?:a good|the right) time\b",
                    r"\b(?:too busy|bad time|not right now)\b",
                    r"\bmaybe (?:next|later|in)\b",
                ),
                "competitor": _cues(
                    r"\b(?:already|currently) (?:use|using|have|work with|working with|signed with|went with)\b",
                    r"\bhappy with (?:our|what we|the one we|our current)\b",
                    r"\bunder contract\b",
                ),
                "no_need": _cues(
                    r"\b(?:don't|do not) (?:really )?(?:need|see the need)\b",
                    r"\bno need\b",
                    r"\bnot (?:something we need|a priority|relevant)\b",
                ),
                "no_authority": _cues(
                    r"\bnot the (?:right person|decision maker|one who decides)\b",
                    r"\bnot (?:my|up to me)\b",
                ),
            },
        ),
    ),
    crm_fields={"summary": "Description", "next_steps": "NextStep"},
)

SUPPORT_INBOUND = Pack(
    id="support_inbound",
    name="Inbound support",
    description="A customer calling about a problem: what it is, whether it was fixed, what happens next.",
    call_type="Inbound",
    crm_object="Case",
    outcomes=(
        Outcome(
            "escalated",
            "The issue was handed to a person or team.",
            "[{issue_category} ]issue escalated[ (ref {order_number})].",
            _cues(
                r"\bescalat(?:e|ed|ing)\b",
                r"\btransfer(?:ring)? you\b",
                r"\b(?:connect|put) you through\b",
                r"\bhand(?:ing|ed)? (?:you|this|it) (?:over|off)\b",
            ),
            speaker=AGENT,
            decisive=True,
            tools=frozenset({"escalate", "escalation", "transfer", "handoff", "human"}),
            next_step="Escalation team to take over",
        ),
        Outcome(
            "follow_up_required",
            "The issue needs a follow-up after the call.",
            "[{issue_category} ]issue needs a follow-up[ (ref {order_number})].",
            _cues(
                r"\b(?:i'll|i will|we'll|we will|someone will|someone from (?:our|the) team will|our team will) "
                r"(?:call|email|text|get back|follow up|reach out|contact|update|send)\b",
                r"\bwithin (?:\d+|one|two|three|a few|a couple of) (?:hours|business days|days)\b",
                r"\b(?:opened|created|raised|logged) a (?:ticket|case)\b",
            ),
            speaker=AGENT,
            next_step="Follow up with the customer",
        ),
        Outcome(
            "resolved",
            "The issue was fixed on the call.",
            "[{issue_category} ]issue resolved on the call[ (ref {order_number})].",
            _cues(
                r"\b(?:that|it|this) (?:fixed|solved|worked|did)(?: it| the trick)?\b",
                r"\b(?:it's|it is|everything's|everything is|that's|that is) working\b",
                r"\b(?:problem|issue)(?:'s| is)? (?:solved|resolved|fixed|sorted)\b",
                r"\bthat's (?:all|everything) i (?:needed|wanted)\b",
                r"\bi can see it now\b",
                r"\bthat (?:helps|helped)\b",
            ),
        ),
        Outcome(
            "unresolved",
            "The issue was not fixed and no follow-up was promised.",
            "[{issue_category} ]issue not resolved on the call[ (ref {order_number})].",
            _cues(
                r"\bstill (?:not|doesn't|does not|isn't|can't|won't|broken|getting|seeing|having)\b",
                r"\b(?:that|it|this) (?:didn't|did not|doesn't|does not) (?:work|help|fix)\b",
            ),
            next_step="Review the unresolved issue",
        ),
    ),
    default_outcome="unresolved",
    fields=(
        Field(
            "issue_category",
            "What the issue is about.",
            {"type": ["string", "null"], "enum": ["billing", "technical", "account", "shipping", "cancellation", None]},
            read="categories",
            categories={
                "billing": _cues(
                    r"\b(?:charge[ds]?|charging|bill(?:ed|ing)?|invoice[sd]?|refunds?|payments?|overcharged|fees?)\b"
                ),
                "technical": _cues(
                    r"\b(?:error|crash\w*|bugs?|broken|not working|doesn't work|outage|down|install\w*|freez\w*"
                    r"|won't (?:load|start|open|connect))\b"
                ),
                "account": _cues(r"\b(?:password|log ?in|locked out|username|two-factor|sign in|account access)\b"),
                "shipping": _cues(
                    r"\b(?:deliver\w*|package|parcel|shipping|shipped|shipment|tracking|courier|hasn't arrived|"
                    r"never arrived)\b"
                ),
                "cancellation": _cues(r"\b(?:cancel\w*|unsubscribe|close my account)\b"),
            },
        ),
        Field(
            "order_number",
            "The order, ticket or reference number the customer gave.",
            {"type": ["string", "null"], "maxLength": 40},
            scope=_cues(
                r"\b(?:order|ticket|case|reference|confirmation|tracking|invoice|account) (?:number|no|#|id)\b"
            ),
        ),
        Field(
            "priority",
            "How urgent the customer said it is (Salesforce Case priorities).",
            {"type": ["string", "null"], "enum": ["High", "Medium", "Low", None]},
            read="categories",
            categories={
                "High": _cues(
                    r"\b(?:urgent|urgently|asap|as soon as possible|emergency|critical|right away|immediately)\b",
                    r"\b(?:can't|cannot) (?:work|operate|run|access anything)\b",
                    r"\b(?:completely|totally) down\b",
                    r"\blosing (?:money|customers|business|sales)\b",
                ),
                "Low": _cues(r"\bno (?:rush|hurry)\b", r"\bnot urgent\b", r"\bwhenever (?:you|it's)\b"),
            },
            crm_field="Priority",
        ),
        Field(
            "callback_phone",
            "A phone number the customer gave.",
            {"type": ["string", "null"], "format": "phone"},
            crm_field="SuppliedPhone",
        ),
        Field(
            "email",
            "An e-mail address the customer gave.",
            {"type": ["string", "null"], "format": "email"},
            crm_field="SuppliedEmail",
        ),
    ),
)

APPOINTMENT = Pack(
    id="appointment",
    name="Appointment booking",
    description="A call to book, move or cancel an appointment (clinics, salons, services).",
    call_type=None,
    crm_object="Contact",
    outcomes=(
        Outcome(
            "rescheduled",
            "An existing appointment was moved.",
            "Appointment moved[ to {appointment_date}][ at {appointment_time}].",
            _cues(
                r"\b(?:i've|i have|we've) (?:moved|rescheduled|changed)\b",
                r"\b(?:your|the) appointment (?:is|has been) (?:now )?(?:moved|rescheduled|changed)\b",
            ),
            speaker=AGENT,
            decisive=True,
            tools=frozenset({"reschedule", "move"}),
            implied_by=frozenset({"cancelled", "booked"}),
            next_step="Appointment[ on {appointment_date}][ at {appointment_time}]",
        ),
        Outcome(
            "cancelled",
            "An appointment was cancelled.",
            "Appointment cancelled.",
            _cues(
                r"\b(?:i've|i have|we've) cancel(?:l)?ed\b",
                r"\b(?:your|the) appointment (?:is|has been) cancel(?:l)?ed\b",
            ),
            speaker=AGENT,
            decisive=True,
            tools=frozenset({"cancel", "cancellation"}),
        ),
        Outcome(
            "booked",
            "A new appointment was booked.",
            "Appointment booked[ for {appointment_date}][ at {appointment_time}][ ({service})].",
            _cues(
                r"\b(?:i've|i have|we've) (?:booked|scheduled|got you down|put you down|pencil(?:l)?ed you in)\b",
                r"\byou're (?:all )?(?:booked|scheduled|set|confirmed)\b",
                r"\b(?:booked|scheduled) you\b",
                r"\b(?:your|the) appointment is (?:booked|confirmed|scheduled|set)\b",
                r"\bsee you (?:on|at|next|then|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            ),
            speaker=AGENT,
            decisive=True,
            tools=_BOOKING_TOOLS,
            next_step="Appointment[ on {appointment_date}][ at {appointment_time}]",
        ),
        Outcome("no_booking", "Nothing was booked, moved or cancelled.", "No appointment booked."),
    ),
    default_outcome="no_booking",
    fields=(
        Field(
            "appointment_date",
            "The date of the appointment booked or moved to (YYYY-MM-DD).",
            {**_DATE, "type": ["string", "null"]},
            read="meeting",
            speakers=(AGENT, CALLER),
            scope=_MEETING_SCOPE,
            patterns=_MEETING_SETTLED,
        ),
        Field(
            "appointment_time",
            "Its time (HH:MM, 24 h, local as said).",
            {**_TIME, "type": ["string", "null"]},
            read="meeting",
            speakers=(AGENT, CALLER),
            scope=_MEETING_SCOPE,
            patterns=_MEETING_SETTLED,
        ),
        Field(
            "service",
            "What the appointment is for, as the caller said it (e.g. 'cleaning').",
            {"type": ["string", "null"], "maxLength": 60},
            read="phrase",
            patterns=_cues(
                r"\b(?:book|schedule|make|need|want|get|have)\s+(?:me\s+)?(?:in\s+)?(?:for\s+)?(?:a|an|my)\s+"
                r"(?P<v>(?:[a-z-]+\s+){0,2}?[a-z-]+)\s+(?:appointment|visit|session)\b",
                r"\b(?:appointment|visit|session) for (?:a|an|my) "
                r"(?P<v>(?:[a-z-]+\s+){0,2}?[a-z-]+?)(?=[,.!?]|$| on | at )",
            ),
        ),
        Field("caller_name", "The caller's name as they gave it.", {"type": ["string", "null"], "maxLength": 80}),
        Field(
            "phone",
            "A phone number the caller gave.",
            {"type": ["string", "null"], "format": "phone"},
            crm_field="Phone",
        ),
        Field(
            "email",
            "An e-mail address the caller gave.",
            {"type": ["string", "null"], "format": "email"},
            crm_field="Email",
        ),
    ),
)

PACKS: Mapping[str, Pack] = MappingProxyType({p.id: p for p in (SALES_OUTBOUND, SUPPORT_INBOUND, APPOINTMENT)})


def get_pack(pack_id: str | None) -> Pack:
    """The built-in pack ``pack_id`` (None: the default, ``sales_outbound``). An unknown id raises
    :class:`UnknownPackError`, which the API turns into a 400 naming ``default_pack_id``."""
    if pack_id is None:
        return PACKS[DEFAULT_PACK_ID]
    if not isinstance(pack_id, str) or pack_id not in PACKS:
        raise UnknownPackError(pack_id)
    return PACKS[pack_id]
