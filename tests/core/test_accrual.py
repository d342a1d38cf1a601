"""Accrual: interest by actual days (算头不算尾), penalty after the due date and grace, one rounding rule.

Worked examples are hand-checked scenarios (no lender help page with daily-rate figures could be found
and verified in the time available; the arithmetic is in the comments).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.accrual import Accrued, accrue, booked, interest_exact, penalty_daily_rate
from lendcore.core.contract import LoanState
from lendcore.core.loan import PenaltyAccrual, Repayment, WriteOff
from lendcore.core.money import Rounding
from lendcore.core.schedule import Method
from tests.core.loan_factory import D5, book_many, disbursed, installment_terms, revolving_terms

CAPPED_PENALTY = Decimal("0.24") / 365 - D5  # 0.000657534… − 0.0005 = 0.000157534… a day


def _accrued_to(state: LoanState, to: date) -> LoanState:
    return accrue(state, to)[0]


def test_revolving_interest_counts_the_first_day_and_not_the_last() -> None:
    # ¥10,000 drawn Jan 1 at 0.05 %/day; accrued to Jan 8 = 7 days (Jan 1 … Jan 7):
    # 1,000,000 fen × 0.0005 × 7 = 3,500 fen (¥35)
    state = disbursed(revolving_terms(1_000_000)).state
    s, accrued = accrue(state, date(2026, 1, 8))
    assert accrued.interest == 3_500
    assert s.interest_outstanding == 3_500
    assert s.accrued_through == date(2026, 1, 8)
    # the disbursement day alone is one day of interest: 1,000,000 × 0.0005 = 500
    assert accrue(state, date(2026, 1, 2))[1].interest == 500
    assert accrue(state, date(2026, 1, 1))[1].interest == 0


def test_interest_follows_the_principal_actually_outstanding() -> None:
    # ¥10,000 drawn Jan 1; ¥4,000 principal repaid Jan 11 (after 10 days' interest of 5,000 fen).
    # Jan 11 … Jan 20 (10 days) on 600,000: 600,000 × 0.0005 × 10 = 3,000 fen.
    book = disbursed(revolving_terms(1_000_000))
    book = book_many(book, Repayment("r1", date(2026, 1, 11), 1, 5_000 + 400_000))
    assert book.state.principal_outstanding == 600_000
    assert book.state.interest_outstanding == 0
    assert accrue(book.state, date(2026, 1, 21))[1].interest == 3_000


def test_daily_postings_sum_to_the_rounded_period_interest_not_to_rounded_days() -> None:
    # 100,050 fen at 0.05 %/day earns 50.025 fen a day. Rounding each day would give 50 × 31 = 1,550;
    # the rule (round the cumulative exact amount, post the difference) gives round(1,550.775) = 1,551.
    state = disbursed(revolving_terms(100_050)).state
    postings = []
    day = state.terms.start_date
    for _ in range(31):
        day += timedelta(days=1)
        state, accrued = accrue(state, day)
        postings.append(accrued.interest)
    assert sum(postings) == 1_551
    assert set(postings) == {50, 51}
    assert state.rows[0].interest_exact == Decimal("1550.775")


def test_accrual_in_one_step_equals_accrual_day_by_day() -> None:
    terms = installment_terms(1_200_000, 6, Method.EQUAL_PRINCIPAL, penalty_on_interest=True)
    state = disbursed(terms).state
    end = date(2026, 6, 3)  # crosses four due dates with nothing paid: interest and penalty both run
    daily = state
    day = state.terms.start_date
    while day < end:
        day += timedelta(days=1)
        daily = _accrued_to(daily, day)
    once = _accrued_to(state, end)
    # the booked (rounded) amounts are identical; the exact Decimals agree to far below a fen (the
    # capped penalty rate 0.24/365 − 0.0005 has no finite decimal form, so Decimal's 28 digits differ
    # in the last places between one product and a sum of daily products)
    booked_fields = [(r.interest_accrued, r.penalty_accrued, r.fee_charged) for r in once.rows]
    assert booked_fields == [(r.interest_accrued, r.penalty_accrued, r.fee_charged) for r in daily.rows]
    for a, b in zip(once.rows, daily.rows, strict=True):
        assert a.interest_exact == b.interest_exact
        assert abs(a.penalty_exact - b.penalty_exact) < Decimal("1e-18")
    assert once.penalty_outstanding > 0


def test_installment_interest_accrued_over_a_period_equals_the_schedule_interest() -> None:
    # 等额本息 ¥12,000, 12 periods, 0.05 %/day from 2026-01-15: period 1 is Jan 15 → Feb 15 (31 days)
    # on 1,200,000 fen: 1,200,000 × 0.0005 × 31 = 18,600 fen, as in the schedule; every period paid on
    # its due date accrues exactly the schedule's interest.
    terms = installment_terms()
    book = disbursed(terms)
    assert terms.schedule[0].interest == 18_600
    for k, row in enumerate(terms.schedule, start=1):
        book = book_many(book, Repayment(f"r{k}", row.due_date, k, row.total))
        assert book.state.rows[k - 1].interest_accrued == row.interest
        assert book.state.rows[k - 1].outstanding == 0
    assert book.state.status == "closed"


def test_penalty_rate_is_capped_so_the_overdue_all_in_rate_stays_within_24_percent() -> None:
    # Overdue principal bears penalty instead of contract interest, so the penalty rate is the
    # all-in rate: 0.05 % × 1.5 = 0.075 % a day = 27.4 % a year is over the cap and becomes
    # 24 % / 365 = 0.0657534… % a day (PRODUCT.md section 1).
    alone = {"cap_includes_contract_rate": False}
    assert penalty_daily_rate(D5, Decimal("1.5"), Decimal("0.24"), **alone) == Decimal("0.24") / 365
    # cheaper loans are not capped: 0.02 % × 1.5 = 0.03 % a day = 10.95 % a year
    assert penalty_daily_rate(Decimal("0.0002"), Decimal("1.5"), Decimal("0.24"), **alone) == Decimal(
        "0.0003"
    )


def test_a_lender_charging_both_rates_caps_their_sum() -> None:
    # With contract interest also running on overdue principal: 24 % / 365 − 0.05 % = 0.0157534… %
    # a day, and (0.05 % + that) × 365 = 24 % exactly.
    rate = penalty_daily_rate(D5, Decimal("1.5"), Decimal("0.24"), cap_includes_contract_rate=True)
    assert rate == CAPPED_PENALTY
    assert ((D5 + rate) * 365).quantize(Decimal("0.000001")) == Decimal("0.240000")
    # a contract rate already at the cap leaves no room for penalty (never negative)
    assert (
        penalty_daily_rate(
            Decimal("0.0007"), Decimal("1.5"), Decimal("0.24"), cap_includes_contract_rate=True
        )
        == 0
    )


def test_penalty_starts_the_day_after_the_due_date_on_overdue_principal_only() -> None:
    # Installment 1 (principal 91,515, interest 18,600) due 2026-02-15 is not paid.
    terms = installment_terms()
    state = disbursed(terms).state
    due = date(2026, 2, 15)
    assert accrue(state, due)[0].penalty_outstanding == 0  # the due day itself is not overdue
    assert accrue(state, due + timedelta(days=1))[0].penalty_outstanding == 14  # DPD 1
    # DPD 5: 91,515 × 0.000157534… × 5 = 72.08… → 72 fen (interest 18,600 bears no penalty by default)
    s = _accrued_to(state, due + timedelta(days=5))
    assert s.penalty_outstanding == 72
    assert s.rows[0].penalty_exact.quantize(Decimal("0.01")) == Decimal("72.08")
    # meanwhile contract interest runs only on the principal not yet due (rows 2…12: 1,108,485):
    # 1,108,485 × 0.0005 × 5 = 2,771.2125 → 2,771 booked on row 2
    assert s.rows[1].interest_accrued == 2_771


def test_penalty_on_overdue_interest_only_when_configured() -> None:
    # base = 91,515 principal + 18,600 interest = 110,115; × 0.000157534… × 5 = 86.73… → 87 fen
    terms = installment_terms(penalty_on_interest=True)
    s = _accrued_to(disbursed(terms).state, date(2026, 2, 20))
    assert s.penalty_outstanding == 87


def test_paid_within_grace_means_no_penalty_at_all() -> None:
    terms = installment_terms(grace_days=3)
    due_total = terms.schedule[0].total
    on_dpd3 = book_many(disbursed(terms), Repayment("r1", date(2026, 2, 18), 1, due_total))
    assert on_dpd3.state.rows[0].outstanding == 0
    assert on_dpd3.state.rows[0].penalty_accrued == 0
    assert on_dpd3.state.suspense == 0
    # a day later grace has lapsed: penalty counts from DPD 1, 4 days: 91,515 × 0.000157534… × 4 = 57.67
    on_dpd4 = book_many(disbursed(terms), PenaltyAccrual("a1", date(2026, 2, 19), 1))
    assert on_dpd4.state.penalty_outstanding == 58
    # and within grace nothing is booked yet
    within = book_many(disbursed(terms), PenaltyAccrual("a1", date(2026, 2, 18), 1))
    assert within.state.penalty_outstanding == 0


def test_rounding_is_explicit_and_follows_the_contract() -> None:
    assert interest_exact(100_001, D5, 1) == Decimal("50.0005")
    assert booked(Decimal("50.5")) == 51
    assert booked(Decimal("50.5"), Rounding.HALF_EVEN) == 50
    half_even = revolving_terms(101_000, rounding=Rounding.HALF_EVEN)  # 50.5 fen a day
    assert accrue(disbursed(half_even).state, date(2026, 1, 2))[1].interest == 50
    assert accrue(disbursed(revolving_terms(101_000)).state, date(2026, 1, 2))[1].interest == 51


def test_no_accrual_before_disbursement_or_after_write_off() -> None:
    terms = revolving_terms()
    pending = LoanState.new(terms)
    assert accrue(pending, date(2026, 2, 1)) == (pending, Accrued())
    written_off = book_many(disbursed(terms), WriteOff("w1", date(2026, 1, 11), 1)).state
    assert written_off.written_off == 1_000_000 + 5_000  # principal + 10 days of interest
    assert accrue(written_off, date(2026, 3, 1)) == (written_off, Accrued())


def test_interest_free_contract_bears_penalty_at_the_base_rate_capped() -> None:
    # ¥3,000 in 3 equal-principal installments at 0 %/day (免息), due Feb 15 / Mar 15 / Apr 15.
    # Without a base rate, penalty = 1.5 × 0 = 0. With penalty_base_daily_rate 0.05 %: 1.5 × 0.0005 =
    # 0.075 %/day; accrued to Feb 25 the first row is 10 days overdue on 100,000 fen:
    # 100,000 × 0.00075 × 10 = 750 fen (a 36 % cap leaves room: 0.36 / 365 = 0.0986 %/day).
    zero = Decimal(0)
    common: dict[str, object] = {"principal": 300_000, "term": 3, "method": Method.EQUAL_PRINCIPAL}
    on = date(2026, 2, 25)
    plain = disbursed(installment_terms(daily_rate=zero, **common)).state  # type: ignore[arg-type]
    assert accrue(plain, on)[0].penalty_outstanding == 0
    based = disbursed(
        installment_terms(
            daily_rate=zero, penalty_base_daily_rate=D5, rate_cap_annual=Decimal("0.36"), **common
        )  # type: ignore[arg-type]
    ).state
    s = _accrued_to(based, on)
    assert (s.interest_outstanding, s.penalty_outstanding) == (0, 750)
    # still capped: at 24 % the rate is 0.24 / 365 = 0.0657534… %/day → 100,000 × 10 × that = 657.53 → 658
    capped = disbursed(installment_terms(daily_rate=zero, penalty_base_daily_rate=D5, **common)).state  # type: ignore[arg-type]
    assert _accrued_to(capped, on).penalty_outstanding == 658
    assert (
        penalty_daily_rate(zero, Decimal("1.5"), Decimal("0.24"), base_daily_rate=D5) == Decimal("0.24") / 365
    )


def test_penalty_base_rate_replaces_the_contract_rate_in_the_multiple() -> None:
    # base 0.02 %, contract 0.05 %: 1.5 × 0.0002 = 0.0003/day. A 36 % cap including the contract rate
    # leaves 0.36 / 365 − 0.0005 = 0.000486… (room: 0.0003 stands); a 24 % cap leaves
    # 0.24 / 365 − 0.0005 = 0.000157534… (the cap binds)
    assert penalty_daily_rate(
        D5, Decimal("1.5"), Decimal("0.36"), base_daily_rate=Decimal("0.0002")
    ) == Decimal("0.00030")
    assert (
        penalty_daily_rate(D5, Decimal("1.5"), Decimal("0.24"), base_daily_rate=Decimal("0.0002"))
        == CAPPED_PENALTY
    )


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=89), st.integers(min_value=1, max_value=300_000)),
        max_size=5,
        unique_by=lambda step: step[0],
    )
)
def test_booked_revolving_interest_equals_the_quoting_function_on_the_same_timeline(
    repayments: list[tuple[int, int]],
) -> None:
    """The servicing accrual and `core.interest.interest` (what a quote shows) apply one rule: the
    interest a quick loan earns to maturity is Σ principal × days × daily rate over the principal
    actually outstanding, rounded once. Repayments pay interest to date, then prepay principal."""
    from lendcore.core.interest import interest
    from lendcore.core.ledger import Account, Side, entries_postings
    from lendcore.core.loan import InterestAccrual

    terms = revolving_terms(1_000_000)
    book = disbursed(terms)
    timeline = [(terms.start_date, terms.principal)]
    for seq, (day, amount) in enumerate(sorted(repayments), start=1):
        when = terms.start_date + timedelta(days=day)
        if book.state.principal_outstanding == 0:
            break
        book = book_many(book, Repayment(f"r{seq}", when, seq, amount))
        timeline.append((when, book.state.principal_outstanding))
    maturity = terms.schedule[-1].due_date
    book = book_many(book, InterestAccrual("t_end", maturity, 99))
    income = sum(
        p.amount if p.side is Side.CREDIT else -p.amount
        for p in entries_postings(book.journal)
        if p.account is Account.INTEREST_INCOME
    )
    assert income == interest(timeline, terms.daily_rate, terms.start_date, maturity)
