"""Specification of loan dates: month arithmetic, day counts, Chinese business days."""

from __future__ import annotations

from datetime import date

import pytest

from lendcore.core.calendar import (
    BusinessDayRule,
    add_months,
    days_between,
    holiday_calendar_covers,
    is_business_day,
    month_end,
    parse_date,
    roll,
)
from lendcore.core.errors import ValidationError


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_anchor_day_survives_a_short_month() -> None:
    feb = add_months(date(2026, 1, 31), 1)
    assert add_months(feb, 1) == date(2026, 3, 28)  # without the anchor, the 31st is lost
    assert add_months(feb, 1, anchor_day=31) == date(2026, 3, 31)
    assert add_months(feb, 2, anchor_day=31) == date(2026, 4, 30)


def test_bad_anchor_day_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        add_months(date(2026, 1, 1), 1, anchor_day=32)
    assert caught.value.code == "INVALID_DATE"


def test_days_count_the_first_day_not_the_last() -> None:
    assert days_between(date(2026, 3, 1), date(2026, 3, 2)) == 1  # 算头不算尾
    assert days_between(date(2026, 3, 1), date(2026, 3, 1)) == 0
    assert days_between(date(2028, 2, 1), date(2028, 3, 1)) == 29
    assert days_between(date(2026, 3, 2), date(2026, 3, 1)) == -1


def test_month_end() -> None:
    assert month_end(date(2026, 2, 3)) == date(2026, 2, 28)
    assert month_end(date(2028, 2, 3)) == date(2028, 2, 29)


def test_national_day_2026_rolls_to_the_first_working_day() -> None:
    assert not is_business_day(date(2026, 10, 1))
    assert roll(date(2026, 10, 1), BusinessDayRule.FOLLOWING) == date(2026, 10, 8)
    assert roll(date(2026, 10, 5), BusinessDayRule.FOLLOWING) == date(2026, 10, 8)


def test_make_up_working_weekend_days_are_business_days() -> None:
    assert date(2026, 9, 20).weekday() == 6 and is_business_day(date(2026, 9, 20))  # 调休 Sunday
    assert date(2026, 10, 10).weekday() == 5 and is_business_day(date(2026, 10, 10))  # 调休 Saturday
    assert roll(date(2026, 10, 10), BusinessDayRule.FOLLOWING) == date(2026, 10, 10)
    assert roll(date(2026, 10, 11), BusinessDayRule.FOLLOWING) == date(2026, 10, 12)


def test_no_roll_by_default() -> None:
    assert roll(date(2026, 10, 1), BusinessDayRule.NONE) == date(2026, 10, 1)


def test_parse_date() -> None:
    assert parse_date(" 2026-11-22 ") == date(2026, 11, 22)
    for bad in ("2026-02-30", "22/11/2026", ""):
        with pytest.raises(ValidationError) as caught:
            parse_date(bad)
        assert caught.value.code == "INVALID_DATE"


def test_years_the_official_calendar_does_not_cover_fall_back_to_monday_to_friday() -> None:
    # The State Council publishes each year's holidays in the November before; far years are unknown.
    assert holiday_calendar_covers(date(2026, 10, 1))
    assert not holiday_calendar_covers(date(2040, 10, 1))
    assert is_business_day(date(2040, 10, 1))  # a Monday: no holiday known, so a working day
    assert not is_business_day(date(2040, 10, 6))  # a Saturday
