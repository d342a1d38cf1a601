"""Specification of repayment schedules (还款计划), with cross-checks against independent references."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendcore.core.calendar import BusinessDayRule
from lendcore.core.errors import ValidationError
from lendcore.core.money import MAX_AMOUNT, Rounding
from lendcore.core.rates import DayCountBasis
from lendcore.core.schedule import (
    LATEST_DUE_DATE,
    InterestRule,
    LevelPayment,
    Method,
    Rate,
    Schedule,
    ScheduleTerms,
    build_schedule,
)

START = date(2026, 1, 15)


def terms(**overrides: object) -> ScheduleTerms:
    base: dict[str, object] = {
        "principal": 1_000_000,
        "term": 12,
        "method": Method.EQUAL_INSTALLMENT,
        "start_date": START,
        "rate": Rate.daily("0.0005"),
    }
    base.update(overrides)
    return ScheduleTerms(**base)  # type: ignore[arg-type]


def rows(schedule: Schedule) -> list[tuple[int, int, int, int]]:
    """(principal, interest, total, remaining) per installment, in fen."""
    return [(i.principal, i.interest, i.total, i.remaining_principal) for i in schedule.installments]


def yuan(*values: str) -> list[int]:
    return [int(Decimal(v) * 100) for v in values]


# --- methods ----------------------------------------------------------------------------------


def test_equal_installment_days_rule_pays_daily_rate_times_actual_days() -> None:
    schedule = build_schedule(terms())
    first = schedule.installments[0]
    assert first.start_date == START and first.due_date == date(2026, 2, 15) and first.days == 31
    assert first.interest == 15_500  # 10,000 yuan × 0.05 % × 31 days = 155.00 yuan
    totals = {i.total for i in schedule.installments[:-1]}
    assert len(totals) == 1  # every installment but the last is the same to the fen
    assert schedule.total_principal == 1_000_000


def test_equal_principal_repays_the_same_principal_each_period_and_interest_declines() -> None:
    schedule = build_schedule(terms(method=Method.EQUAL_PRINCIPAL, term=4, principal=1_000_001))
    assert [i.principal for i in schedule.installments] == [250_000, 250_000, 250_000, 250_001]
    interests = [i.interest for i in schedule.installments]
    assert interests == sorted(interests, reverse=True)


def test_interest_only_repays_principal_at_the_end() -> None:
    schedule = build_schedule(
        terms(
            method=Method.INTEREST_ONLY, term=3, interest_rule=InterestRule.PERIOD, rate=Rate.annual("0.12")
        )
    )
    assert rows(schedule) == [
        (0, 10_000, 10_000, 1_000_000),
        (0, 10_000, 10_000, 1_000_000),
        (1_000_000, 10_000, 1_010_000, 0),
    ]


def test_bullet_is_one_installment_at_maturity_with_interest_for_every_day() -> None:
    schedule = build_schedule(terms(method=Method.BULLET, term=3))
    (only,) = schedule.installments
    assert only.due_date == date(2026, 4, 15) and only.days == 90
    assert only.interest == 45_000 and only.principal == 1_000_000


def test_flat_fee_plan_charges_the_same_fee_every_period_and_no_interest() -> None:
    schedule = build_schedule(
        terms(method=Method.FLAT_FEE, term=12, rate=Rate.zero(), fee_rate_per_period=Decimal("0.006"))
    )
    assert {i.fee for i in schedule.installments} == {6_000}
    assert schedule.total_interest == 0 and schedule.total_fee == 72_000


@pytest.mark.parametrize("method", [Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.FLAT_FEE])
def test_interest_free_plan_splits_principal_only(method: Method) -> None:
    schedule = build_schedule(terms(method=method, rate=Rate.zero(), principal=99_999, term=6))
    assert schedule.total_interest == 0 and schedule.total_fee == 0
    assert schedule.total == 99_999
    assert [i.principal for i in schedule.installments] == [16_667] * 5 + [16_664]


# --- interest rules, day count, first period -----------------------------------------------------


def test_period_rule_uses_annual_over_twelve_whatever_the_days() -> None:
    schedule = build_schedule(terms(interest_rule=InterestRule.PERIOD, rate=Rate.annual("0.12"), term=2))
    assert schedule.installments[0].interest == 10_000  # 1 % of 10,000 yuan, 31 days or not


def test_annual_rate_with_days_rule_follows_the_day_count_basis() -> None:
    def first_interest(basis: DayCountBasis) -> int:
        return build_schedule(terms(rate=Rate.annual("0.18"), day_count=basis)).installments[0].interest

    assert first_interest(DayCountBasis.D360) == 15_500  # 10,000 × 18 % × 31 / 360
    assert first_interest(DayCountBasis.D365) == 15_288  # 10,000 × 18 % × 31 / 365 = 152.876…


def test_actual_basis_weighs_each_day_by_its_own_year() -> None:
    # 2027-12-17 → 2028-01-17: 15 days of 2027 (/365) and 16 days of leap 2028 (/366).
    schedule = build_schedule(
        terms(start_date=date(2027, 12, 17), rate=Rate.annual("0.365"), day_count=DayCountBasis.ACTUAL)
    )
    expected = Decimal(1_000_000) * Decimal("0.365") * (Decimal(15) / 365 + Decimal(16) / 366)
    assert schedule.installments[0].interest == int(expected.quantize(Decimal(1)))


def test_daily_rate_is_applied_exactly_whatever_the_basis() -> None:
    for basis in DayCountBasis:
        assert build_schedule(terms(day_count=basis)).installments[0].interest == 15_500


def test_irregular_first_period_runs_to_the_given_first_due_date() -> None:
    schedule = build_schedule(terms(first_due_date=date(2026, 3, 1)))
    first, second = schedule.installments[:2]
    assert (first.days, first.interest) == (45, 22_500)
    assert second.start_date == date(2026, 3, 1) and second.due_date == date(2026, 4, 1)
    assert len({i.total for i in schedule.installments[:-1]}) == 1  # exact level payment stays level


def test_irregular_first_period_is_prorated_under_the_period_rule() -> None:
    schedule = build_schedule(
        terms(interest_rule=InterestRule.PERIOD, rate=Rate.annual("0.12"), first_due_date=date(2026, 3, 1))
    )
    assert schedule.installments[0].interest == 14_795  # 10,000 × 12 % × 45 / 365 = 147.945…


def test_due_dates_keep_the_month_end_anchor() -> None:
    schedule = build_schedule(terms(start_date=date(2025, 12, 31), term=4))
    assert [i.due_date for i in schedule.installments] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_business_day_roll_moves_a_holiday_due_date_and_the_next_period_starts_there() -> None:
    # 2026-10-01 is National Day (holiday Oct 1–7): the due date rolls to Thursday Oct 8.
    plain = build_schedule(terms(start_date=date(2026, 9, 1), term=2))
    rolled = build_schedule(
        terms(start_date=date(2026, 9, 1), term=2, business_day_rule=BusinessDayRule.FOLLOWING)
    )
    assert plain.installments[0].due_date == date(2026, 10, 1)
    moved = rolled.installments[0].due_date
    assert moved == date(2026, 10, 8)
    assert rolled.installments[1].due_date == date(2026, 11, 2)  # Nov 1 is a Sunday; anchor day kept
    assert rolled.installments[1].start_date == moved
    assert rolled.installments[0].days == (moved - date(2026, 9, 1)).days


# --- rounding ------------------------------------------------------------------------------------


def test_half_up_and_half_even_differ_on_exactly_half_a_fen() -> None:
    # 1,000,001 fen × 0.0005 × 1 day… use a 1-month interest-only loan with a half-fen interest.
    base = terms(
        method=Method.INTEREST_ONLY,
        principal=10_001,
        term=1,
        rate=Rate.daily("0.00005"),
        first_due_date=date(2026, 1, 16),
    )  # 10,001 × 0.00005 × 1 = 0.50005 → rounds to 1
    assert build_schedule(base).installments[0].interest == 1
    exact_half = terms(
        method=Method.INTEREST_ONLY,
        principal=10_000,
        term=1,
        rate=Rate.daily("0.00005"),
        first_due_date=date(2026, 1, 16),
    )  # exactly 0.5 fen
    assert build_schedule(exact_half).installments[0].interest == 1
    half_even = ScheduleTerms(
        **{**{f: getattr(exact_half, f) for f in exact_half.__slots__}, "rounding": Rounding.HALF_EVEN}
    )
    assert build_schedule(half_even).installments[0].interest == 0


def test_installment_multiple_rounds_the_installment_to_whole_yuan() -> None:
    schedule = build_schedule(terms(installment_multiple=100))
    assert all(i.total % 100 == 0 for i in schedule.installments[:-1])
    assert schedule.total_principal == 1_000_000


def test_grace_periods_are_interest_only_then_the_rest_amortises() -> None:
    schedule = build_schedule(terms(grace_periods=2, term=6))
    assert [i.principal for i in schedule.installments[:2]] == [0, 0]
    assert all(i.principal > 0 for i in schedule.installments[2:])


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"principal": 0}, "INVALID_TERMS"),
        ({"principal": -5}, "INVALID_TERMS"),
        ({"term": 0}, "INVALID_TERMS"),
        ({"grace_periods": 12}, "INVALID_TERMS"),
        ({"first_due_date": START}, "INVALID_TERMS"),
        ({"fee_rate_per_period": Decimal("0.01")}, "INVALID_TERMS"),
        ({"method": Method.BULLET, "installment_multiple": 100}, "INVALID_MULTIPLE"),
        ({"installment_multiple": 0}, "INVALID_MULTIPLE"),
    ],
)
def test_bad_terms_are_refused_with_a_code(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build_schedule(terms(**overrides))
    assert caught.value.code == code


@settings(max_examples=300)
@given(
    start=st.dates(),
    term=st.integers(1, 600),
    method=st.sampled_from(list(Method)),
    day_count=st.sampled_from(list(DayCountBasis)),
    roll=st.sampled_from(list(BusinessDayRule)),
    first_due_days=st.none() | st.integers(1, 62),
)
def test_a_schedule_is_built_or_refused_with_a_code_for_any_start_date_and_term(
    start: date,
    term: int,
    method: Method,
    day_count: DayCountBasis,
    roll: BusinessDayRule,
    first_due_days: int | None,
) -> None:
    """Dates near date.max never escape as ValueError/OverflowError (``quote --start 9999-06-01``)."""
    first_due = None
    if first_due_days is not None:
        if start > date.max - timedelta(days=first_due_days):
            return
        first_due = start + timedelta(days=first_due_days)
    overrides: dict[str, object] = {"start_date": start, "term": term, "method": method}
    overrides |= {"day_count": day_count, "business_day_rule": roll, "first_due_date": first_due}
    if method is Method.FLAT_FEE:
        overrides["fee_rate_per_period"] = Decimal("0.005")
    try:
        schedule = build_schedule(terms(**overrides))
    except ValidationError as error:
        assert error.code in ("DATE_OUT_OF_RANGE", "INVALID_TERMS", "INVALID_MULTIPLE"), error
        if error.code == "DATE_OUT_OF_RANGE":
            assert start.year >= LATEST_DUE_DATE.year - 51  # 600 months at most
    else:
        assert schedule.maturity_date <= LATEST_DUE_DATE + timedelta(days=31)  # a roll may add days
        assert schedule.total_principal == terms().principal


def test_a_schedule_past_the_calendar_is_refused_with_date_out_of_range() -> None:
    for start, term in ((date(9999, 6, 1), 12), (date(9997, 12, 1), 1), (date(9960, 1, 1), 600)):
        with pytest.raises(ValidationError) as caught:
            build_schedule(terms(start_date=start, term=term))
        assert caught.value.code == "DATE_OUT_OF_RANGE"
    assert build_schedule(terms(start_date=date(9997, 11, 30), term=1)).maturity_date == date(9997, 12, 30)


def test_a_principal_above_the_cap_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        build_schedule(terms(principal=MAX_AMOUNT + 1))
    assert caught.value.code == "AMOUNT_TOO_LARGE"


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Rate.daily("-0.0001")
    assert caught.value.code == "INVALID_RATE"


# --- cross-check: numpy-financial -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("annual", "n", "principal"), [("0.12", 12, 1_000_000), ("0.0365", 24, 5_000_000), ("0.1825", 6, 123_456)]
)
def test_period_rule_annuity_matches_numpy_financial(annual: str, n: int, principal: int) -> None:
    schedule = build_schedule(
        terms(principal=principal, term=n, interest_rule=InterestRule.PERIOD, rate=Rate.annual(annual))
    )
    monthly = float(annual) / 12
    payment = -npf.pmt(monthly, n, principal)
    assert schedule.installments[0].total == round(payment)
    for k, installment in enumerate(schedule.installments[:-1], start=1):
        assert (
            abs(installment.interest - (-npf.ipmt(monthly, k, n, principal))) <= k
        )  # rounding drift ≤ 1 fen/period


# --- cross-check: Apache Fineract published schedules ---------------------------------------------


def test_fineract_rs04_equal_principal_period_rule() -> None:
    """apache/fineract, fineract-e2e-tests-runner/src/test/resources/features (scenario @TestRailId:C2494,
    "RS04 - Repayment Schedule with interest type: Declining Balance, interest period: Same as payment
    period, amortization type: Equal principal payments"): 5000, 12 % a year, 18 monthly periods."""
    schedule = build_schedule(
        terms(
            principal=500_000,
            term=18,
            start_date=date(2022, 11, 1),
            method=Method.EQUAL_PRINCIPAL,
            interest_rule=InterestRule.PERIOD,
            rate=Rate.annual("0.12"),
        )
    )
    assert [i.principal for i in schedule.installments] == [27_778] * 17 + [27_774]
    assert [i.interest for i in schedule.installments] == yuan(
        "50.0",
        "47.22",
        "44.44",
        "41.67",
        "38.89",
        "36.11",
        "33.33",
        "30.56",
        "27.78",
        "25.0",
        "22.22",
        "19.44",
        "16.67",
        "13.89",
        "11.11",
        "8.33",
        "5.56",
        "2.78",
    )
    assert schedule.total_interest == 47_500


def test_fineract_rs03_equal_installment_daily_interest_whole_unit_installment() -> None:
    """apache/fineract e2e features, scenario @TestRailId:C2493 "RS03 - Repayment Schedule with interest
    type: Declining Balance, interest period: Daily, amortization type: Equal installments": 5000, 12 %,
    18 months from 2022-11-01; installment from the nominal monthly rate, rounded to a whole unit (305.0);
    interest by actual days / 365; the last installment 302.33 absorbs the rest."""
    schedule = build_schedule(
        terms(
            principal=500_000,
            term=18,
            start_date=date(2022, 11, 1),
            rate=Rate.annual("0.12"),
            day_count=DayCountBasis.D365,
            level_payment=LevelPayment.NOMINAL,
            installment_multiple=100,
        )
    )
    assert [i.total for i in schedule.installments] == [30_500] * 17 + [30_233]
    assert [i.interest for i in schedule.installments] == yuan(
        "49.32",
        "48.35",
        "45.74",
        "38.92",
        "40.38",
        "36.47",
        "34.95",
        "31.16",
        "29.41",
        "26.6",
        "22.99",
        "20.89",
        "17.41",
        "15.06",
        "12.1",
        "8.53",
        "6.1",
        "2.95",
    )
    assert schedule.installments[-1].principal == 29_938


def test_fineract_rp05_thirty_day_level_installment_with_interest_by_actual_days() -> None:
    """apache/fineract, fineract-e2e-tests-runner/src/test/resources/features/LoanRepayment.feature,
    "RP05 - Repayment Schedule with interest type: Declining Balance and Interest Recalculation with on
    time partial payment": product LP1_INTEREST_DECLINING_BALANCE_DAILY_RECALCULATION_COMPOUNDING_NONE
    (12 % a year, interest calculation period daily, days in year and month actual, installment amount
    in multiples of 1, 2 decimals, interest recalculation on: daily rest, no compounding, reduce EMI),
    5000 from 2022-11-01, 6 monthly repayments. A partial payment on the first due date changes nothing
    in the schedule, so the table is the loan's schedule as built.

    Fineract solves the equal installment at a 30-day month's rate (12 % ÷ 365 × 30): 862.34, rounded to
    the whole unit 862.00 (the exact level over the actual months would be 862.57 → 863.00); interest
    runs by actual days, and the last installment takes the rest: 865.50."""
    schedule = build_schedule(
        terms(
            principal=500_000,
            term=6,
            start_date=date(2022, 11, 1),
            rate=Rate.annual("0.12"),
            day_count=DayCountBasis.ACTUAL,
            rounding=Rounding.HALF_EVEN,
            installment_multiple=100,
            level_payment=LevelPayment.THIRTY_DAY,
        )
    )
    assert [i.days for i in schedule.installments] == [30, 31, 31, 28, 31, 30]
    assert [i.principal for i in schedule.installments] == yuan(
        "812.68", "819.32", "827.67", "838.62", "844.66", "857.05"
    )
    assert [i.interest for i in schedule.installments] == yuan(
        "49.32", "42.68", "34.33", "23.38", "17.34", "8.45"
    )
    assert [i.remaining_principal for i in schedule.installments] == yuan(
        "4187.32", "3368.0", "2540.33", "1701.71", "857.05", "0"
    )
    assert [i.total for i in schedule.installments] == [86_200] * 5 + [86_550]
    assert (schedule.total_interest, schedule.total) == (17_550, 517_550)


def test_thirty_day_level_is_the_annuity_at_the_daily_rate_times_thirty() -> None:
    """For a daily rate the thirty-day level is the textbook annuity at daily × 30, whatever the months'
    lengths (numpy-financial's pmt as the reference); the exact level differs when months are longer."""
    daily = Decimal("0.0005")
    schedule = build_schedule(
        terms(principal=1_000_000, term=12, rate=Rate.daily(daily), level_payment=LevelPayment.THIRTY_DAY)
    )
    reference = -npf.pmt(float(daily * 30), 12, 1_000_000)
    assert schedule.installments[0].total == round(reference)
    assert {i.total for i in schedule.installments[:-1]} == {schedule.installments[0].total}
    exact = build_schedule(terms(principal=1_000_000, term=12, rate=Rate.daily(daily)))
    assert exact.installments[0].total > schedule.installments[0].total  # 365/12 > 30 days a month


def test_thirty_day_level_under_the_period_rule_is_the_nominal_level() -> None:
    """Under the period rule every regular period costs the nominal monthly rate, as Fineract's "same as
    repayment period" interest does; its thirty-day level is then the nominal one."""
    common = {"rate": Rate.annual("0.12"), "interest_rule": InterestRule.PERIOD, "installment_multiple": 100}
    assert build_schedule(terms(level_payment=LevelPayment.THIRTY_DAY, **common)) == build_schedule(
        terms(level_payment=LevelPayment.NOMINAL, **common)
    )


def test_fineract_rs05_equal_installment_with_principal_grace() -> None:
    """apache/fineract e2e features, scenario @TestRailId:C2495 "RS05 - … Equal installments, Grace on
    principal payment": 5000, 12 %, 18 months, 3 periods of principal grace, installment 361.0."""
    schedule = build_schedule(
        terms(
            principal=500_000,
            term=18,
            start_date=date(2022, 11, 1),
            interest_rule=InterestRule.PERIOD,
            rate=Rate.annual("0.12"),
            installment_multiple=100,
            grace_periods=3,
        )
    )
    assert [i.total for i in schedule.installments] == [5_000] * 3 + [36_100] * 14 + [35_487]
    assert [i.remaining_principal for i in schedule.installments[3:6]] == yuan("4689.0", "4374.89", "4057.64")
    assert schedule.total_interest == 55_887


def test_fineract_c3154_emi_360_30() -> None:
    """apache/fineract, fineract-e2e-tests-runner/src/test/resources/features/EMICalculation-Part1.feature,
    "EMI calculation with 360/30 setup - integer" (@TestRailId:C3154): 100, 12 %, 6 months from 2024-01-01."""
    schedule = build_schedule(
        terms(
            principal=10_000,
            term=6,
            start_date=date(2024, 1, 1),
            interest_rule=InterestRule.PERIOD,
            rate=Rate.annual("0.12"),
            day_count=DayCountBasis.D360,
        )
    )
    assert rows(schedule) == list(
        zip(
            yuan("16.25", "16.41", "16.58", "16.74", "16.91", "17.11"),
            yuan("1.0", "0.84", "0.67", "0.51", "0.34", "0.17"),
            yuan("17.25", "17.25", "17.25", "17.25", "17.25", "17.28"),
            yuan("83.75", "67.34", "50.76", "34.02", "17.11", "0"),
            strict=True,
        )
    )


def test_fineract_c3155_emi_360_30_decimal_rate() -> None:
    """EMICalculation-Part1.feature (apache/fineract), "EMI calculation with 360/30 setup - decimal"
    (@TestRailId:C3155): 100 at 9.4822 %, 6 months."""
    schedule = build_schedule(
        terms(
            principal=10_000,
            term=6,
            start_date=date(2024, 1, 1),
            interest_rule=InterestRule.PERIOD,
            rate=Rate.annual("0.094822"),
        )
    )
    assert [i.interest for i in schedule.installments] == yuan("0.79", "0.66", "0.53", "0.4", "0.27", "0.13")
    assert [i.total for i in schedule.installments] == [1_713] * 6


def test_fineract_c3152_actual_actual_exact_level_payment() -> None:
    """EMICalculation-Part1.feature (apache/fineract), "EMI calculation with Actual/Actual setup - integer"
    (@TestRailId:C3152): 10000 at 12 %, 6 months from 2023-12-12, daily interest, Actual/Actual.

    The level installment 1725.56 is solved over the actual period rates, as lendcore's exact level payment
    does. One known difference: for the period that crosses New Year, Fineract counts 19 days in 2023 and
    12 in 2024 (interest 101.81); lendcore counts Dec 12–31 as 20 days of 2023 (101.82). Periods 2–5 do
    not cross a year and carry the same interest."""
    schedule = build_schedule(
        terms(
            principal=1_000_000,
            term=6,
            start_date=date(2023, 12, 12),
            rate=Rate.annual("0.12"),
            day_count=DayCountBasis.ACTUAL,
        )
    )
    assert [i.total for i in schedule.installments[:5]] == [172_556] * 5
    assert [i.interest for i in schedule.installments[1:5]] == yuan("85.14", "64.05", "51.58", "33.45")
    assert abs(schedule.total_interest - 35_339) <= 1


def test_fineract_flat_interest_as_flat_fee() -> None:
    """apache/fineract, fineract-e2e-tests-runner/src/test/resources/features/LoanChargeOff.feature
    (product LP1_INTEREST_FLAT: 1000 at 12 % flat, 3 monthly periods from 2023-01-01): principal 333.33,
    333.33, 333.34 and 10.00 interest a period. lendcore's flat-fee method carries the flat 1 % a period
    in the fee column. An older revision of the same file shows the whole-unit variant 333/333/334."""
    schedule = build_schedule(
        terms(
            principal=100_000,
            term=3,
            start_date=date(2023, 1, 1),
            method=Method.FLAT_FEE,
            rate=Rate.zero(),
            fee_rate_per_period=Decimal("0.01"),
        )
    )
    assert [(i.principal, i.fee, i.total) for i in schedule.installments] == [
        (33_333, 1_000, 34_333),
        (33_333, 1_000, 34_333),
        (33_334, 1_000, 34_334),
    ]
    whole = build_schedule(
        terms(
            principal=100_000,
            term=3,
            start_date=date(2023, 1, 1),
            method=Method.FLAT_FEE,
            rate=Rate.zero(),
            fee_rate_per_period=Decimal("0.01"),
            installment_multiple=100,
        )
    )
    assert [i.principal for i in whole.installments] == [33_300, 33_300, 33_400]


# --- properties -----------------------------------------------------------------------------------

any_method = st.sampled_from(list(Method))
any_rate = st.one_of(
    st.builds(Rate.daily, st.decimals(min_value=0, max_value=Decimal("0.001"), places=5)),
    st.builds(Rate.annual, st.decimals(min_value=0, max_value=Decimal("0.36"), places=4)),
    st.builds(Rate.monthly, st.decimals(min_value=0, max_value=Decimal("0.03"), places=4)),
)


@st.composite
def any_terms(draw: st.DrawFn) -> ScheduleTerms:
    method = draw(any_method)
    term = draw(st.integers(1, 36))
    start = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    first_due = draw(st.none() | st.integers(1, 60).map(lambda d: date.fromordinal(start.toordinal() + d)))
    grace = 0 if method in (Method.BULLET, Method.INTEREST_ONLY) else draw(st.integers(0, max(0, term - 1)))
    multiple = (
        1 if method in (Method.BULLET, Method.INTEREST_ONLY) else draw(st.sampled_from([1, 1, 10, 100]))
    )
    return ScheduleTerms(
        principal=draw(st.integers(1, 100_000_000)),
        term=term,
        method=method,
        start_date=start,
        rate=draw(any_rate),
        interest_rule=draw(st.sampled_from(list(InterestRule))),
        day_count=draw(st.sampled_from(list(DayCountBasis))),
        rounding=draw(st.sampled_from([Rounding.HALF_UP, Rounding.HALF_EVEN])),
        installment_multiple=multiple,
        first_due_date=first_due,
        grace_periods=grace,
        fee_rate_per_period=draw(st.decimals(0, Decimal("0.02"), places=4))
        if method is Method.FLAT_FEE
        else Decimal(0),
        level_payment=draw(st.sampled_from(list(LevelPayment))),
    )


@given(any_terms())
def test_property_principal_sums_exactly_and_nothing_is_negative(t: ScheduleTerms) -> None:
    schedule = build_schedule(t)
    assert schedule.total_principal == t.principal
    for i in schedule.installments:
        assert min(i.principal, i.interest, i.fee, i.remaining_principal, i.days) >= 0
        assert i.total == i.principal + i.interest + i.fee


@given(any_terms())
def test_property_remaining_principal_is_monotone_and_reaches_zero(t: ScheduleTerms) -> None:
    remaining = [i.remaining_principal for i in build_schedule(t).installments]
    assert remaining == sorted(remaining, reverse=True)
    assert remaining[-1] == 0
    assert all(
        a.due_date < b.due_date
        for a, b in zip(build_schedule(t).installments, build_schedule(t).installments[1:], strict=False)
    )


@given(
    principal=st.integers(100_000, 100_000_000),
    term=st.integers(2, 36),
    annual=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.36"), places=4),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)
def test_property_annuity_installments_are_equal_to_the_fen_except_the_last(
    principal: int, term: int, annual: Decimal, start: date
) -> None:
    schedule = build_schedule(
        ScheduleTerms(
            principal,
            term,
            Method.EQUAL_INSTALLMENT,
            start,
            Rate.annual(annual),
            interest_rule=InterestRule.PERIOD,
        )
    )
    totals = [i.total for i in schedule.installments]
    assert len(set(totals[:-1])) == 1
    assert abs(totals[-1] - totals[0]) <= term  # the last absorbs at most one fen of rounding per period


@st.composite
def level_terms_with_a_multiple(draw: st.DrawFn) -> ScheduleTerms:
    """Equal-installment terms with an installment multiple small beside the principal repaid a period
    (at most 1 / (2 n²) of the principal): a multiple that large against the loan could round the
    installment below a period's interest, and no period can then pay a multiple of it."""
    term = draw(st.integers(1, 36))
    multiple = draw(st.sampled_from([1, 10, 100, 1000]))
    return ScheduleTerms(
        principal=draw(st.integers(2 * multiple * term * term, 100_000_000)),
        term=term,
        method=Method.EQUAL_INSTALLMENT,
        start_date=draw(st.dates(date(2020, 1, 1), date(2030, 12, 31))),
        rate=draw(any_rate),
        interest_rule=draw(st.sampled_from(list(InterestRule))),
        day_count=draw(st.sampled_from(list(DayCountBasis))),
        rounding=draw(st.sampled_from([Rounding.HALF_UP, Rounding.HALF_EVEN])),
        installment_multiple=multiple,
        grace_periods=draw(st.integers(0, term - 1)),
        level_payment=draw(st.sampled_from(list(LevelPayment))),
    )


@given(level_terms_with_a_multiple())
def test_property_every_installment_but_the_last_is_a_multiple_of_the_installment_multiple(
    t: ScheduleTerms,
) -> None:
    schedule = build_schedule(t)
    assert schedule.total_principal == t.principal
    rows_ = schedule.installments
    assert all(i.total == i.interest for i in rows_[: t.grace_periods])  # grace: interest only
    for i in rows_[t.grace_periods : -1]:
        assert i.total % t.installment_multiple == 0, i


@given(any_terms())
def test_property_zero_rate_zero_fee_costs_nothing(t: ScheduleTerms) -> None:
    free = ScheduleTerms(
        t.principal, t.term, t.method, t.start_date, Rate.zero(), first_due_date=t.first_due_date
    )
    schedule = build_schedule(free)
    assert schedule.total == t.principal


# --- fast paths agree with the reference implementations ------------------------------------------


def test_fast_installment_builder_gives_the_same_frozen_row() -> None:
    from dataclasses import FrozenInstanceError

    from lendcore.core.schedule import Installment, _installment

    args = (3, date(2026, 1, 1), date(2026, 2, 1), 31, 100, 5, 0, 105, 900)
    fast = _installment(*args)
    assert fast == Installment(*args) and hash(fast) == hash(Installment(*args))
    with pytest.raises(FrozenInstanceError):
        fast.principal = 1  # type: ignore[misc]


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(1, 120))
def test_property_fast_monthly_dates_match_add_months(first: date, count: int) -> None:
    from lendcore.core.calendar import add_months
    from lendcore.core.schedule import _monthly_dates

    assert _monthly_dates(first, count) == tuple(
        add_months(first, k, anchor_day=first.day) for k in range(count)
    )


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_property_integer_rounding_matches_decimal_quantize(x: int, d: int) -> None:
    from lendcore.core.money import to_fen
    from lendcore.core.schedule import _DIVIDE

    for mode, divide in _DIVIDE.items():
        assert (
            divide(x, d) == to_fen(Decimal(x) / Decimal(d), mode) or (Decimal(x) / Decimal(d)).adjusted() > 20
        )
