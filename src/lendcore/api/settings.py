"""The API's configuration: one frozen value, read from the environment only by :meth:`from_env`.

* ``LENDCORE_JWT_SECRET``: the HS256 key of access tokens (the one-time-code hashing key is derived
  from it), at least 32 bytes. Unset: a fixed development secret, with a ``RuntimeWarning`` (the CLI
  and the server print a notice).
* ``LENDCORE_API_CORS_ORIGINS``: comma-separated origins CORS allows; unset: CORS off.
* ``LENDCORE_API_HSTS_SECONDS``: ``Strict-Transport-Security: max-age`` (set it behind HTTPS); unset: off.
* ``LENDCORE_API_RATE_LIMITS``: ``name=5/60,…`` overrides :data:`lendcore.api.ratelimit.DEFAULT_RULES`;
  ``off`` disables rate limiting.
* ``LENDCORE_API_ACCESS_TOKEN_SECONDS`` (900) and ``LENDCORE_API_OTP_SECONDS`` (300): lifetimes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Final

from lendcore.api.ratelimit import DEFAULT_RULES, RateRule
from lendcore.core.errors import ConfigurationError

ENV_JWT_SECRET: Final = "LENDCORE_JWT_SECRET"
ENV_CORS: Final = "LENDCORE_API_CORS_ORIGINS"
ENV_HSTS: Final = "LENDCORE_API_HSTS_SECONDS"
ENV_RATE_LIMITS: Final = "LENDCORE_API_RATE_LIMITS"
ENV_ACCESS_TTL: Final = "LENDCORE_API_ACCESS_TOKEN_SECONDS"
ENV_OTP_TTL: Final = "LENDCORE_API_OTP_SECONDS"
MIN_SECRET_BYTES: Final = 32
_DEV_SECRET: Final = hashlib.sha256(
    b"lendcore INSECURE development JWT secret - never use in production"
).digest()


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Everything the application factory needs besides the database."""

    jwt_secret: bytes = _DEV_SECRET
    jwt_insecure: bool = True
    access_token_ttl: timedelta = timedelta(minutes=15)
    customer_refresh_ttl: timedelta = timedelta(days=14)
    staff_refresh_ttl: timedelta = timedelta(hours=12)
    otp_ttl: timedelta = timedelta(minutes=5)
    otp_max_attempts: int = 5
    otp_resend_interval: timedelta = timedelta(seconds=60)
    #: An idempotent request still "in progress" after this long is taken to have died with its
    #: process: a retry may run it again (its use case's own idempotency still applies).
    idempotency_stale_after: timedelta = timedelta(minutes=5)
    cors_origins: tuple[str, ...] = ()
    hsts_max_age: int = 0
    rate_limits: Mapping[str, RateRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    rate_limits_enabled: bool = True
    max_body_bytes: int = 1024 * 1024
    docs_enabled: bool = True

    def __post_init__(self) -> None:
        if len(self.jwt_secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"{ENV_JWT_SECRET} must be at least {MIN_SECRET_BYTES} bytes", code="JWT_SECRET_INVALID"
            )
        if self.otp_max_attempts < 1:
            raise ConfigurationError("otp_max_attempts must be at least 1", code="INVALID_CONFIGURATION")

    @property
    def otp_key(self) -> bytes:
        """The key one-time codes are hashed with (derived: one secret to configure)."""
        return hmac.new(self.jwt_secret, b"lendcore/otp-code/v1", hashlib.sha256).digest()

    @property
    def fingerprint_key(self) -> bytes:
        """The key request fingerprints are keyed with: a body may carry a card or ID number, whose
        plain SHA-256 could be found by trying every number (derived like :attr:`otp_key`)."""
        return hmac.new(self.jwt_secret, b"lendcore/idempotency-fingerprint/v1", hashlib.sha256).digest()

    def with_changes(self, **changes: object) -> ApiSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ
        secret = env.get(ENV_JWT_SECRET, "")
        if secret.strip():
            jwt_secret, insecure = secret.strip().encode(), False
        else:
            warnings.warn(
                f"{ENV_JWT_SECRET} is not set: using the INSECURE development JWT secret",
                RuntimeWarning,
                stacklevel=2,
            )
            jwt_secret, insecure = _DEV_SECRET, True
        rules, enabled = _rate_limits(env.get(ENV_RATE_LIMITS, ""))
        return cls(
            jwt_secret=jwt_secret,
            jwt_insecure=insecure,
            access_token_ttl=timedelta(seconds=_seconds(env, ENV_ACCESS_TTL, 900)),
            otp_ttl=timedelta(seconds=_seconds(env, ENV_OTP_TTL, 300)),
            cors_origins=tuple(o.strip() for o in env.get(ENV_CORS, "").split(",") if o.strip()),
            hsts_max_age=_seconds(env, ENV_HSTS, 0, minimum=0),
            rate_limits=rules,
            rate_limits_enabled=enabled,
        )


def _seconds(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not minimum <= int(text) <= 10**8:
        raise ConfigurationError(
            f"{name} must be a whole number of seconds, got {text!r}", code="INVALID_CONFIGURATION"
        )
    return int(text)


def _rate_limits(text: str) -> tuple[dict[str, RateRule], bool]:
    rules = dict(DEFAULT_RULES)
    if text.strip().lower() == "off":
        return rules, False
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, rule = part.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(
                f"{ENV_RATE_LIMITS} entries look like otp_request:phone=5/3600, got {part!r}",
                code="INVALID_RATE_LIMIT",
            )
        rules[name.strip()] = RateRule.parse(rule)
    return rules, True
