"""Deadlines of a payment in flight: when we stop waiting for the channel and ask, how often we ask
again, and when a person must look at it.

Pure functions of plain values (no clock: ``now`` is an argument). The shell stores the results on
the payment row (``timeout_at``, ``next_query_at``, ``sla_at``) so the sweeper finds due payments with
one indexed query.

* ``timeout_at = submitted_at + callback_timeout``: a channel normally calls back within seconds; past
  this we stop waiting and query.
* the query schedule: the n-th query (n = 0, 1, 2 …) after the last one waits
  ``min(first_query_interval × backoff_factor^n, max_query_interval)``; the first query is at
  ``timeout_at``. Backoff spares a channel in trouble; the cap keeps a stuck payment from being
  forgotten.
* ``sla_at = submitted_at + sla``: a payment not resolved by then is raised to operations (it stays
  queried: raising is not giving up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from lendcore.core.errors import ValidationError


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    callback_timeout: timedelta = timedelta(minutes=2)
    first_query_interval: timedelta = timedelta(minutes=1)
    backoff_factor: int = 2
    max_query_interval: timedelta = timedelta(minutes=30)
    sla: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        for name in ("callback_timeout", "first_query_interval", "max_query_interval", "sla"):
            if getattr(self, name) <= timedelta(0):
                raise ValidationError(f"{name} must be positive", code="INVALID_DEADLINE_POLICY")
        if self.backoff_factor < 1:
            raise ValidationError("backoff_factor must be at least 1", code="INVALID_DEADLINE_POLICY")
        if self.max_query_interval < self.first_query_interval:
            raise ValidationError(
                "max_query_interval must not be shorter than first_query_interval",
                code="INVALID_DEADLINE_POLICY",
            )


DEFAULT_POLICY: Final = DeadlinePolicy()


@dataclass(frozen=True, slots=True)
class Deadlines:
    timeout_at: datetime
    next_query_at: datetime
    sla_at: datetime


def deadlines(submitted_at: datetime, policy: DeadlinePolicy = DEFAULT_POLICY) -> Deadlines:
    """The deadlines of a payment submitted (or created) at ``submitted_at``."""
    timeout_at = submitted_at + policy.callback_timeout
    return Deadlines(timeout_at=timeout_at, next_query_at=timeout_at, sla_at=submitted_at + policy.sla)


def query_interval(attempts: int, policy: DeadlinePolicy = DEFAULT_POLICY) -> timedelta:
    """How long to wait after the query number ``attempts`` (0-based count of queries already made,
    minus one) before the next: exponential, capped."""
    if attempts < 0:
        raise ValueError("attempts must be >= 0")
    cap = policy.max_query_interval
    interval = policy.first_query_interval
    for _ in range(attempts):  # a loop, not a power: no overflow however many attempts
        interval *= policy.backoff_factor
        if interval >= cap:
            return cap
    return min(interval, cap)


def next_query_at(
    attempts: int, last_query_at: datetime, policy: DeadlinePolicy = DEFAULT_POLICY
) -> datetime:
    """When to query next, given how many queries were made (``attempts`` ≥ 1, the last at
    ``last_query_at``)."""
    return last_query_at + query_interval(max(attempts - 1, 0), policy)


def is_past_sla(sla_at: datetime | None, now: datetime) -> bool:
    return sla_at is not None and now >= sla_at
