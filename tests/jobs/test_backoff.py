"""Retries back off exponentially, capped, with jitter that is reproducible from a seed."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from lendcore.jobs.backoff import ceiling, retry_delay

BASE, CAP = timedelta(seconds=10), timedelta(hours=1)


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    assert [ceiling(n, BASE, CAP).total_seconds() for n in (1, 2, 3, 4, 9, 10, 1000)] == [
        10, 20, 40, 80, 2560, 3600, 3600,
    ]  # fmt: skip


@given(st.integers(1, 10_000), st.integers(0, 2**32))
def test_a_delay_is_between_half_the_ceiling_and_the_ceiling(attempt: int, seed: int) -> None:
    top = ceiling(attempt, BASE, CAP)
    assert top / 2 <= retry_delay(attempt, random.Random(seed), BASE, CAP) <= top


def test_the_same_seed_gives_the_same_delays_and_jobs_failing_together_spread_out() -> None:
    first = [retry_delay(3, random.Random(42)) for _ in range(1)]
    assert first == [retry_delay(3, random.Random(42))]
    rng = random.Random(1)
    assert len({retry_delay(3, rng) for _ in range(20)}) == 20
