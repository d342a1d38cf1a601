"""Errors as RFC 9457 problem documents (``application/problem+json``), from one mapping.

Every refusal is a :class:`~lendcore.core.errors.LendcoreError`; :func:`problem_for` is the one place
that turns one into an HTTP status and a problem body. The status is the
code's row in :mod:`lendcore.error_table` (the table the CLI's exit codes come from too).

A problem has ``type`` (``urn:lendcore:problem:<code in kebab case>``), ``title`` (the status
phrase), ``status``, ``detail`` (the error's message), ``code`` (the stable ``LendcoreError`` code
clients switch on), ``instance`` (the request path) and ``request_id``; a request that fails
validation adds ``errors``, one entry per field (``field`` such as ``body.amount`` or
``query.limit``, ``code``, ``message``). A 5xx never carries the internal message (nor a stack trace
or SQL): the detail is generic and the exception is logged with the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lendcore.api.context import current_request_id
from lendcore.api.errors import RateLimitedError, ServiceUnavailableError
from lendcore.auth.errors import AuthenticationError
from lendcore.core.errors import LendcoreError
from lendcore.error_table import spec_for

log = logging.getLogger("lendcore.api")

PROBLEM_JSON: Final = "application/problem+json"
PROBLEM_TYPE_PREFIX: Final = "urn:lendcore:problem:"
INVALID_INPUT: Final = "INVALID_INPUT"
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
GENERIC_5XX_DETAIL: Final = (
    "the server could not complete the request; quote the request id when reporting it"
)

#: pydantic error types with a lendcore name (the rest keep pydantic's type, upper-cased).
_PYDANTIC_CODES: Final = {
    "missing": "FIELD_REQUIRED",
    "extra_forbidden": "UNKNOWN_FIELD",
    "repeated_parameter": "PARAMETER_REPEATED",
    "json_invalid": "INVALID_JSON",
    "model_attributes_type": "INVALID_BODY",
    "model_type": "INVALID_BODY",
}


class FieldError(BaseModel):
    """One field of a request that failed validation."""

    field: str
    code: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": True})

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_type(code: str) -> str:
    """``urn:lendcore:problem:limit-exceeded`` for ``LIMIT_EXCEEDED``."""
    return PROBLEM_TYPE_PREFIX + code.lower().replace("_", "-")


def problem_body(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": detail,
        "code": code,
    }


def problem_for(error: LendcoreError) -> tuple[int, dict[str, Any]]:
    """THE mapping from a refusal to (HTTP status, problem body), through the error table."""
    status = spec_for(error).http_status
    if not 400 <= status <= 599:
        status = 500
    # A 5xx message is for operators (it may name keys, files, revisions): clients get a generic
    # one, except for "unavailable", whose messages are written for clients.
    detail = (
        error.message if status < 500 or isinstance(error, ServiceUnavailableError) else GENERIC_5XX_DETAIL
    )
    return status, problem_body(status, error.code, detail)


def _headers_for(error: LendcoreError) -> dict[str, str]:
    if isinstance(error, RateLimitedError):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, AuthenticationError):
        return {"WWW-Authenticate": 'Bearer realm="lendcore"'}
    return {}


def problem_response(
    request: Request | None, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem as a response, with ``instance`` and ``request_id`` filled in."""
    content = dict(body)
    if request is not None:
        content.setdefault("instance", request.url.path)
    content.setdefault("request_id", current_request_id())
    return JSONResponse(content, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


async def lendcore_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LendcoreError)
    status, body = problem_for(exc)
    if status >= 500:
        log.error("refused with %s: %s [%s]", status, exc.message, exc.code)
    return problem_response(request, status, body, _headers_for(exc))


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as ``{field, code, message}`` (never the input value: it may be PII)."""
    out = []
    for error in errors:
        kind = str(error.get("type", "invalid"))
        out.append(
            {
                "field": ".".join(str(part) for part in error.get("loc", ())) or "body",
                "code": _PYDANTIC_CODES.get(kind, kind.upper()),
                "message": str(error.get("msg", "invalid value")),
            }
        )
    return out


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, Any]]:
    """422 with one entry per field. The problem's code is the fields' lendcore code when they all
    share one (an amount above the maximum is ``AMOUNT_TOO_LARGE`` whether the edge or the use case
    refuses it), else ``INVALID_INPUT``."""
    items = field_errors(errors)
    codes = {item["code"] for item in items}
    ours = {str(e.get("type")) for e in errors} == codes  # raised by a lendcore validator
    code = codes.pop() if len(codes) == 1 and ours else INVALID_INPUT
    fields = ", ".join(item["field"] for item in items)
    body = problem_body(422, code, f"the request is not valid: {fields}")
    body["errors"] = items
    return 422, body


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    status, body = validation_problem(exc.errors())
    return problem_response(request, status, body)


#: 400 is Starlette's "there was an error parsing the body" (e.g. not UTF-8).
_HTTP_CODES: Final = {
    400: "INVALID_BODY",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
}


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed …) as problems."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, f"HTTP_{status}")
    detail = exc.detail if isinstance(exc.detail, str) and status < 500 else HTTPStatus(status).phrase
    return problem_response(request, status, problem_body(status, code, detail.lower()), exc.headers)


def internal_error_body() -> dict[str, Any]:
    return problem_body(500, INTERNAL_ERROR, GENERIC_5XX_DETAIL)


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    """The catch-all: log the exception (with the request id, through the PII filter), answer a
    generic 500 problem."""
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return problem_response(request, 500, internal_error_body())


#: The exception → problem table the application is composed with.
EXCEPTION_HANDLERS: Final = {
    LendcoreError: lendcore_error_handler,
    RequestValidationError: validation_error_handler,
    StarletteHTTPException: http_exception_handler,
    Exception: internal_error_handler,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem answers with these statuses."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
