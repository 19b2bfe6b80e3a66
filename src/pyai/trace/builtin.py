"""The built-in rule packs (``tcpa``, ``hipaa``, ``pii``, ``brand_voice``): JSON files shipped in
the package (``pyai/trace/packs/``), in the same DSL a tenant uploads, so they can be read,
diffed and copied as a starting point.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from pyai.trace.dsl import Pack, compile_pack

BUILTIN_PACK_IDS = ("tcpa", "hipaa", "pii", "brand_voice")


@cache
def _specs() -> dict[str, dict[str, Any]]:
    folder = resources.files(__package__).joinpath("packs")
    return {pack_id: json.loads(folder.joinpath(f"{pack_id}.json").read_text("utf-8")) for pack_id in BUILTIN_PACK_IDS}


def builtin_specs() -> dict[str, dict[str, Any]]:
    """The built-in packs as authored (fresh copies: callers may change them)."""
    return copy.deepcopy(_specs())


@cache
def builtin_packs() -> dict[str, Pack]:
    """The built-in packs compiled, by pack id (compiled once per process; packs are immutable)."""
    return {pack_id: compile_pack(spec) for pack_id, spec in _specs().items()}
