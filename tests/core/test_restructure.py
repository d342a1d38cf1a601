"""Hardship restructures in the fold (展期 / 重新分期), as specifications.

A restructure re-plans every fen of principal still owed from its value date; interest, penalty and
fees already due stay due (never capitalised); the plan the customer is shown (schedule, APR, total)
is what the fold then charges when each new installment is paid on its due date.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.allocation import amount_due
from lendcore.core.apr import AprMethod, apr
from lendcore.core.book import LoanBook
from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import assess
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.loan import Repayment, Restructure, WriteOff, replay_postings
from lendcore.core.restructure import (
    HardshipLimits,
    RestructureKind,
    check_limits,
    plan_restructure,
)
from lendcore.core.schedule import Method
from tests.core.loan_factory import (
    assert_books_consistent,
    book_many,
    disbursed,
    installment_terms,
    revolving_terms,
)

START = date(2026, 1, 15)
EXT = RestructureKind.EXTENSION
REAM = RestructureKind.REAMORTISATION


def _restructure(book: LoanBook, on: date, kind: RestructureKind, periods: int, seq: int = 50) -> LoanBook:
    return book_many(book, Restructure(f"t_rs{seq}", on, seq, kind.value, periods))


def _rows_valid(state: LoanState) -> None:
    rows = state.rows
    assert [r.period for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].start_date == state.terms.start_date
    for a, b in itertools.pairwise(rows):
        assert a.due_date == b.start_date
    for r in rows:
        assert r.due_date > r.start_date
        assert r.principal >= r.principal_paid >= 0


def _pay_each_due(book: LoanBook, from_seq: int) -> tuple[LoanBook, int]:
    """Pay every installment on its due date, exactly what is due then; return the book and the total."""
    paid = 0
    seq = from_seq
    for row in book.state.rows:
        if row.due_date <= book.state.last_value_date or book.state.status is not Status.ACTIVE:  # type: ignore[operator]
            continue
        due = amount_due(accrue(book.state, row.due_date)[0], row.due_date)
        if due:
            seq += 1
            book = book_many(book, Repayment(f"t_p{seq}", row.due_date, seq, due))
            paid += due
    return book, paid


# -- examples ------------------------------------------------------------------------------------


def test_an_extension_moves_the_remaining_due_dates_out_by_k_months() -> None:
    book = disbursed(installment_terms(term=6))
    on = date(2026, 3, 20)  # in period 3 (02-15 .. 03-15 paid? no: nothing paid, 1 and 2 overdue)
    before = [r.due_date for r in book.state.rows if r.due_date > on]
    after = _restructure(book, on, EXT, 2).state
    moved = [r.due_date for r in after.rows if r.due_date > on]
    assert moved[0] == date(2026, 6, 15) and len(moved) == len(before)
    assert moved == [date(2026, m, 15) for m in range(6, 6 + len(before))]


def test_a_reamortisation_adds_k_periods_from_the_next_due_date() -> None:
    book = disbursed(installment_terms(term=6))
    on = date(2026, 2, 1)
    after = _restructure(book, on, REAM, 4).state
    new = [r for r in after.rows if r.due_date > on]
    assert [r.due_date for r in new][:1] == [date(2026, 2, 15)]
    assert len(new) == 6 + 4
    assert after.rows[-1].due_date == date(2026, 11, 15)
    assert after.restructures == 1


def test_arrears_are_kept_as_due_and_bear_no_more_penalty() -> None:
    book = disbursed(installment_terms(term=6))
    on = date(2026, 4, 1)  # installments of 02-15 and 03-15 unpaid
    state_on = accrue(book.state, on)[0]
    owed_interest_due = sum(r.interest_outstanding for r in state_on.rows if r.due_date <= on)
    penalty_on = state_on.penalty_outstanding
    book = _restructure(book, on, REAM, 3)
    plan = plan_restructure(state_on, on, REAM, 3)
    assert plan.arrears == owed_interest_due + penalty_on > 0
    later = accrue(book.state, date(2026, 4, 10))[0]
    assert later.penalty_outstanding == penalty_on  # no principal overdue any more: no new penalty
    kept = [r for r in later.rows if r.due_date <= on]
    assert sum(r.interest_outstanding for r in kept) == owed_interest_due
    assert all(r.principal_outstanding == 0 for r in kept)
    # still past due until the arrears are paid (a restructure is not a cure)
    assert assess(later, date(2026, 4, 10)).dpd > 0
    seq = 60
    paid = book_many(book, Repayment("t_arr", date(2026, 4, 10), seq, plan.arrears))
    assert assess(paid.state, date(2026, 4, 10)).dpd == 0
    assert_books_consistent(paid)


def test_paying_the_new_plan_when_due_costs_exactly_what_the_offer_said() -> None:
    book = disbursed(installment_terms(term=12))
    first_due = date(2026, 2, 15)
    book = book_many(book, Repayment("t_p1", first_due, 1, amount_due(book.state, first_due)))
    on = date(2026, 3, 2)
    plan = plan_restructure(book.state, on, EXT, 3)
    effective = plan_restructure(book.state, on, EXT, 3, AprMethod.EFFECTIVE_XIRR)
    book = _restructure(book, on, EXT, 3, seq=2)
    book, paid = _pay_each_due(book, 2)
    assert book.state.status is Status.CLOSED
    assert paid == plan.total_to_pay
    assert plan.total_interest == plan.schedule.total_interest + plan.carried_interest
    assert plan.apr == apr(plan.schedule) > 0  # nominal IRR unless the product discloses another
    assert (
        effective.apr == apr(plan.schedule, AprMethod.EFFECTIVE_XIRR) and effective.schedule == plan.schedule
    )
    assert_books_consistent(book)


def test_refusals() -> None:
    book = disbursed(installment_terms(term=3))
    with pytest.raises(ValidationError) as bad:
        plan_restructure(book.state, date(2026, 2, 1), EXT, 0)
    assert bad.value.code == "INVALID_RESTRUCTURE_PERIODS"
    with pytest.raises(BusinessRuleError) as bullet:
        plan_restructure(disbursed(revolving_terms()).state, date(2026, 2, 1), EXT, 1)
    assert bullet.value.code == "RESTRUCTURE_NOT_SUPPORTED"
    off = book_many(book, WriteOff("t_wo", date(2026, 6, 1), 1))
    with pytest.raises(BusinessRuleError) as gone:
        book_many(off, Restructure("t_rs", date(2026, 6, 2), 2, "extension", 1))
    assert gone.value.code == "CONTRACT_WRITTEN_OFF"
    with pytest.raises(BusinessRuleError) as inactive:
        plan_restructure(off.state, date(2026, 6, 2), EXT, 1)
    assert inactive.value.code == "CONTRACT_NOT_ACTIVE"


def test_product_limits() -> None:
    book = _restructure(disbursed(installment_terms(term=6)), date(2026, 2, 1), EXT, 1)
    with pytest.raises(BusinessRuleError) as none:
        check_limits(book.state, 1, HardshipLimits(0, 6))
    assert none.value.code == "HARDSHIP_NOT_OFFERED"
    with pytest.raises(BusinessRuleError) as reached:
        check_limits(book.state, 1, HardshipLimits(1, 6))
    assert reached.value.code == "RESTRUCTURE_LIMIT_REACHED"
    with pytest.raises(BusinessRuleError) as many:
        check_limits(book.state, 7, HardshipLimits(2, 6))
    assert many.value.code == "RESTRUCTURE_PERIODS_EXCEEDED"
    check_limits(book.state, 6, HardshipLimits(2, 6))


def test_after_maturity_the_plan_starts_at_the_next_anchored_due_date() -> None:
    book = disbursed(installment_terms(term=3))
    on = date(2026, 5, 20)  # matured 04-15, nothing paid
    after = _restructure(book, on, REAM, 4).state
    new = [r for r in after.rows if r.due_date > on]
    assert [r.due_date for r in new] == [date(2026, m, 15) for m in (6, 7, 8, 9)]
    assert sum(r.principal_outstanding for r in new) == 1_200_000


# -- properties ----------------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> tuple[LoanBook, date, RestructureKind, int]:
    method = draw(st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY]))
    term = draw(st.integers(2, 12))
    principal = draw(st.integers(10_000, 5_000_000))
    book = disbursed(installment_terms(principal=principal, term=term, method=method))
    maturity = book.state.rows[-1].due_date
    pay_day = START + timedelta(days=draw(st.integers(1, (maturity - START).days)))
    if draw(st.booleans()):
        amount = draw(st.integers(1, principal))
        book = book_many(book, Repayment("t_pay", pay_day, 1, amount))
    on = pay_day + timedelta(days=draw(st.integers(0, 120)))
    return book, on, draw(st.sampled_from([EXT, REAM])), draw(st.integers(1, 12))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_principal_is_conserved_rows_stay_valid_and_the_replay_equals_the_fold(
    case: tuple[LoanBook, date, RestructureKind, int],
) -> None:
    book, on, kind, k = case
    state_on = accrue(book.state, on)[0]
    if state_on.status is not Status.ACTIVE:
        return
    plan = plan_restructure(state_on, on, kind, k)
    after = _restructure(book, on, kind, k)
    s = after.state
    assert s.principal_outstanding == state_on.principal_outstanding == plan.principal
    assert plan.schedule.total_principal == plan.principal
    assert [r.principal for r in s.rows] == [r.principal for r in plan.rows]
    assert [r.due_date for r in s.rows if r.due_date > on] == [i.due_date for i in plan.schedule.installments]
    # receivables untouched: the restructure posts nothing
    assert s.total_outstanding == state_on.total_outstanding
    _rows_valid(s)
    assert_books_consistent(after)
    final, postings = replay_postings(after.terms, after.transactions)
    assert final == s
    debits = sum(p.amount for p in postings if p.side.value == "debit")
    assert debits == sum(p.amount for p in postings if p.side.value == "credit")


@settings(max_examples=40, deadline=None)
@given(cases())
def test_the_new_plan_paid_when_due_closes_the_contract_at_the_offered_cost(
    case: tuple[LoanBook, date, RestructureKind, int],
) -> None:
    book, on, kind, k = case
    state_on = accrue(book.state, on)[0]
    if state_on.status is not Status.ACTIVE:
        return
    plan = plan_restructure(state_on, on, kind, k)
    after = _restructure(book, on, kind, k)
    seq = 70
    if plan.arrears:
        after = book_many(after, Repayment("t_arrears", on, seq, plan.arrears))
    final, paid = _pay_each_due(after, seq)
    assert final.state.status is Status.CLOSED
    assert paid + plan.arrears == plan.total_to_pay
    assert_books_consistent(final)
