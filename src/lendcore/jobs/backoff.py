"""Retry delays: exponential backoff with jitter (pure; the random generator is passed in, seeded in
tests).

The n-th failed attempt (n ≥ 1) waits a random time in ``[c/2, c]`` where ``c = min(cap, base × 2^(n-1))``
("equal jitter"): never less than half the exponential delay, so a failing job really backs off, and
spread out, so jobs that failed together (a channel outage) do not all come back in the same second.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Final

BASE: Final = timedelta(seconds=10)
CAP: Final = timedelta(hours=1)


def ceiling(attempt: int, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """``min(cap, base × 2^(attempt-1))``, without overflow for any attempt count."""
    if attempt < 1:
        raise ValueError("attempt must be >= 1")
    delay = base
    for _ in range(attempt - 1):
        delay *= 2
        if delay >= cap:
            return cap
    return min(delay, cap)


def retry_delay(attempt: int, rng: random.Random, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """How long to wait before retrying after failed attempt number ``attempt``."""
    top = ceiling(attempt, base, cap)
    return top / 2 + (top / 2) * rng.random()
