"""Turn every failure into one of the contract's two envelopes; never an HTML page or a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from pyai.engines.stt.base import EngineUnavailable
from pyai.gateway.errors import ApiError, ProblemError
from pyai.gateway.limits import RETRY_AFTER_S, LimitsUnavailable
from pyai.realtime.admission import reject_error, reject_limits_unavailable

log = logging.getLogger("pyai.errors")

ENGINE_RETRY_AFTER_S = 5
_STATUS_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    400: "invalid_request",
}


def request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or str(loc[-1] if loc else "body")


def validation_problem(exc: RequestValidationError) -> ProblemError:
    """Name the first bad field in ``detail`` and ``param``; malformed JSON gets its own code."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": "value_error"}
    if first.get("type") == "json_invalid":
        return ProblemError(
            400,
            "invalid_json",
            f"Request body is not valid JSON: {first.get('msg')}",
            title="Invalid JSON",
            param="body",
        )
    field = _field(tuple(first.get("loc", ())))
    msg = first.get("msg", "invalid value")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ProblemError(400, "invalid_request", f"{field}: {msg}{more}", title="Invalid request", param=field)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(conn: HTTPConnection, exc: ApiError):  # noqa: ANN202
        if isinstance(conn, WebSocket):  # browsers cannot read a refused handshake: say it in-band
            await reject_error(conn, exc)
            return None
        return exc.response()

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):  # noqa: ANN202
        return exc.response(request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):  # noqa: ANN202
        return validation_problem(exc).response(request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404 and exc.detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}."
        elif exc.status_code == 405:
            detail = f"Method {request.method} is not allowed on {request.url.path}."
        else:
            detail = str(exc.detail)
        return ProblemError(exc.status_code, code, detail, headers=dict(exc.headers or {})).response(
            request_id(request)
        )

    @app.exception_handler(EngineUnavailable)
    async def _engine(request: Request, exc: EngineUnavailable):  # noqa: ANN202
        log.warning("engine unavailable on %s %s: %s", request.method, request.url.path, exc)
        return ProblemError(
            503,
            "engine_unavailable",
            f"{exc}; nothing was billed, retry shortly.",
            title="Engine unavailable",
            headers={"Retry-After": str(ENGINE_RETRY_AFTER_S)},
        ).response(request_id(request))

    @app.exception_handler(LimitsUnavailable)
    async def _limits(request: HTTPConnection, exc: LimitsUnavailable):  # noqa: ANN202
        if isinstance(request, WebSocket):
            await reject_limits_unavailable(request)
            return None
        return ProblemError(
            503,
            "limits_unavailable",
            "Rate limits and usage caps cannot be checked right now (the limit store is unreachable), "
            "so this call was refused rather than run unchecked; nothing was billed, retry shortly.",
            title="Service unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ).response(request_id(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return ProblemError(
            500, "internal_error", "An internal error occurred; quote the request id.", title="Internal error"
        ).response(request_id(request))
