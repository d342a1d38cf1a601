"""Specification of revolving interest (随借随还): actual days on a changing principal, 算头不算尾."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.interest import interest, principal_days

RATE = Decimal("0.0005")
D = date(2026, 3, 1)


def test_one_day_of_interest_counts_the_first_day_not_the_last() -> None:
    assert interest([(D, 1_000_000)], RATE, D, D + timedelta(days=1)) == 500  # 10,000 yuan × 0.05 % = 5 yuan
    assert interest([(D, 1_000_000)], RATE, D, D) == 0


def test_interest_follows_the_principal_as_it_changes() -> None:
    timeline = [(D, 1_000_000), (date(2026, 3, 11), 600_000), (date(2026, 3, 21), 0)]
    # 10 days × 10,000 + 10 days × 6,000 yuan, nothing after repaying in full
    assert interest(timeline, RATE, D, date(2026, 4, 1)) == 8_000


def test_principal_before_the_first_entry_is_zero_and_the_range_clips_the_timeline() -> None:
    timeline = [(date(2026, 3, 10), 100_000)]
    assert principal_days(timeline, D, date(2026, 3, 12)) == 200_000
    assert principal_days(timeline, date(2026, 3, 11), date(2026, 3, 12)) == 100_000


def test_rounding_happens_once_at_the_end() -> None:
    # 3 days of 1 fen·day × 0.5 → 1.5 fen → 2 (half-up); daily rounding would give 0 + 0 + 0 or 3 × 1.
    timeline = [(D, 1)]
    assert interest(timeline, Decimal("0.5"), D, D + timedelta(days=3)) == 2


@pytest.mark.parametrize(
    ("timeline", "code"),
    [
        ([(D, 100), (D, 200)], "INVALID_TIMELINE"),
        ([(D, -1)], "INVALID_TIMELINE"),
    ],
)
def test_bad_timelines_are_refused(timeline: list[tuple[date, int]], code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        interest(timeline, RATE, D, D + timedelta(days=5))
    assert caught.value.code == code


def test_end_before_start_and_negative_rate_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        interest([(D, 1)], RATE, D, D - timedelta(days=1))
    assert caught.value.code == "INVALID_DATE_RANGE"
    with pytest.raises(ValidationError) as caught:
        interest([(D, 1)], Decimal("-0.1"), D, D)
    assert caught.value.code == "INVALID_RATE"


@given(
    principal=st.integers(0, 10**10),
    days=st.integers(0, 400),
    split=st.integers(0, 400),
)
def test_property_splitting_a_range_changes_the_base_not_at_all(
    principal: int, days: int, split: int
) -> None:
    end = D + timedelta(days=days)
    middle = D + timedelta(days=min(split, days))
    timeline = [(D, principal)]
    assert principal_days(timeline, D, end) == principal_days(timeline, D, middle) + principal_days(
        timeline, middle, end
    )
    assert principal_days(timeline, D, end) == principal * days
