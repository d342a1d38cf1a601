"""Rate limits: token buckets keyed by client address, phone, username or principal.

A :class:`RateRule` is ``capacity`` requests at once, refilled at ``capacity / per_seconds`` a second
(``5/60``: a burst of 5, then one every 12 s). :class:`RateLimiter` checks named rules against a
:class:`RateLimitStore` and raises :class:`~lendcore.api.errors.RateLimitedError` (429 problem,
``Retry-After``: whole seconds until one token is back) when a bucket is empty.

The store is an interface. :class:`InMemoryRateLimitStore` (thread-safe, bounded: the least recently
used buckets are forgotten past ``max_keys``) counts per process: with ``lendcore serve --workers N``
or several machines each process keeps its own buckets, so a client gets up to N times the limit. A
multi-process deployment needs a shared store (e.g. Redis with an atomic script) behind the same
:class:`RateLimitStore` protocol.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from fastapi import Request

from lendcore.api.errors import RateLimitedError
from lendcore.core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class RateRule:
    """``capacity`` requests in a burst, refilling fully over ``per_seconds``."""

    capacity: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or not self.per_seconds > 0:
            raise ConfigurationError(
                "a rate limit needs capacity >= 1 and a positive period", code="INVALID_RATE_LIMIT"
            )

    @property
    def refill_per_second(self) -> float:
        return self.capacity / self.per_seconds

    @classmethod
    def parse(cls, text: str) -> RateRule:
        """``"5/60"``: 5 requests per 60 seconds."""
        match = re.fullmatch(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,9}(?:\.[0-9]+)?)\s*", text)
        if match is None:
            raise ConfigurationError(
                f"a rate limit looks like 5/60 (requests/seconds), got {text!r}", code="INVALID_RATE_LIMIT"
            )
        return cls(int(match[1]), float(match[2]))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a token is available (0 when allowed)


@dataclass(slots=True)
class TokenBucket:
    """One bucket: ``tokens`` left as of ``updated`` (a monotonic time in seconds)."""

    tokens: float
    updated: float

    def take(self, rule: RateRule, now: float) -> Decision:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(rule.capacity), self.tokens + elapsed * rule.refill_per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return Decision(True, 0.0)
        return Decision(False, (1.0 - self.tokens) / rule.refill_per_second)


class RateLimitStore(Protocol):
    """Where buckets live. ``take`` must be atomic per key."""

    def take(self, key: str, rule: RateRule, now: float) -> Decision: ...


class InMemoryRateLimitStore:
    """Buckets in this process's memory (see the module docstring for multi-process deployments)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str, rule: RateRule, now: float) -> Decision:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(float(rule.capacity), now)
                while len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            return bucket.take(rule, now)


#: Rules by name; override any of them in ApiSettings (``LENDCORE_API_RATE_LIMITS``).
DEFAULT_RULES: Final[Mapping[str, RateRule]] = {
    "otp_request:ip": RateRule(20, 3600),
    "otp_request:phone": RateRule(5, 3600),
    "otp_verify:ip": RateRule(30, 300),
    "otp_verify:phone": RateRule(10, 300),
    "login:ip": RateRule(20, 300),
    "login:username": RateRule(10, 300),
    "refresh:ip": RateRule(60, 60),
    "applications:ip": RateRule(30, 3600),
    "applications:principal": RateRule(10, 3600),
    "official_accounts:ip": RateRule(20, 300),
    "registration:ip": RateRule(30, 3600),  # onboarding: the API's POST /customers and the page
    "unmask:principal": RateRule(30, 3600),  # fields a member of staff sees in clear (API and page)
}


class RateLimiter:
    """Named rules over one store, on a clock (monotonic seconds) that tests can drive."""

    def __init__(
        self,
        rules: Mapping[str, RateRule] | None = None,
        *,
        store: RateLimitStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = True,
    ) -> None:
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.store: RateLimitStore = store or InMemoryRateLimitStore()
        self.clock = clock
        self.enabled = enabled

    def check(self, rule_name: str, key: str) -> None:
        """Take one token from ``rule_name``'s bucket for ``key``; ``RATE_LIMITED`` (429) when empty.
        A rule without configuration is no limit."""
        rule = self.rules.get(rule_name)
        if not self.enabled or rule is None:
            return
        decision = self.store.take(f"{rule_name}|{key}", rule, self.clock())
        if not decision.allowed:
            raise RateLimitedError(
                "too many requests; retry later", retry_after=math.ceil(decision.retry_after), rule=rule_name
            )


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: run uvicorn with
    ``--forwarded-allow-ips`` so this is the real client, not the proxy)."""
    return request.client.host if request.client is not None else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    limiter = getattr(getattr(request.app.state, "lendcore", None), "rate_limiter", None)
    if not isinstance(limiter, RateLimiter):  # pragma: no cover - create_app always sets it
        raise RuntimeError("the application has no rate limiter")
    return limiter


def rate_limit(name: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency limiting an endpoint by client address (rule ``<name>:ip``). Per-principal or
    per-field limits call ``limiter_of(request).check(f"{name}:principal", principal.key)``."""

    async def dependency(request: Request) -> None:
        limiter_of(request).check(f"{name}:ip", client_address(request))

    dependency.__name__ = f"rate_limit_{name}"
    return dependency
