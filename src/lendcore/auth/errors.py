"""Refusals of authentication and authorisation (their HTTP status rides on the class)."""

from __future__ import annotations

from lendcore.core.errors import LendcoreError


class AuthenticationError(LendcoreError):
    """The caller is not (or no longer) known: no, a bad, an expired or a revoked credential."""

    default_code = "AUTHENTICATION_REQUIRED"
    http_status = 401


class PermissionDeniedError(LendcoreError):
    """The caller is known but may not do this (a role is missing)."""

    default_code = "PERMISSION_DENIED"
    http_status = 403
