"""An org's Recap config (``/v1/recap/config``) and CRM config (``/v1/recap/crm-config``).

Both live on one row per org. Updates are partial: a field present is set (``null`` clears a
nullable one), an absent one is kept — for the Salesforce secrets that is the contract's rule
("omit secret fields on update to preserve existing values"). Secrets are sealed at rest and
never returned: the client id is masked, the client secret and refresh token are redacted.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pyai.gateway.errors import bad_request
from pyai.omni.urls import vetted_url
from pyai.recap.salesforce import InvalidConfigError, SalesforceConfig
from pyai.store.ids import now_ms
from pyai.store.recap_models import RecapConfigRow
from pyai.store.sealed import secret_box

DEFAULT_PACK = "sales_outbound"
REDACTED = "********"
_SECRETS = ("client_secret", "refresh_token")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecapConfigIn(_Strict):
    enabled: bool | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    default_pack_id: str | None = Field(default=None, max_length=64)


class SalesforceIn(_Strict):
    enabled: bool | None = None
    instance_url: str | None = Field(default=None, max_length=2048)
    #: An extension: the OAuth host (default: test.salesforce.com for a sandbox instance, else
    #: login.salesforce.com).
    login_url: str | None = Field(default=None, max_length=2048)
    client_id: str | None = Field(default=None, max_length=512)
    client_secret: str | None = Field(default=None, max_length=1024)
    refresh_token: str | None = Field(default=None, max_length=2048)
    object: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
    record_id_field: str | None = Field(default=None, max_length=128)
    field_map: dict[str, str] | None = Field(default=None, max_length=64)
    create_activity: bool | None = None


class CrmConfigIn(_Strict):
    salesforce: SalesforceIn | None = None


async def load(s: Any, org_id: str) -> RecapConfigRow:
    """The org's row (a fresh, unsaved default when there is none yet)."""
    row = await s.get(RecapConfigRow, org_id)
    if row is None:
        row = RecapConfigRow(org_id=org_id, enabled=False, webhook_url=None, default_pack_id=DEFAULT_PACK, crm={})
        row.updated_at = None  # type: ignore[assignment]
    return row


def config_view(row: RecapConfigRow) -> dict[str, Any]:
    """The contract's ``RecapConfig``; a config never saved has no ``updated_at`` (non-null there)."""
    view = {
        "object": "recap.config",
        "enabled": row.enabled,
        "webhook_url": row.webhook_url,
        "default_pack_id": row.default_pack_id,
    }
    if row.updated_at is not None:
        view["updated_at"] = row.updated_at
    return view


async def apply_config(services: Any, row: RecapConfigRow, body: RecapConfigIn, known_pack: Any) -> None:
    """Set the fields present in ``body`` (URLs pass the SSRF guard, the pack must exist)."""
    given = body.model_fields_set
    if "enabled" in given:
        if body.enabled is None:
            raise bad_request("enabled: expected true or false", param="enabled")
        row.enabled = body.enabled
    if "webhook_url" in given:
        url = body.webhook_url
        row.webhook_url = (
            None if url is None else await vetted_url(url, "webhook_url", test_mode=services.settings.test_mode)
        )
    if "default_pack_id" in given:
        if body.default_pack_id is None or not known_pack(body.default_pack_id):
            raise bad_request(f"default_pack_id: no recap pack {body.default_pack_id!r}", param="default_pack_id")
        row.default_pack_id = body.default_pack_id
    row.updated_at = now_ms()


def _mask(value: str | None) -> str | None:
    if not value:
        return value
    return value[:4] + "…" + value[-4:] if len(value) > 12 else "…" + value[-2:]


def crm_view(row: RecapConfigRow) -> dict[str, Any]:
    # What was never set is left out, not sent as null: the contract types these as non-null.
    out: dict[str, Any] = {"object": "recap.crm_config"}
    if (sf := (row.crm or {}).get("salesforce")) is not None:
        view = {k: v for k, v in sf.items() if not k.startswith("sealed_") and v is not None}
        if sf.get("client_id"):
            view["client_id"] = _mask(sf["client_id"])
        out["salesforce"] = view | {name: REDACTED for name in _SECRETS if sf.get(f"sealed_{name}")}
    if row.crm_updated_at is not None:
        out["updated_at"] = row.crm_updated_at
    return out


async def apply_crm(services: Any, row: RecapConfigRow, body: CrmConfigIn) -> None:
    """Merge ``body.salesforce`` into the stored one; ``salesforce: null`` removes it."""
    if "salesforce" not in body.model_fields_set:
        return
    if body.salesforce is None:
        row.crm = {}
        row.crm_updated_at = now_ms()
        return
    box = secret_box(services)
    current = dict((row.crm or {}).get("salesforce") or {})
    given = body.salesforce.model_dump(exclude_unset=True)
    for name in ("instance_url", "login_url"):
        if given.get(name) is not None:
            await vetted_url(given[name], f"salesforce.{name}", test_mode=services.settings.test_mode)
    for name, value in given.items():
        if name in _SECRETS:
            if value is not None and value != REDACTED:  # a redacted value sent back keeps the secret
                current[f"sealed_{name}"] = box.seal(value)
            elif value is None:
                current.pop(f"sealed_{name}", None)
        else:
            current[name] = value
    current.setdefault("enabled", False)
    current.setdefault("object", "Opportunity")
    current.setdefault("record_id_field", "salesforce_id")
    current.setdefault("field_map", {})
    current.setdefault("create_activity", True)
    if current["enabled"]:
        missing = [n for n in ("instance_url", "client_id") if not current.get(n)]
        missing += [n for n in _SECRETS if not current.get(f"sealed_{n}")]
        if missing:
            raise bad_request(
                f"salesforce.{missing[0]}: required while salesforce.enabled is true", param=f"salesforce.{missing[0]}"
            )
    try:  # the writer's own checks (API names, absolute URLs), with the secrets left sealed
        SalesforceConfig.from_dict(
            {
                **current,
                **{n: "sealed" for n in _SECRETS},
                "instance_url": current.get("instance_url") or "https://x",
                "client_id": current.get("client_id") or "x",
            }
        )
    except InvalidConfigError as e:
        field = str(e).split(":", 1)[0]
        raise bad_request(str(e), param=field) from None
    row.crm = {"salesforce": current}
    row.crm_updated_at = now_ms()


def salesforce_secrets(services: Any, row: RecapConfigRow) -> dict[str, Any] | None:
    """The enabled Salesforce config with its secrets opened, for the writer (None: not enabled)."""
    sf = (row.crm or {}).get("salesforce")
    if not sf or not sf.get("enabled"):
        return None
    box = secret_box(services)
    opened = {k: v for k, v in sf.items() if not k.startswith("sealed_")}
    for name in _SECRETS:
        opened[name] = box.open(sf[f"sealed_{name}"])
    return opened


def rotate_refresh_token(services: Any, row: RecapConfigRow, token: str) -> None:
    """Keep the refresh token Salesforce rotated (the caller commits)."""
    sf = dict((row.crm or {}).get("salesforce") or {})
    if sf:
        sf["sealed_refresh_token"] = secret_box(services).seal(token)
        row.crm = {**row.crm, "salesforce": sf}
