"""A carrier for numbers the operator already owns: a SIP trunk or PBX in front of PyAI.

Self-hosters list their DIDs (and/or ranges such as ``+14155550100-+14155550199``); "search"
offers pool numbers not already in use, and "provision"/"release" only check the number belongs
to the pool, since there is nothing to buy: the operator's PBX routes each DID to PyAI and the
DB's number → agent binding does the rest (so a ``voice_url`` is accepted and ignored). The
adapter keeps no state, so any number of API processes can share one configuration.

Live-call control is not available: the call leg belongs to the PBX bridge (e.g. an AudioSocket
connection), which hangs up by closing its socket and transfers through the PBX. ``hangup`` and
``transfer`` therefore raise ``CarrierError(501)``, and ``supports_call_control`` is ``False`` so
callers can check first — raising rather than returning ``False`` so nobody believes a caller
was transferred when nothing happened.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pyai.telephony.carriers.base import (
    AvailableNumber,
    Capabilities,
    Carrier,
    CarrierError,
    ProvisionedNumber,
    area_code_of,
    is_us_e164,
    matches_contains,
    validate_search,
    validate_us_e164,
    validate_voice_url,
)

#: A pool this large is almost certainly a typo in a range (and would cost memory in every process).
MAX_POOL = 100_000


def parse_pool(numbers: Iterable[str] = (), ranges: Iterable[str] = ()) -> list[str]:
    """The sorted, de-duplicated pool; ``ValueError`` naming the bad entry otherwise."""
    pool: set[str] = set()
    for i, number in enumerate(numbers):
        if not is_us_e164(number):
            raise ValueError(f"numbers[{i}]: {number!r} is not a US E.164 number like +14155550123")
        pool.add(number)
    for i, spec in enumerate(ranges):
        if not isinstance(spec, str) or spec.count("-") != 1:
            raise ValueError(f"ranges[{i}]: {spec!r} must look like +14155550100-+14155550199")
        first, last = (part.strip() for part in spec.split("-"))
        if not is_us_e164(first) or not is_us_e164(last):
            raise ValueError(f"ranges[{i}]: both ends must be US E.164 numbers like +14155550100")
        start, end = int(first[1:]), int(last[1:])
        if end < start:
            raise ValueError(f"ranges[{i}]: the range ends before it starts")
        if end - start + 1 + len(pool) > MAX_POOL:
            raise ValueError(f"ranges[{i}]: the pool would exceed {MAX_POOL} numbers")
        # Every number between two valid US numbers keeps the ends' first digits, so all are valid.
        pool.update(f"+{n}" for n in range(start, end + 1))
    if len(pool) > MAX_POOL:
        raise ValueError(f"numbers: the pool would exceed {MAX_POOL} numbers")
    return sorted(pool)


class LocalSipCarrier(Carrier):
    """The operator's own numbers; no network calls. ``carrier_number_id`` is the E.164 number."""

    kind = "local_sip"
    supports_call_control = False

    def __init__(
        self,
        numbers: Iterable[str] = (),
        ranges: Iterable[str] = (),
        *,
        monthly_cost_cents: int = 0,
        capabilities: Capabilities = Capabilities(voice=True, sms=False),  # noqa: B008 (frozen)
    ) -> None:
        self.pool = parse_pool(numbers, ranges)
        self._members = frozenset(self.pool)
        self.monthly_cost_cents = monthly_cost_cents
        self.capabilities = capabilities

    def __repr__(self) -> str:
        return f"LocalSipCarrier({len(self.pool)} numbers)"

    async def search(
        self, area_code: str | None, contains: str | None, limit: int, *, exclude: Collection[str] = ()
    ) -> list[AvailableNumber]:
        validate_search(area_code, contains, limit)
        excluded = exclude if isinstance(exclude, set | frozenset) else set(exclude)
        found: list[AvailableNumber] = []
        for number in self.pool:
            if number in excluded:
                continue
            if area_code and area_code_of(number) != area_code:
                continue
            if contains and not matches_contains(number, contains):
                continue
            found.append(
                AvailableNumber(
                    phone_number=number,
                    area_code=area_code_of(number),
                    capabilities=self.capabilities,
                    monthly_cost_cents=self.monthly_cost_cents,
                )
            )
            if len(found) == limit:
                break
        return found

    async def provision(self, phone_number: str, voice_url: str) -> ProvisionedNumber:
        validate_us_e164(phone_number)
        validate_voice_url(voice_url)
        if phone_number not in self._members:
            raise CarrierError(400, "phone_number is not one of this deployment's numbers", code="not_in_pool")
        return ProvisionedNumber(
            carrier_number_id=phone_number,
            phone_number=phone_number,
            area_code=area_code_of(phone_number),
            capabilities=self.capabilities,
            monthly_cost_cents=self.monthly_cost_cents,
        )

    async def set_voice_url(self, carrier_number_id: str, voice_url: str) -> None:
        validate_voice_url(voice_url)  # routing is by number in the DB; nothing to tell a carrier

    async def release(self, carrier_number_id: str) -> bool:
        # Nothing is rented, and a number removed from the pool since must still release cleanly.
        return True

    async def hangup(self, call_id: str) -> bool:
        raise CarrierError(
            501, "the local SIP carrier cannot hang up calls; the bridge ends its own leg", code="unsupported"
        )

    async def transfer(self, call_id: str, to_number: str, *, caller_id: str | None = None) -> None:
        raise CarrierError(501, "the local SIP carrier cannot transfer calls", code="unsupported")
