"""The ``lendcore quote`` flags as schedule terms: a product's terms, or explicit ones, plus overrides.

Kept apart from the command (:mod:`lendcore.cli.quote`) so the flag rules read as one table: which
flag sets which :class:`~lendcore.core.schedule.ScheduleTerms` field, parsed how, refused with what.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from lendcore.core.calendar import BusinessDayRule, parse_date
from lendcore.core.errors import ValidationError
from lendcore.core.money import Rounding, parse_amount
from lendcore.core.rates import DayCountBasis, parse_rate
from lendcore.core.schedule import InterestRule, LevelPayment, Method, Rate, ScheduleTerms
from lendcore.products.catalog import Product, default_catalog


def choice(kind: type[Any], value: str, flag: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(
            f"{flag} must be one of {allowed}, got {value!r}", code="INVALID_ARGUMENT"
        ) from None


def default_grade(product: Product) -> str:
    for grade, adjustment in product.pricing.grade_adjustments:
        if adjustment == 0:
            return grade
    return product.pricing.grades[0]


def _rate_from_flags(daily: str | None, monthly: str | None, annual: str | None) -> Rate | None:
    given = [
        (v, unit) for v, unit in ((daily, "daily"), (monthly, "monthly"), (annual, "annual")) if v is not None
    ]
    if len(given) > 1:
        raise ValidationError(
            "give at most one of --daily-rate, --monthly-rate, --annual-rate", code="INVALID_ARGUMENT"
        )
    if not given:
        return None
    text, unit = given[0]
    value = parse_rate(text, what=f"{unit} rate")
    return {"daily": Rate.daily, "monthly": Rate.monthly, "annual": Rate.annual}[unit](value)


def build_quote_terms(
    *,
    product_code: str | None,
    amount: str,
    term: int,
    method: str | None,
    start: date,
    first_due: str | None,
    grade: str | None,
    daily_rate: str | None,
    monthly_rate: str | None,
    annual_rate: str | None,
    interest_rule: str | None,
    day_count: str | None,
    rounding: str | None,
    installment_multiple: int | None,
    fee_rate: str | None,
    grace_periods: int | None,
    level_payment: str | None,
    business_day_roll: bool,
) -> tuple[ScheduleTerms, Product | None]:
    """Turn the quote command's flags into schedule terms (raises ValidationError on bad flags)."""
    principal = parse_amount(amount, allow_zero=False)
    chosen_method = choice(Method, method, "--method") if method is not None else None
    first_due_date = parse_date(first_due, what="--first-due") if first_due is not None else None
    rate = _rate_from_flags(daily_rate, monthly_rate, annual_rate)
    product = default_catalog().get(product_code) if product_code is not None else None
    if product is not None:
        terms = product.schedule_terms(
            amount=principal,
            term=term,
            start=start,
            grade=grade if grade is not None else default_grade(product),
            method=chosen_method,
            first_due_date=first_due_date,
        )
    else:
        terms = _explicit_terms(principal, term, chosen_method, start, first_due_date, rate, grade)
    changes = _term_overrides(
        rate=rate,
        interest_rule=interest_rule,
        day_count=day_count,
        rounding=rounding,
        installment_multiple=installment_multiple,
        fee_rate=fee_rate,
        grace_periods=grace_periods,
        level_payment=level_payment,
        business_day_roll=business_day_roll,
    )
    return dataclasses.replace(terms, **changes), product


def _explicit_terms(
    principal: int,
    term: int,
    method: Method | None,
    start: date,
    first_due_date: date | None,
    rate: Rate | None,
    grade: str | None,
) -> ScheduleTerms:
    """Terms without a product: the rate and the method must be given, a grade makes no sense."""
    if rate is None:
        raise ValidationError(
            "give --product, or a rate (--daily-rate, --monthly-rate or --annual-rate; 0 for interest-free)",
            code="INVALID_ARGUMENT",
        )
    if grade is not None:
        raise ValidationError("--grade needs --product", code="INVALID_ARGUMENT")
    if method is None:
        raise ValidationError("give --method (or --product for its default)", code="INVALID_ARGUMENT")
    return ScheduleTerms(
        principal=principal, term=term, method=method, start_date=start, first_due_date=first_due_date
    )


def _quote_rounding(text: str) -> Rounding:
    mode: Rounding = choice(Rounding, text, "--rounding")
    if mode not in (Rounding.HALF_UP, Rounding.HALF_EVEN):
        raise ValidationError("--rounding must be half-up or half-even", code="INVALID_ARGUMENT")
    return mode


def _installment_multiple(value: int) -> int:
    if value < 1:
        raise ValidationError("--installment-multiple must be at least 1 fen", code="INVALID_MULTIPLE")
    return value


def _term_overrides(
    *,
    rate: Rate | None,
    interest_rule: str | None,
    day_count: str | None,
    rounding: str | None,
    installment_multiple: int | None,
    fee_rate: str | None,
    grace_periods: int | None,
    level_payment: str | None,
    business_day_roll: bool,
) -> dict[str, Any]:
    """The explicit flags as ScheduleTerms field changes (a flag not given changes nothing).

    A table of (field, flag value, parser), parsed in this order so the first bad flag is the one reported.
    """
    table: list[tuple[str, Any, Any]] = [
        ("rate", rate, lambda v: v),
        ("interest_rule", interest_rule, lambda v: choice(InterestRule, v, "--interest-rule")),
        ("day_count", day_count, lambda v: choice(DayCountBasis, v, "--day-count")),
        ("rounding", rounding, _quote_rounding),
        ("installment_multiple", installment_multiple, _installment_multiple),
        ("fee_rate_per_period", fee_rate, lambda v: parse_rate(v, what="fee rate per period")),
        ("grace_periods", grace_periods, lambda v: v),
        ("level_payment", level_payment, lambda v: choice(LevelPayment, v, "--level-payment")),
    ]
    changes = {name: parse(value) for name, value, parse in table if value is not None}
    if business_day_roll:
        changes["business_day_rule"] = BusinessDayRule.FOLLOWING
    return changes
