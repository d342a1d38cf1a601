"""Interest rates as ``Decimal`` fractions, with every conversion explicit.

A rate is a plain ``Decimal`` fraction: ``Decimal("0.0005")`` is 0.05 % a day (万分之五). Conversions
name the basis they use, because the same daily rate is 18.25 % a year on a 365-day basis and 18.00 %
on a 360-day basis, and a lender must label which one it shows (the APR shown to customers is a
different thing again: the IRR of the cash flows, see :mod:`lendcore.core.apr`).
"""

from __future__ import annotations

import calendar as _calendar
from decimal import Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import parse_decimal

#: Parts per million: an integer representation of a rate for storage (0.05 %/day = 500 ppm).
PPM: Final = Decimal(1_000_000)
MONTHS_PER_YEAR: Final = 12


class DayCountBasis(StrEnum):
    """Days in a year used to turn an annual rate into a daily one, and back."""

    D360 = "360"
    D365 = "365"
    ACTUAL = "actual"  # 365, or 366 in a leap year (leap-aware)

    def days_in_year(self, year: int) -> int:
        if self is DayCountBasis.D360:
            return 360
        if self is DayCountBasis.D365:
            return 365
        return 366 if _calendar.isleap(year) else 365


def daily_from_annual(annual: Decimal, basis: DayCountBasis, year: int = 2001) -> Decimal:
    """Daily rate from a nominal annual rate. ``year`` matters only for the leap-aware basis."""
    return annual / basis.days_in_year(year)


def annual_from_daily(daily: Decimal, basis: DayCountBasis, year: int = 2001) -> Decimal:
    """Simple (nominal) annual rate of a daily rate: daily × days in year. Not the APR."""
    return daily * basis.days_in_year(year)


def monthly_from_annual(annual: Decimal) -> Decimal:
    """Nominal monthly rate: annual ÷ 12 (the textbook annuity rate)."""
    return annual / MONTHS_PER_YEAR


def monthly_from_daily(daily: Decimal, basis: DayCountBasis) -> Decimal:
    """Monthly rate of a daily rate on a basis: daily × days-in-year ÷ 12 (×30 on the 360 basis)."""
    return annual_from_daily(daily, basis) / MONTHS_PER_YEAR


def period_rate(annual: Decimal, periods_per_year: int) -> Decimal:
    """Nominal rate of one period of a schedule with ``periods_per_year`` periods."""
    if periods_per_year <= 0:
        raise ValidationError("periods per year must be positive", code="INVALID_RATE")
    return annual / periods_per_year


def to_ppm(rate: Decimal) -> int:
    """Rate as integer parts per million; refuses rates finer than 1 ppm rather than rounding."""
    scaled = rate * PPM
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"rate {rate} is finer than one part per million", code="INVALID_RATE")
    return int(scaled)


def from_ppm(ppm: int) -> Decimal:
    return Decimal(ppm) / PPM


def parse_rate(text: str, *, what: str = "rate", maximum: Decimal = Decimal(1)) -> Decimal:
    """Parse ``"0.0005"`` or ``"0.05%"`` into a fraction; rejects negatives and absurd values."""
    raw = text.strip()
    percent = raw.endswith("%")
    value = parse_decimal(raw.rstrip("%"), what=what, code="INVALID_RATE")
    if percent:
        value = value / 100
    if value < 0:
        raise ValidationError(f"{what} must not be negative: {text!r}", code="INVALID_RATE", value=text)
    if value > maximum:
        raise ValidationError(f"{what} is implausibly high: {text!r}", code="INVALID_RATE", value=text)
    return value


def format_percent(rate: Decimal, places: int = 2) -> str:
    """``Decimal("0.1825")`` → ``"18.25%"``, rounded half-up for display only."""
    from decimal import ROUND_HALF_UP

    quantum = Decimal(1).scaleb(-places)
    return f"{(rate * 100).quantize(quantum, rounding=ROUND_HALF_UP)}%"
