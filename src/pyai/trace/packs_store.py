"""Rule packs an org can use: the built-in ones (package data) and its own uploads (rows, one per
version, pinned: an uploaded version is never replaced, a new version is a new row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from pyai.gateway.errors import ProblemError, bad_request
from pyai.store.ids import new_id, now_ms
from pyai.store.tenancy import owned
from pyai.store.trace_models import TraceRulePackRow
from pyai.trace.builtin import BUILTIN_PACK_IDS, builtin_packs, builtin_specs
from pyai.trace.dsl import Pack, SpecError, compile_pack, validate_pack
from pyai.trace.guardrails import version_key


def _builtin_view(pack: Pack, *, with_spec: bool) -> dict[str, Any]:
    view = {
        "object": "trace.rule_pack",
        "id": f"tpack_builtin_{pack.pack_id}",
        "pack_id": pack.pack_id,
        "version": pack.version,
        "builtin": True,
        "jurisdiction": pack.jurisdiction,
        "legal_status": pack.legal_status,
        "etag": pack.etag,
        "status": "active",
    }  # no created_at: a built-in pack ships with the server, it was never created
    if with_spec:
        view["spec"] = builtin_specs()[pack.pack_id]
    return view


def _row_view(row: TraceRulePackRow, *, with_spec: bool) -> dict[str, Any]:
    view = {
        "object": "trace.rule_pack",
        "id": row.id,
        "pack_id": row.pack_id,
        "version": row.version,
        "builtin": False,
        "jurisdiction": row.jurisdiction,
        "legal_status": row.legal_status,
        "etag": row.etag,
        "status": row.status,
        "created_at": row.created_at,
    }
    if with_spec:
        view["spec"] = row.spec
    return view


async def _rows(s: Any, org_id: str) -> list[TraceRulePackRow]:
    query = owned(TraceRulePackRow, org_id).order_by(TraceRulePackRow.created_at, TraceRulePackRow.id)
    return list(await s.scalars(query))


async def available_packs(s: Any, org_id: str) -> list[Pack]:
    """Every version of every pack the org may enable: the built-in ones and its active uploads."""
    custom = [compile_pack(row.spec) for row in await _rows(s, org_id) if row.status == "active"]
    return [*builtin_packs().values(), *custom]


async def list_views(s: Any, org_id: str) -> list[dict[str, Any]]:
    builtin = [_builtin_view(p, with_spec=False) for p in builtin_packs().values()]
    return builtin + [_row_view(row, with_spec=False) for row in await _rows(s, org_id)]


async def get_view(s: Any, org_id: str, pack_id: str, version: str | None) -> dict[str, Any] | None:
    """A pack by ``pack_id``: the pinned ``version``, or the newest active one."""
    if pack_id in BUILTIN_PACK_IDS:
        pack = builtin_packs()[pack_id]
        return _builtin_view(pack, with_spec=True) if version in (None, pack.version) else None
    rows = [r for r in await _rows(s, org_id) if r.pack_id == pack_id]
    if version is not None:
        rows = [r for r in rows if r.version == version]
    else:
        rows = [r for r in rows if r.status == "active"]
    if not rows:
        return None
    return _row_view(max(rows, key=lambda r: version_key(r.version)), with_spec=True)


async def create(s: Any, org_id: str, spec: Any) -> dict[str, Any]:
    """Validate and store an uploaded pack (the caller commits); 400 names the bad field, 409 when
    that version exists or the id is a built-in one."""
    try:
        checked = validate_pack(spec)
        pack = compile_pack(checked)
    except SpecError as e:
        raise bad_request(str(e), param=e.path or "body", code="invalid_rule_pack") from None
    if pack.pack_id in BUILTIN_PACK_IDS:
        raise ProblemError(409, "conflict", f"pack_id: '{pack.pack_id}' is a built-in pack.", title="Conflict")
    row = TraceRulePackRow(
        id=new_id("tpack"),
        org_id=org_id,
        pack_id=pack.pack_id,
        version=pack.version,
        jurisdiction=pack.jurisdiction,
        legal_status=pack.legal_status,
        spec=checked,
        etag=pack.etag,
        status="active",
        created_at=now_ms(),
    )
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise ProblemError(
            409,
            "conflict",
            f"version: pack '{pack.pack_id}' already has version '{pack.version}' (versions are pinned: "
            "upload a new one).",
            title="Conflict",
        ) from None
    return _row_view(row, with_spec=True)
