"""Refusals that only the HTTP edge makes (their HTTP status rides on the class, like every
:class:`~lendcore.core.errors.LendcoreError`)."""

from __future__ import annotations

from lendcore.auth.errors import RateLimitedError
from lendcore.core.errors import LendcoreError

__all__ = ["BadRequestError", "RateLimitedError", "ServiceUnavailableError"]


class BadRequestError(LendcoreError):
    """A request the edge cannot take as it is (e.g. a money-moving POST without an Idempotency-Key)."""

    default_code = "BAD_REQUEST"
    http_status = 400


class ServiceUnavailableError(LendcoreError):
    """The service cannot answer now (database unreachable, schema not at head)."""

    default_code = "SERVICE_UNAVAILABLE"
    http_status = 503
