"""One exception hierarchy with stable, machine-readable codes.

Every rejection in lendcore raises a :class:`LendcoreError` subclass carrying a ``code`` that never
changes once published (clients switch on it), a human message, and optional structured details.
The shell maps these to exit codes (CLI) and RFC 9457 problem documents (HTTP).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class LendcoreError(Exception):
    """Base of every expected, business-level failure."""

    #: Default code for the class; an instance may carry a more precise one.
    default_code: ClassVar[str] = "LENDCORE_ERROR"
    #: HTTP status the API maps this family to.
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code: str = code or self.default_code
        self.message: str = message
        self.details: Mapping[str, Any] = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class ValidationError(LendcoreError):
    """Input that is malformed or out of range; nothing was changed."""

    default_code = "INVALID_INPUT"
    http_status = 422


class BusinessRuleError(LendcoreError):
    """Well-formed input that a business rule refuses (limit, state, cap …)."""

    default_code = "BUSINESS_RULE"
    http_status = 409


class NotFoundError(LendcoreError):
    default_code = "NOT_FOUND"
    http_status = 404


class ConflictError(LendcoreError):
    """A concurrent or repeated request conflicts with stored state (e.g. idempotency key reuse)."""

    default_code = "CONFLICT"
    http_status = 409


class ConfigurationError(LendcoreError):
    """A product, strategy or model file is invalid; raised at load, never mid-request."""

    default_code = "INVALID_CONFIGURATION"
    http_status = 500


class InvariantViolationError(LendcoreError):
    """A bookkeeping invariant does not hold. This is a bug, never a user error."""

    default_code = "INVARIANT_VIOLATION"
    http_status = 500
