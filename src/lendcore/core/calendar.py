"""Dates for loans: month arithmetic that keeps its anchor day, day counts, business-day rolls.

Conventions (DESIGN.md):
- Interest accrues over ``[start, end)``: the first day counts, the last does not (算头不算尾), so
  the number of interest days between two dates is simply ``(end - start).days``.
- Due dates keep the day of month of the anchor (the first due date), clamped to the month end:
  anchored on the 31st, the due dates are Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30 …
- Rolling a due date to the next business day is optional (off by default) and uses China's
  official holiday calendar, including the make-up working days on weekends (调休).
"""

from __future__ import annotations

import calendar as _calendar
import functools
from datetime import date, timedelta
from enum import StrEnum

from lendcore.core.errors import ValidationError


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """``start`` moved by ``months`` calendar months, on ``anchor_day`` clamped to the month's end.

    ``anchor_day`` defaults to ``start.day``. Passing the anchor explicitly keeps a schedule on the
    31st after it has passed through a short month: add_months(Feb 28, 1, anchor_day=31) = Mar 31.
    """
    day = anchor_day if anchor_day is not None else start.day
    if not 1 <= day <= 31:
        raise ValidationError(f"anchor day must be 1..31, got {day}", code="INVALID_DATE")
    month_index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(month_index, 12)
    last = _calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day, last))


def days_between(start: date, end: date) -> int:
    """Interest days in ``[start, end)``: 算头不算尾. Negative if ``end`` is before ``start``."""
    return (end - start).days


def month_end(d: date) -> date:
    return date(d.year, d.month, _calendar.monthrange(d.year, d.month)[1])


class BusinessDayRule(StrEnum):
    """What happens to a due date that falls on a non-working day."""

    NONE = "none"  # keep the date (default)
    FOLLOWING = "following"  # move to the next working day


@functools.lru_cache(maxsize=4096)
def is_business_day(d: date) -> bool:
    """True on a Chinese working day, including make-up working Saturdays/Sundays (调休).

    Years the official calendar does not yet cover (it is published each November for the next
    year) fall back to Monday–Friday; callers that need certainty should check
    :func:`holiday_calendar_covers`.
    """
    import chinese_calendar  # imported lazily: only schedules that roll due dates need it

    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def holiday_calendar_covers(d: date) -> bool:
    import chinese_calendar

    try:
        chinese_calendar.is_workday(d)
    except NotImplementedError:
        return False
    return True


def roll(d: date, rule: BusinessDayRule) -> date:
    """Apply a business-day rule to a due date."""
    if rule is BusinessDayRule.NONE:
        return d
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def parse_date(text: str, *, what: str = "date") -> date:
    """Parse an ISO date (``2026-11-22``) with a clear error."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValidationError(
            f"{what} must be a date like 2026-11-22, got {text!r}", code="INVALID_DATE", value=text
        ) from None
