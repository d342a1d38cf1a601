"""Specification of the APR (IRR method, PBoC 2021 No. 3) and the comprehensive-cost cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.apr import (
    AprMethod,
    CashFlow,
    apr,
    check_cost_cap,
    effective_apr,
    irr,
    nominal_apr,
    periods_per_year,
    round_apr,
    schedule_cash_flows,
    within_cost_cap,
    xirr,
)
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.schedule import InterestRule, Method, Rate, ScheduleTerms, build_schedule

START = date(2026, 1, 15)


def schedule_of(method: Method = Method.EQUAL_INSTALLMENT, term: int = 12, **kw: object):  # type: ignore[no-untyped-def]
    return build_schedule(ScheduleTerms(1_000_000, term, method, START, **kw))  # type: ignore[arg-type]


def test_textbook_annuity_apr_is_its_nominal_rate() -> None:
    s = schedule_of(rate=Rate.annual("0.12"), interest_rule=InterestRule.PERIOD)
    assert apr(s) == Decimal("0.1200")
    assert apr(s, AprMethod.EFFECTIVE_XIRR) > Decimal("0.1200")  # monthly compounding, actual dates


def test_flat_fee_apr_is_about_twice_the_flat_rate() -> None:
    # 0.6 % a period on the full amount for 12 months is 7.2 % a year "flat", but the APR by IRR is ~13 %.
    s = schedule_of(Method.FLAT_FEE, rate=Rate.zero(), fee_rate_per_period=Decimal("0.006"))
    value = apr(s)
    assert Decimal("0.12") < value < Decimal("0.14")
    periodic = npf.irr([-1_000_000] + [i.total for i in s.installments])
    assert abs(value - Decimal(repr(periodic * 12))) < Decimal("0.00005")


def test_periodic_irr_matches_numpy_financial() -> None:
    flows = [-1_000_000, 200_000, 300_000, 400_000, 250_000]
    assert irr(flows) == pytest.approx(npf.irr(flows), abs=1e-12)


def test_xirr_of_one_year_is_the_simple_return() -> None:
    flows = [CashFlow(date(2025, 1, 1), -100), CashFlow(date(2026, 1, 1), 110)]
    assert xirr(flows) == pytest.approx(0.10, abs=1e-12)


def test_bullet_nominal_apr_uses_the_months_to_maturity() -> None:
    s = schedule_of(Method.BULLET, term=3, rate=Rate.daily("0.0005"))  # 90 days × 0.05 % = 4.5 %
    assert periods_per_year(s) == 4
    assert apr(s) == Decimal("0.1800")


def test_fee_taken_at_disbursement_raises_the_apr() -> None:
    s = schedule_of(rate=Rate.daily("0.0003"))
    assert nominal_apr(s, upfront_fee=20_000) > nominal_apr(s) + Decimal("0.03")
    assert schedule_cash_flows(s, upfront_fee=20_000)[0].amount == -980_000


def test_round_apr_is_half_up_to_four_places() -> None:
    assert round_apr(Decimal("0.182450")) == Decimal("0.1825")
    assert str(round_apr(Decimal("0.12"))) == "0.1200"


def test_cost_cap() -> None:
    assert within_cost_cap(Decimal("0.24")) and not within_cost_cap(Decimal("0.2401"))
    check_cost_cap(Decimal("0.2399"))
    with pytest.raises(BusinessRuleError) as caught:
        check_cost_cap(Decimal("0.36"), what="test")
    assert caught.value.code == "APR_CAP_EXCEEDED"


def test_flows_without_a_sign_change_have_no_irr() -> None:
    with pytest.raises(ValidationError) as caught:
        irr([100, 100])
    assert caught.value.code == "INVALID_CASH_FLOWS"


def test_solver_falls_back_when_newton_starts_far_away() -> None:
    flows = [-100, 0, 0, 0, 0, 10_000]  # ~151 % a period
    assert irr(flows, guess=-0.99) == pytest.approx(npf.irr(flows), abs=1e-9)


@given(
    principal=st.integers(100_000, 50_000_000),
    term=st.integers(2, 36),
    daily=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.0006"), places=5),
    method=st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL]),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)
def test_property_apr_is_at_least_the_nominal_rate_for_amortising_loans(
    principal: int, term: int, daily: Decimal, method: Method, start: date
) -> None:
    s = build_schedule(ScheduleTerms(principal, term, method, start, Rate.daily(daily)))
    simple_annual = daily * 365
    tolerance = Decimal("0.0005")  # fen rounding of small loans and 28–31-day months
    assert effective_apr(s) >= simple_annual - tolerance
    # (The nominal-IRR variant counts every month as 1/12 year, so over a 28-day February it can sit
    # below daily × 365; with the period rule it equals the nominal annual rate, see below.)


@given(
    principal=st.integers(100_000, 50_000_000),
    term=st.integers(2, 36),
    annual=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.24"), places=4),
    method=st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL]),
)
def test_property_nominal_irr_apr_is_at_least_the_period_rate_times_twelve(
    principal: int, term: int, annual: Decimal, method: Method
) -> None:
    s = build_schedule(
        ScheduleTerms(principal, term, method, START, Rate.annual(annual), interest_rule=InterestRule.PERIOD)
    )
    assert nominal_apr(s) >= annual - Decimal("0.0002")  # only fen rounding can pull it below


@given(
    principal=st.integers(1, 50_000_000),
    term=st.integers(1, 36),
    method=st.sampled_from(list(Method)),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)
def test_property_interest_free_plans_have_apr_zero(
    principal: int, term: int, method: Method, start: date
) -> None:
    s = build_schedule(ScheduleTerms(principal, term, method, start, Rate.zero()))
    assert apr(s) == 0 and apr(s, AprMethod.EFFECTIVE_XIRR) == 0


@given(
    daily=st.decimals(min_value=0, max_value=1, places=6),
    term=st.integers(1, 120),
    method=st.sampled_from([m for m in Method if m is not Method.FLAT_FEE]),
)
def test_an_apr_is_a_finite_decimal_or_refused_with_a_code_however_high_the_rate(
    daily: Decimal, term: int, method: Method
) -> None:
    """`quote --daily-rate 1 --term 600` made the XIRR overflow into a decimal.InvalidOperation."""
    schedule = schedule_of(method=method, term=term, rate=Rate.daily(daily))
    for compute in (nominal_apr, effective_apr):
        try:
            value = compute(schedule)
        except ValidationError as error:
            assert error.code in ("APR_OUT_OF_RANGE", "NO_IRR", "INVALID_CASH_FLOWS")
        else:
            assert value.is_finite() and value >= 0


def test_an_astronomic_effective_rate_is_apr_out_of_range() -> None:
    schedule = schedule_of(term=600, rate=Rate.daily("1"))  # 100 % a day: (1 + ~30)^12 - 1 a year
    assert nominal_apr(schedule).is_finite()
    with pytest.raises(ValidationError) as caught:
        effective_apr(schedule)
    assert caught.value.code == "APR_OUT_OF_RANGE"
