"""Refusals of authentication and authorisation (their HTTP status rides on the class)."""

from __future__ import annotations

from typing import Any

from lendcore.core.errors import LendcoreError


class AuthenticationError(LendcoreError):
    """The caller is not (or no longer) known: no, a bad, an expired or a revoked credential."""

    default_code = "AUTHENTICATION_REQUIRED"
    http_status = 401


class PermissionDeniedError(LendcoreError):
    """The caller is known but may not do this (a role is missing)."""

    default_code = "PERMISSION_DENIED"
    http_status = 403


class RateLimitedError(LendcoreError):
    """Too many requests for one key (client address, phone, username …); retry after ``retry_after``
    seconds (sent as ``Retry-After``)."""

    default_code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.retry_after = max(1, int(retry_after))
