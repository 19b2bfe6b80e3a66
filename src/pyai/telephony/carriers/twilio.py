"""Twilio as a carrier: its 2010-04-01 REST API over httpx.

Endpoints used (``{base}/2010-04-01/Accounts/{AccountSid}/…``, HTTP Basic ``AccountSid:AuthToken``):
``GET AvailablePhoneNumbers/US/Local.json`` (search), ``POST IncomingPhoneNumbers.json`` (buy),
``POST IncomingPhoneNumbers/{PN}.json`` (re-point), ``DELETE IncomingPhoneNumbers/{PN}.json``
(release), ``POST Calls/{CA}.json`` (hang up with ``Status=completed``, transfer with ``Twiml``).
Recording is never switched on here: PyAI's bridge records both legs itself.

Twilio's error body ``{code, message, more_info, status}`` becomes a :class:`CarrierError` with
the same status and code; the message has account SIDs masked so a tenant never sees the
operator's account. The auth token lives only in the request's Authorization header: it is not
in ``repr``, in error messages, or in any URL.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import httpx

from pyai.telephony import twiml
from pyai.telephony.carriers.base import (
    AvailableNumber,
    Capabilities,
    Carrier,
    CarrierError,
    ProvisionedNumber,
    area_code_of,
    is_us_e164,
    validate_e164,
    validate_search,
    validate_us_e164,
    validate_voice_url,
)

DEFAULT_API_BASE = "https://api.twilio.com"
#: Twilio's list price for a US local number (display-only: the contract's ``monthly_cost_cents``);
#: its number APIs do not return a price, so an operator with other pricing configures it.
DEFAULT_MONTHLY_COST_CENTS = 115
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_NUMBER_SID = re.compile(r"^PN[0-9a-fA-F]{32}$")
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_ANY_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Twilio's "call is not in a state that can be modified" — for a hang-up, the call already ended.
_INVALID_CALL_STATE = 21220


def check_api_base(api_base: str) -> str:
    """``api_base`` without a trailing slash; plain http only to a loopback host (a test double),
    since the auth token travels in every request."""
    parts = urlsplit(api_base) if isinstance(api_base, str) else None
    if not parts or not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("must be an absolute https URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError("must be https (http is allowed only for a loopback test double)")
    if parts.query or parts.fragment or parts.username:
        raise ValueError("must be a plain base URL without query, fragment or credentials")
    return api_base.rstrip("/")


def _bool(caps: dict[str, Any], name: str) -> bool:
    """A capability flag; Twilio spells them ``SMS`` in searches and ``sms`` on owned numbers."""
    for key, value in caps.items():
        if isinstance(key, str) and key.lower() == name:
            return bool(value)
    return False


def _capabilities(item: dict[str, Any]) -> Capabilities:
    caps = item.get("capabilities")
    caps = caps if isinstance(caps, dict) else {}
    return Capabilities(voice=_bool(caps, "voice"), sms=_bool(caps, "sms"))


class TwilioCarrier(Carrier):
    """One Twilio account (or subaccount)."""

    kind = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        monthly_cost_cents: int = DEFAULT_MONTHLY_COST_CENTS,
        timeout: float = 15.0,
    ) -> None:
        if not isinstance(account_sid, str) or not ACCOUNT_SID.match(account_sid):
            raise ValueError("account_sid must be AC followed by 32 hex digits")
        if not isinstance(auth_token, str) or not auth_token:
            raise ValueError("auth_token must be a non-empty string")
        self.account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self.api_base = check_api_base(api_base)
        self.monthly_cost_cents = monthly_cost_cents
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TwilioCarrier(account_sid={self.account_sid!r}, api_base={self.api_base!r})"

    # ---- numbers --------------------------------------------------------------------------------
    async def search(
        self, area_code: str | None, contains: str | None, limit: int, *, exclude: Collection[str] = ()
    ) -> list[AvailableNumber]:
        validate_search(area_code, contains, limit)
        query: dict[str, str] = {"VoiceEnabled": "true", "PageSize": str(limit)}
        if area_code:
            query["AreaCode"] = area_code
        if contains:
            query["Contains"] = contains
        body = await self._request("GET", "AvailablePhoneNumbers/US/Local.json", params=query)
        items = body.get("available_phone_numbers") if isinstance(body, dict) else None
        found = []
        for item in items if isinstance(items, list) else []:
            number = item.get("phone_number") if isinstance(item, dict) else None
            if not is_us_e164(number) or number in exclude:
                continue
            found.append(
                AvailableNumber(
                    phone_number=number,
                    area_code=area_code_of(number),
                    locality=item.get("locality") or None,
                    region=item.get("region") or None,
                    capabilities=_capabilities(item),
                    monthly_cost_cents=self.monthly_cost_cents,
                    country=item.get("iso_country") or "US",
                )
            )
        return found[:limit]

    async def provision(self, phone_number: str, voice_url: str) -> ProvisionedNumber:
        validate_us_e164(phone_number)
        validate_voice_url(voice_url)
        form = {"PhoneNumber": phone_number, "VoiceUrl": voice_url, "VoiceMethod": "POST"}
        body = await self._request("POST", "IncomingPhoneNumbers.json", data=form)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not _NUMBER_SID.match(sid):
            raise CarrierError(502, "Twilio answered the purchase without a phone number id")
        number = body.get("phone_number") if is_us_e164(body.get("phone_number")) else phone_number
        return ProvisionedNumber(
            carrier_number_id=sid,
            phone_number=number,
            area_code=area_code_of(number),
            capabilities=_capabilities(body),
            monthly_cost_cents=self.monthly_cost_cents,
        )

    async def set_voice_url(self, carrier_number_id: str, voice_url: str) -> None:
        validate_voice_url(voice_url)
        path = f"IncomingPhoneNumbers/{self._sid(carrier_number_id, _NUMBER_SID, 'phone number id')}.json"
        await self._request("POST", path, data={"VoiceUrl": voice_url, "VoiceMethod": "POST"})

    async def release(self, carrier_number_id: str) -> bool:
        path = f"IncomingPhoneNumbers/{self._sid(carrier_number_id, _NUMBER_SID, 'phone number id')}.json"
        try:
            await self._request("DELETE", path)
        except CarrierError as e:
            if e.status == 404:
                return False  # already released (here or in Twilio's console): the goal is met
            raise
        return True

    # ---- live calls -----------------------------------------------------------------------------
    async def hangup(self, call_id: str) -> bool:
        path = f"Calls/{self._sid(call_id, _CALL_SID, 'call id')}.json"
        try:
            await self._request("POST", path, data={"Status": "completed"})
        except CarrierError as e:
            if e.status == 404 or e.code == _INVALID_CALL_STATE:
                return False
            raise
        return True

    async def transfer(self, call_id: str, to_number: str, *, caller_id: str | None = None) -> None:
        validate_e164(to_number)
        if caller_id is not None:
            validate_e164(caller_id, "caller_id")
        path = f"Calls/{self._sid(call_id, _CALL_SID, 'call id')}.json"
        await self._request("POST", path, data={"Twiml": twiml.dial(to_number, caller_id)})

    # ---- HTTP -----------------------------------------------------------------------------------
    @staticmethod
    def _sid(value: str, pattern: re.Pattern[str], what: str) -> str:
        """Checked before it goes into a URL path, so no id can address another resource."""
        if not isinstance(value, str) or not pattern.match(value):
            raise CarrierError(400, f"invalid Twilio {what}")
        return value

    async def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, data: dict[str, str] | None = None
    ) -> Any:
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/{path}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                resp = await client.request(
                    method, url, params=params, data=data, auth=self._auth, headers={"Accept": "application/json"}
                )
        except httpx.TimeoutException as e:
            raise CarrierError(504, "Twilio did not answer in time") from e
        except httpx.HTTPError as e:
            raise CarrierError(502, "could not reach Twilio") from e
        if resp.status_code >= 400:
            raise _twilio_error(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as e:
            raise CarrierError(502, "Twilio answered with something that is not JSON") from e


def _twilio_error(resp: httpx.Response) -> CarrierError:
    """Twilio's error body as a CarrierError with the same status and code."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("code") if isinstance(body.get("code"), int | str) else None
    raw = body.get("message")
    message = raw if isinstance(raw, str) and raw.strip() else f"Twilio answered HTTP {resp.status_code}"
    message = _ANY_ACCOUNT_SID.sub("AC…", message)[:300]
    if code is not None:
        message = f"Twilio error {code}: {message}"
    more_info = body.get("more_info") if isinstance(body.get("more_info"), str) else None
    return CarrierError(resp.status_code, message, code=code, more_info=more_info)
