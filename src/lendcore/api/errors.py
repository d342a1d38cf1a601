"""Refusals that only the HTTP edge makes (their HTTP status rides on the class, like every
:class:`~lendcore.core.errors.LendcoreError`)."""

from __future__ import annotations

from typing import Any

from lendcore.core.errors import LendcoreError


class BadRequestError(LendcoreError):
    """A request the edge cannot take as it is (e.g. a money-moving POST without an Idempotency-Key)."""

    default_code = "BAD_REQUEST"
    http_status = 400


class RateLimitedError(LendcoreError):
    """Too many requests for one key (client address, phone, username …); retry after ``retry_after``
    seconds (sent as ``Retry-After``)."""

    default_code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailableError(LendcoreError):
    """The service cannot answer now (database unreachable, schema not at head)."""

    default_code = "SERVICE_UNAVAILABLE"
    http_status = 503
