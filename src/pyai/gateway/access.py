"""What the gateway asks of a caller, per operation: the one table every route is guarded by.

Derived from the contract's "## Scopes" and "## Canonical endpoints" tables and each operation's
"Requires …" sentence. The app-wide guard (``pyai.gateway.auth.guard``) looks the matched route up
here, so a route cannot forget its scope, and the app refuses to start when a served route has no
row or a row has no route (``audit``). Where the contract leaves a scope implicit:

- ``DELETE /v1/voices/{id}`` deletes a *designed* voice, so it takes ``voice:design`` (as deleting
  a clone takes ``voice:clone``); reading the library stays open to any key.
- Every ``/v1/tools`` and ``/v1/agents`` operation takes ``omni:session`` (the tools' and the
  agent profiles' descriptions), ``POST /v1/omni/sessions`` too; ``/v1/omni/calls`` is ``omni:read``.
- ``/v1/recap/calls`` is ``recap:read`` for every method, as the contract's table maps the path.
- ``/v1/realtime`` takes ``omni:session``, or ``flow:session`` with ``model=pyai-flow-realtime``
  (legacy Flow keys); ``/v2/omni/chat`` is the deprecated alias of ``/v1/omni``.
- An ephemeral session token (``POST /v1/omni/sessions``) is accepted only where a row says
  ``session_token=True``: the Omni realtime sockets. Everywhere else it is refused with 403, even
  where its ``omni:session`` scope would do (``/v1/agents``) or no scope is needed (``/v1/me``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyai.gateway.scopes import KNOWN_SCOPES


@dataclass(frozen=True, slots=True)
class Access:
    """A key is required; ``scope`` (``None``: any active key) and, if ``billable``, the billing gate;
    ``also``: other scopes any one of which admits too; ``session_token``: an Omni session token
    may be used instead of a key."""

    scope: str | None = None
    billable: bool = False
    allow_suspended: bool = False
    scope_by_model: Mapping[str, str] = field(default_factory=dict)
    session_token: bool = False
    also: tuple[str, ...] = ()

    def scopes_for(self, model: str | None) -> tuple[str, ...]:
        """The scopes that admit a call (any one will do; none: any active key); a few surfaces
        pick the scope by the ``model`` query parameter."""
        scope = self.scope_by_model.get(model or "", self.scope)
        return () if scope is None else (scope, *self.also)


NO_KEY = None
"""A public route: no key, no gateway (sandbox minting, signed files, stock voice assets)."""

ANY_KEY = Access()

_OMNI = Access("omni:session")
_OMNI_SOCKET = Access("omni:session", session_token=True)

ACCESS: dict[tuple[str, str], Access | None] = {
    # Identity, models, the voice library: any active key; /v1/me also answers a suspended org.
    ("GET", "/v1/me"): Access(allow_suspended=True),
    ("GET", "/v1/models"): ANY_KEY,
    ("POST", "/v1/sandbox/keys"): NO_KEY,
    ("GET", "/v1/files/{key:path}"): NO_KEY,
    # Hear
    ("POST", "/v1/audio/transcriptions"): Access("hear:transcribe", billable=True),
    ("GET", "/v1/audio/transcriptions/stream"): Access("hear:stream", billable=True),
    ("POST", "/v1/transcription/jobs"): Access("transcribe:jobs", billable=True),
    ("GET", "/v1/transcription/jobs"): Access("transcribe:jobs"),
    ("GET", "/v1/transcription/jobs/{id}"): Access("transcribe:jobs"),
    ("DELETE", "/v1/transcription/jobs/{id}"): Access("transcribe:jobs"),
    # Extension: the secret that signs every webhook (jobs, recaps, call extractions)
    ("GET", "/v1/webhooks/secret"): Access("transcribe:jobs", also=("recap:configure", "omni:session")),
    # Speak
    ("POST", "/v1/audio/speech"): Access("voice:synthesize", billable=True),
    ("GET", "/v1/voices"): ANY_KEY,
    ("GET", "/v1/voices/{id}"): ANY_KEY,
    ("DELETE", "/v1/voices/{id}"): Access("voice:design"),
    ("GET", "/v1/voices/{id}/avatar.png"): NO_KEY,
    ("GET", "/v1/voices/{id}/preview.mp3"): NO_KEY,
    ("GET", "/v1/voice/clones"): Access("voice:clone"),
    ("POST", "/v1/voice/clones"): Access("voice:clone"),
    ("DELETE", "/v1/voice/clones/{id}"): Access("voice:clone"),
    ("POST", "/v1/voice/design"): Access("voice:design"),
    ("GET", "/v1/voice/design/{id}"): Access("voice:design"),
    ("POST", "/v1/voice/design/{id}/save"): Access("voice:design"),
    # Omni: realtime sockets, agent profiles, tools, session tokens, hosted knowledge (extension)
    ("GET", "/v1/omni"): _OMNI_SOCKET,
    ("GET", "/v2/omni/chat"): _OMNI_SOCKET,
    ("GET", "/v1/realtime"): Access(
        "omni:session", scope_by_model={"pyai-flow-realtime": "flow:session"}, session_token=True
    ),
    ("POST", "/v1/omni/sessions"): _OMNI,
    ("GET", "/v1/agents"): _OMNI,
    ("POST", "/v1/agents"): _OMNI,
    ("GET", "/v1/agents/{id}"): _OMNI,
    ("POST", "/v1/agents/{id}"): _OMNI,
    ("DELETE", "/v1/agents/{id}"): _OMNI,
    ("PUT", "/v1/agents/{id}/tools"): _OMNI,
    ("GET", "/v1/tools"): _OMNI,
    ("POST", "/v1/tools"): _OMNI,
    ("GET", "/v1/tools/calls"): _OMNI,
    ("GET", "/v1/tools/{id}"): _OMNI,
    ("POST", "/v1/tools/{id}"): _OMNI,
    ("DELETE", "/v1/tools/{id}"): _OMNI,
    ("POST", "/v1/tools/{id}/test"): _OMNI,
    ("POST", "/v1/knowledge-bases"): _OMNI,
    ("GET", "/v1/knowledge-bases"): _OMNI,
    ("GET", "/v1/knowledge-bases/{id}"): _OMNI,
    ("DELETE", "/v1/knowledge-bases/{id}"): _OMNI,
    ("POST", "/v1/knowledge-bases/{id}/documents"): _OMNI,
    ("GET", "/v1/knowledge-bases/{id}/search"): _OMNI,
    ("GET", "/v1/omni/calls"): Access("omni:read"),
    ("GET", "/v1/omni/calls/{call_id}"): Access("omni:read"),
    ("GET", "/v1/omni/calls/{call_id}/recording"): Access("omni:read"),
    ("GET", "/v1/omni/calls/{call_id}/summary"): Access("omni:read"),
    # Trace
    ("GET", "/v1/trace/config"): Access("trace:configure"),
    ("PUT", "/v1/trace/config"): Access("trace:configure"),
    ("GET", "/v1/trace/rule-packs"): Access("trace:configure"),
    ("POST", "/v1/trace/rule-packs"): Access("trace:configure"),
    ("GET", "/v1/trace/rule-packs/{id}"): Access("trace:configure"),
    ("GET", "/v1/trace/interactions"): Access("trace:read"),
    ("GET", "/v1/trace/interactions/{id}"): Access("trace:read"),
    ("GET", "/v1/trace/violations"): Access("trace:read"),
    ("GET", "/v1/trace/findings"): Access("trace:read"),
    ("GET", "/v1/trace/exposure"): Access("trace:read"),
    # Recap
    ("GET", "/v1/recap/config"): Access("recap:configure"),
    ("PUT", "/v1/recap/config"): Access("recap:configure"),
    ("GET", "/v1/recap/crm-config"): Access("recap:configure"),
    ("PUT", "/v1/recap/crm-config"): Access("recap:configure"),
    ("GET", "/v1/recap/calls"): Access("recap:read"),
    ("GET", "/v1/recap/calls/{call_id}"): Access("recap:read"),
    ("POST", "/v1/recap/calls/{call_id}"): Access("recap:read"),
    # Telephony
    ("GET", "/v1/telephony/available"): Access("telephony:manage"),
    ("GET", "/v1/telephony/numbers"): Access("telephony:manage"),
    ("POST", "/v1/telephony/numbers"): Access("telephony:manage"),
    ("POST", "/v1/telephony/numbers/{id}/assign"): Access("telephony:manage"),
    ("DELETE", "/v1/telephony/numbers/{id}"): Access("telephony:manage"),
    # extension: the carrier's side of a phone call, authenticated by the carrier's request
    # signature (the voice webhook) and a per-call token (the media stream), never by a key
    ("POST", "/v1/telephony/twilio/voice"): NO_KEY,
    ("GET", "/v1/telephony/twilio/stream"): NO_KEY,
}


def access_for(method: str, path: str) -> Access | None:
    """The row of a served route (``path`` is its template); a route without one is a bug."""
    try:
        return ACCESS[(method, path)]
    except KeyError:
        raise LookupError(f"{method} {path} has no row in pyai.gateway.access.ACCESS") from None


def audit(served: Iterable[tuple[str, str]], contract: Iterable[tuple[str, str]]) -> None:
    """Refuse to start unless the table, the served routes and the contract cover the same
    operations and every scope in the table is a known one."""
    served, listed = set(served), set(ACCESS)
    problems = [f"served without a row in ACCESS: {op}" for op in sorted(served - listed)]
    problems += [f"row in ACCESS for no served route: {op}" for op in sorted(listed - served)]
    problems += [f"contract operation not served: {op}" for op in sorted(set(contract) - served)]
    problems += [
        f"unknown scope {scope!r} for {op}"
        for op, access in sorted(ACCESS.items())
        if access
        for scope in (access.scope, *access.scope_by_model.values(), *access.also)
        if scope is not None and scope not in KNOWN_SCOPES
    ]
    if problems:
        raise RuntimeError("; ".join(problems))
