"""Specification of rates: Decimal fractions, every conversion naming its basis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lendcore.core.errors import ValidationError
from lendcore.core.rates import (
    DayCountBasis,
    annual_from_daily,
    daily_from_annual,
    format_percent,
    from_ppm,
    monthly_from_annual,
    monthly_from_daily,
    parse_rate,
    period_rate,
    to_ppm,
)


def test_the_same_daily_rate_is_a_different_simple_annual_rate_on_each_basis() -> None:
    daily = Decimal("0.0005")
    assert annual_from_daily(daily, DayCountBasis.D365) == Decimal("0.1825")
    assert annual_from_daily(daily, DayCountBasis.D360) == Decimal("0.18")
    assert annual_from_daily(daily, DayCountBasis.ACTUAL, year=2028) == Decimal("0.1830")
    assert annual_from_daily(daily, DayCountBasis.ACTUAL, year=2026) == Decimal("0.1825")


def test_conversions_round_trip() -> None:
    assert daily_from_annual(Decimal("0.1825"), DayCountBasis.D365) == Decimal("0.0005")
    assert monthly_from_annual(Decimal("0.12")) == Decimal("0.01")
    assert monthly_from_daily(Decimal("0.0005"), DayCountBasis.D360) == Decimal("0.015")
    assert period_rate(Decimal("0.12"), 4) == Decimal("0.03")
    with pytest.raises(ValidationError):
        period_rate(Decimal("0.12"), 0)


def test_ppm_storage_is_exact_or_refused() -> None:
    assert to_ppm(Decimal("0.0005")) == 500
    assert from_ppm(500) == Decimal("0.0005")
    with pytest.raises(ValidationError) as caught:
        to_ppm(Decimal("0.00000005"))
    assert caught.value.code == "INVALID_RATE"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.0005", Decimal("0.0005")),
        ("0.05%", Decimal("0.0005")),
        ("18.25%", Decimal("0.1825")),
        ("0", Decimal(0)),
    ],
)
def test_parse_rate(text: str, value: Decimal) -> None:
    assert parse_rate(text) == value


@pytest.mark.parametrize("text", ["-0.01", "abc", "2", "nan", "inf"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rate(text)
    assert caught.value.code == "INVALID_RATE"


def test_format_percent() -> None:
    assert format_percent(Decimal("0.1825")) == "18.25%"
    assert format_percent(Decimal("0.000349"), 3) == "0.035%"
