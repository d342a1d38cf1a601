"""Revolving interest (随借随还): interest for the days principal was actually held.

A quick-loan contract's principal changes whenever the customer draws or repays. Its interest over a
date range is the sum, over every calendar day in ``[start, end)`` (算头不算尾: the first day counts, the
last does not), of the principal outstanding that day times the daily rate, rounded to the fen once at
the end of the computation (never per day, so a repayment split in two never changes the total by more
than one rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import Fen, Rounding

#: One change of outstanding principal: from ``date`` (inclusive) on, ``principal`` fen are owed.
PrincipalStep = tuple[date, Fen]

_ONE: Final = Decimal(1)


def principal_days(principal_timeline: Sequence[PrincipalStep], start: date, end: date) -> int:
    """Σ principal × days over ``[start, end)`` (fen·days), the exact base of revolving interest.

    ``principal_timeline`` is a step function: each ``(date, principal)`` sets the principal owed from
    that date on, until the next entry. Before the first entry nothing is owed. Dates must be strictly
    increasing and principals non-negative (``INVALID_TIMELINE``).
    """
    if end < start:
        raise ValidationError("interest end date is before its start date", code="INVALID_DATE_RANGE")
    previous: date | None = None
    for when, amount in principal_timeline:
        if previous is not None and when <= previous:
            raise ValidationError(
                "principal timeline dates must be strictly increasing", code="INVALID_TIMELINE"
            )
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValidationError(
                f"principal in a timeline must be a non-negative int of fen, got {amount!r}",
                code="INVALID_TIMELINE",
            )
        previous = when
    total = 0
    steps = list(principal_timeline)
    for index, (when, amount) in enumerate(steps):
        segment_start = max(when, start)
        segment_end = steps[index + 1][0] if index + 1 < len(steps) else end
        segment_end = min(segment_end, end)
        if segment_end > segment_start:
            total += amount * (segment_end - segment_start).days
    return total


def interest(
    principal_timeline: Sequence[PrincipalStep],
    daily_rate: Decimal,
    start: date,
    end: date,
    rounding: Rounding = Rounding.HALF_UP,
) -> Fen:
    """Interest in fen over ``[start, end)`` on a changing principal at an exact daily rate.

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> # 10,000 yuan drawn on 1 March, 4,000 repaid on 11 March, interest to 1 April at 0.05 %/day:
    >>> # 1,000,000 fen × 10 days + 600,000 fen × 21 days = 22,600,000 fen·days × 0.0005 = 11,300 fen
    >>> interest([(date(2026, 3, 1), 1_000_000), (date(2026, 3, 11), 600_000)],
    ...          Decimal("0.0005"), date(2026, 3, 1), date(2026, 4, 1))
    11300
    """
    if not isinstance(daily_rate, Decimal) or not daily_rate.is_finite() or daily_rate < 0:
        raise ValidationError(
            f"daily rate must be a non-negative Decimal, got {daily_rate!r}", code="INVALID_RATE"
        )
    base = principal_days(principal_timeline, start, end)
    with localcontext() as ctx:
        ctx.prec = 34
        ctx.rounding = ROUND_HALF_UP
        return int((daily_rate * base).quantize(_ONE, rounding=rounding.decimal_mode))
