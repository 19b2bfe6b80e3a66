"""How many body bytes each route may receive (enforced by ``middleware.BodyLimitMiddleware``).

File uploads get ``PYAI_MAX_UPLOAD_BYTES`` plus an allowance for multipart framing and text
fields; every other body (JSON, in the contract) gets ``PYAI_MAX_JSON_BYTES``. Both are refused
with ``413 payload_too_large`` naming the limit and the field (``body`` or the file part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import Scope

from pyai.gateway.errors import ProblemError
from pyai.settings import Settings

#: Allowance for multipart framing and text fields on top of the file-size limit.
MULTIPART_OVERHEAD = 64 * 1024

#: The POST routes that take a multipart file upload, and the name of their file part.
UPLOAD_ROUTES = {
    "/v1/audio/transcriptions": "file",
    "/v1/transcription/jobs": "audio",
    "/v1/voice/clones": "file",
    "/v1/knowledge-bases/{id}/documents": "file",
}


def _size(n: int) -> str:
    value, unit = (n / (1 << 20), "MiB") if n >= 1 << 20 else (n / 1024, "KiB")
    return f"{value:.1f}".removesuffix(".0") + " " + unit


def too_large(limit: int, param: str) -> ProblemError:
    """The 413 for a body (``param`` "body") or a file part over ``limit`` bytes."""
    what = "the request body" if param == "body" else "the upload"
    return ProblemError(
        413,
        "payload_too_large",
        f"{param}: {what} exceeds the {limit}-byte ({_size(limit)}) limit.",
        title="Payload too large",
        param=param,
    )


@dataclass(frozen=True)
class BodyLimit:
    """A request's body limit: ``max_bytes`` on the wire, named to the client as ``shown_bytes``."""

    max_bytes: int
    shown_bytes: int
    param: str

    def problem(self) -> ProblemError:
        return too_large(self.shown_bytes, self.param)


class BodyLimits:
    """Picks each request's limit: a multipart POST to an upload route gets the upload limit
    (so ``/v1/transcription/jobs`` with JSON still gets the JSON one); anything else the JSON limit."""

    def __init__(self, settings: Settings) -> None:
        self.default = BodyLimit(settings.max_json_bytes, settings.max_json_bytes, "body")
        upload = settings.max_upload_bytes
        self.uploads: list[tuple[re.Pattern[str], BodyLimit]] = [
            (compile_path(path)[0], BodyLimit(upload + MULTIPART_OVERHEAD, upload, part))
            for path, part in UPLOAD_ROUTES.items()
        ]

    def __call__(self, scope: Scope) -> BodyLimit:
        if scope["method"] == "POST" and Headers(scope=scope).get("content-type", "").lower().startswith(
            "multipart/form-data"
        ):
            for pattern, limit in self.uploads:
                if pattern.match(scope["path"]):
                    return limit
        return self.default
