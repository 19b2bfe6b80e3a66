"""The two error envelopes of the contract.

Data-plane auth/billing/limit failures (401/402/403/429) use the OpenAI-style ``Error`` envelope;
request-validation and resource errors (400/404/409/…) use RFC 7807 ``application/problem+json``
whose ``type`` ends in the stable code. A Problem also carries the ``error`` member of the other
envelope as an RFC 7807 extension, because the official OpenAI SDKs read only ``error.message``:
without it their exceptions say just "Error code: 400".
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_BASE = "https://api.pyai.com/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

_ERROR_TYPES = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    429: "rate_limit_error",
}


def _error_type(status: int) -> str:
    """OpenAI's category names: the gateway's own, else client (4xx) versus server (5xx) fault."""
    return _ERROR_TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")


def openai_error(status: int, code: str, message: str, param: str | None) -> dict[str, Any]:
    """The ``error`` object both envelopes carry, in the shape OpenAI clients parse."""
    return {"message": message, "type": _error_type(status), "code": code, "param": param}


class ApiError(Exception):
    """A gateway failure rendered as ``{"error": {message, type, code, param}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": openai_error(self.status, self.code, self.message, self.param)}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class ProblemError(Exception):
    """A control-plane failure rendered as RFC 7807 problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.param = param
        self.headers = headers or {}

    def body(self, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.param:
            body["param"] = self.param
        if request_id:
            body["request_id"] = request_id
        body["error"] = openai_error(self.status, self.code, self.detail, self.param)
        return body

    def response(self, request_id: str | None) -> JSONResponse:
        return JSONResponse(
            self.body(request_id),
            status_code=self.status,
            headers=self.headers,
            media_type=PROBLEM_MEDIA_TYPE,
        )


def bad_request(detail: str, *, param: str | None = None, code: str = "invalid_request") -> ProblemError:
    """Shorthand for the common 400 that names the offending field."""
    return ProblemError(400, code, detail, title="Invalid request", param=param)


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "not_found", f"No {what} '{ident}' for this organization.", title="Not found")
