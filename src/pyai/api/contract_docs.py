"""Reuse the contract's own operation text for routes that parse their bodies by hand.

Routes that authenticate before reading the body (so a keyless request gets 401, not a body
error, and no upload is buffered for it) cannot declare the body as FastAPI parameters; this
puts the contract's request-body description back into ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from pyai.contract import seed_spec


def documented(path: str, method: str) -> dict[str, Any]:
    """Keyword arguments for ``@router.<method>(path, **documented(path, method))``."""
    op = seed_spec()["paths"][path][method]
    extra = {k: op[k] for k in ("requestBody", "parameters") if k in op}
    return {
        "operation_id": op.get("operationId"),
        "summary": op.get("summary"),
        "description": op.get("description"),
        "tags": op.get("tags"),
        "openapi_extra": extra or None,
    }
