"""Body parsing after authentication, with contract-shaped errors that name the bad field.

Sizes are enforced before this runs, while the body arrives (``body_limits``, 413); JSON is
parsed by ``safe_json`` so a deeply nested body is a 400, not a blown recursion limit.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request, UploadFile
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from pyai import safe_json
from pyai.api.body_limits import too_large
from pyai.gateway.errors import ProblemError, bad_request

M = TypeVar("M", bound=BaseModel)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body; 400 ``invalid_json`` / ``invalid_request`` naming the field."""
    if _media_type(request) != "application/json":
        raise ProblemError(
            400,
            "unsupported_media_type",
            "Content-Type must be application/json.",
            title="Unsupported media type",
            param="Content-Type",
        )
    try:
        data = safe_json.loads(await request.body())
    except safe_json.InvalidJSON as e:
        raise ProblemError(400, "invalid_json", f"Request body {e}.", title="Invalid JSON", param="body") from None
    return validated(model, data)


async def optional_json_body(request: Request, model: type[M]) -> M | None:
    """``json_body`` for a body the contract makes optional: an empty one is ``None``."""
    if not await request.body():  # Starlette keeps the body, so json_body reads it again for free
        return None
    return await json_body(request, model)


def validated(model: type[M], data: object) -> M:
    """``model.model_validate(data)``, with a failure turned into a 400 naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False, include_context=False, include_input=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        more = f" (and {e.error_count() - 1} more problem(s))" if e.error_count() > 1 else ""
        raise bad_request(f"{field}: {err['msg']}{more}", param=field) from None


async def multipart_form(request: Request, file_param: str) -> FormData:
    """Read a multipart form (its size was checked as it arrived, by the body-limit middleware)."""
    if _media_type(request) != "multipart/form-data":
        raise ProblemError(
            400,
            "unsupported_media_type",
            f"Content-Type must be multipart/form-data with a '{file_param}' file part.",
            title="Unsupported media type",
            param="Content-Type",
        )
    try:
        return await request.form(max_files=4, max_fields=64)
    except Exception as e:  # malformed multipart framing
        raise bad_request(f"Malformed multipart body: {e}", param="body") from None


async def read_upload(form: FormData, name: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes and filename of file part ``name``: 400 when missing or empty, 413 when over ``max_bytes``
    (the body fits its limit, which allows for framing, but this part alone does not)."""
    part = form.get(name)
    if part is None:
        raise bad_request(f"{name}: a file part named '{name}' is required.", param=name)
    if not isinstance(part, UploadFile) and not hasattr(part, "read"):
        raise bad_request(f"{name}: must be a file upload, not a text field.", param=name)
    data = await part.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(max_bytes, name)
    if not data:
        raise bad_request(f"{name}: the uploaded file is empty.", param=name, code="empty_audio")
    return data, part.filename or name


def form_bool(form: FormData, name: str, default: bool = False) -> bool:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    value = str(raw).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise bad_request(f"{name}: expected true or false, got {raw!r}.", param=name)


def form_number(form: FormData, name: str, kind: type[int] | type[float]) -> int | float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        return kind(str(raw))
    except ValueError:
        raise bad_request(
            f"{name}: expected a{'n integer' if kind is int else ' number'}, got {raw!r}.", param=name
        ) from None
