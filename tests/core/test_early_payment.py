"""Paying the bill early is paying the bill: it never makes a customer overdue.

The rule (core.allocation): money paid before a due date first settles the *current installment* in
full (interest by actual days to the payment date, its principal and its fees); only money beyond
that is a prepayment that re-plans the schedule and may carry a prepayment fee.

Worked example (the report that led to the rule): a quick loan of ¥3,000 over 3 months at 0.03 % a day
from 2026-01-10, equal installments: installment 1 is ¥1,018.05 due 2026-02-10 (interest 31 days ×
0.9 = ¥27.90, principal ¥990.15). Paid on 2026-02-09 (a day early):
- interest 30 days × ¥0.90 = ¥27.00 and principal ¥990.15 settle installment 1 (¥1,017.15);
- the ¥0.90 left prepays principal and re-plans installments 2 and 3;
- installment 1 owes nothing on 2026-02-10: the day's interest on the ¥2,008.95 still outstanding
  belongs to installment 2; a close on 2026-02-20 finds DPD 0 and no penalty.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.allocation import Bucket, CustomerMode, allocate, allocate_customer, current_bill
from lendcore.core.contract import LoanState, LoanTerms, PrepaymentFee, ProductClass, Status
from lendcore.core.delinquency import days_past_due
from lendcore.core.loan import Disbursement, PenaltyAccrual, Repayment, apply
from lendcore.core.schedule import Method, Rate, ScheduleTerms, build_schedule
from tests.core.loan_factory import assert_books_consistent, book_many, disbursed

START = date(2026, 1, 10)
NO_FEE = PrepaymentFee.none()


def _terms(
    *,
    principal: int = 300_000,
    term: int = 3,
    method: Method = Method.EQUAL_INSTALLMENT,
    daily_rate: Decimal = Decimal("0.0003"),
    start: date = START,
    fee_rate: Decimal = Decimal(0),
    prepayment_fee: PrepaymentFee = NO_FEE,
    grace_days: int = 0,
    contract_id: str = "ln_1",
    product_class: ProductClass = ProductClass.CASH_LOAN,
) -> LoanTerms:
    schedule = build_schedule(
        ScheduleTerms(
            principal=principal,
            term=term,
            method=method,
            start_date=start,
            rate=Rate.daily(daily_rate),
            fee_rate_per_period=fee_rate,
        )
    )
    return LoanTerms(
        contract_id=contract_id,
        customer_id="cus_1",
        product_code="quick",
        principal=principal,
        daily_rate=daily_rate,
        method=method,
        schedule=schedule.installments,
        prepayment_fee=prepayment_fee,
        grace_days=grace_days,
        product_class=product_class,
    )


def test_the_worked_example_a_day_early_settles_installment_1_and_nothing_goes_overdue() -> None:
    terms = _terms()
    assert (terms.schedule[0].total, terms.schedule[0].due_date) == (101_805, date(2026, 2, 10))
    before = accrue(disbursed(terms).state, date(2026, 2, 9))[0]
    alloc = allocate(before, 101_805, date(2026, 2, 9))
    assert [(ln.period, ln.component.value, ln.amount, ln.bucket) for ln in alloc.lines] == [
        (1, "interest", 2_700, Bucket.CURRENT),
        (1, "principal", 99_015, Bucket.CURRENT),
        (2, "principal", 90, Bucket.ADVANCE),
    ]
    assert (alloc.settled, alloc.prepaid_principal, alloc.prepayment_fee) == ((1,), 90, 0)

    book = book_many(disbursed(terms), Repayment("r", date(2026, 2, 9), 1, 101_805))
    after = book.state
    assert after.rows[0].settled_on == date(2026, 2, 9) and after.rows[0].outstanding == 0
    assert after.principal_outstanding == 300_000 - 99_015 - 90  # ¥2,008.95
    closed_day = apply(after, PenaltyAccrual("close", date(2026, 2, 20), 2)).state
    assert days_past_due(closed_day, date(2026, 2, 20)) == 0
    assert closed_day.penalty_outstanding == 0
    assert closed_day.rows[0].outstanding == 0
    # Feb 9 – Feb 19 (11 days) of interest on ¥2,008.95 accrue to installment 2, nothing to row 1
    assert closed_day.rows[1].interest_accrued == round(200_895 * Decimal("0.0003") * 11)
    assert_books_consistent(book)


def test_paying_the_bill_shown_today_costs_no_prepayment_fee_even_where_prepaying_does() -> None:
    terms = _terms(prepayment_fee=PrepaymentFee.percent("0.01"))  # premium-like: 1 % on principal prepaid
    on = date(2026, 2, 9)
    state = accrue(disbursed(terms).state, on)[0]
    bill = current_bill(state, on)
    assert bill == 2_700 + 99_015
    exact = allocate(state, bill, on)
    assert (exact.settled, exact.prepaid_principal, exact.prepayment_fee, exact.unapplied) == ((1,), 0, 0, 0)
    beyond = allocate(state, bill + 10_100, on)  # ¥101 more: a real prepayment of ¥100 + ¥1 fee
    assert (beyond.prepaid_principal, beyond.prepayment_fee) == (10_000, 100)


def test_a_settled_installment_charges_its_scheduled_fee_when_settled_not_again_on_its_due_date() -> None:
    # a POS plan with a fee per period (0.6 % of ¥3,000 = ¥18 a period), no interest
    terms = _terms(method=Method.FLAT_FEE, daily_rate=Decimal(0), fee_rate=Decimal("0.006"), term=3)
    on = date(2026, 2, 1)
    state = accrue(disbursed(terms).state, on)[0]
    assert current_bill(state, on) == 100_000 + 1_800
    book = book_many(disbursed(terms), Repayment("r", on, 1, 101_800))
    assert book.state.rows[0].settled_on == on
    after_due = apply(book.state, PenaltyAccrual("close", date(2026, 2, 15), 2)).state
    assert after_due.rows[0].fee_charged == 1_800 and after_due.rows[0].outstanding == 0
    assert days_past_due(after_due, date(2026, 2, 15)) == 0
    assert_books_consistent(book)


def test_on_its_due_date_the_bill_is_the_installment_due_and_more_is_a_prepayment() -> None:
    terms = _terms()
    due = terms.schedule[0].due_date
    state = accrue(disbursed(terms).state, due)[0]
    assert current_bill(state, due) == 101_805  # exactly the schedule's installment
    alloc = allocate(state, 101_805 + 500, due)
    assert alloc.settled == () and alloc.prepaid_principal == 500  # installment 2 has not begun


# -- the property: a customer who pays each bill by its due date is never overdue -----------------

METHODS = [Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY, Method.FLAT_FEE]


@st.composite
def contracts(draw: st.DrawFn, contract_id: str = "ln_1") -> LoanTerms:
    method = draw(st.sampled_from(METHODS))
    interest_free = method is Method.FLAT_FEE
    return _terms(
        principal=draw(st.integers(10_000, 5_000_000)),
        term=draw(st.integers(1, 12)),
        method=method,
        daily_rate=Decimal(0) if interest_free else Decimal(draw(st.integers(0, 50))) / 100_000,
        fee_rate=Decimal(draw(st.sampled_from([0, 3, 6, 75]))) / 10_000 if interest_free else Decimal(0),
        start=START + timedelta(days=draw(st.integers(0, 40))),
        prepayment_fee=draw(st.sampled_from([PrepaymentFee.none(), PrepaymentFee.percent("0.01")])),
        grace_days=draw(st.integers(0, 3)),
        contract_id=contract_id,
        product_class=draw(st.sampled_from(list(ProductClass))),
    )


def _payment_days(draw: st.DrawFn, terms: LoanTerms) -> list[tuple[date, str, date]]:
    """One day per installment, after its period began and on or before its due date:
    (payment day, contract, due date)."""
    days = []
    for row in terms.schedule:
        span = (row.due_date - row.start_date).days  # ≥ 1: (start, due] holds `span` days
        day = row.start_date + timedelta(days=draw(st.integers(1, span)))
        days.append((day, terms.contract_id, row.due_date))
    return days


def _close_days(
    states: dict[str, LoanState], start: date, end: date, pay_on: dict[date, list[tuple[str, date]]]
) -> tuple[dict[str, LoanState], list[tuple[date, int]]]:
    """Simulate the customer and the daily close from ``start`` to ``end``: on each payment day the
    customer pays the total bill shown that day; every day closes (penalty accrual). A bill that
    shows nothing yet on its chosen day (an interest-only period a day old: interest rounds to 0) is
    paid on its due date, where it shows. Returns the states and every (day, worst DPD) seen."""
    seq = 10
    seen: list[tuple[date, int]] = []
    day = start
    while day <= end:
        if day in pay_on:
            for cid, due in pay_on[day]:
                if due != day and current_bill(states[cid], day) == 0:
                    pay_on.setdefault(due, []).append((cid, due))
            live = [s for s in states.values() if s.status is Status.ACTIVE and s.terms.start_date < day]
            total = sum(current_bill(s, day) for s in live)
            if total > 0:
                split = allocate_customer(live, total, day, CustomerMode.BY_AMOUNT)
                for cid, share in split.shares:
                    seq += 1
                    states[cid] = apply(states[cid], Repayment(f"r{seq}", day, seq, share)).state
        for cid, s in list(states.items()):
            if s.status is Status.ACTIVE and s.terms.start_date <= day:
                seq += 1
                states[cid] = apply(s, PenaltyAccrual(f"c{seq}", day, seq)).state
        seen.append((day, max(days_past_due(s, day) for s in states.values())))
        day += timedelta(days=1)
    return states, seen


@given(st.data())
def test_a_customer_who_pays_each_bill_shown_by_its_due_date_is_never_overdue(data: st.DataObject) -> None:
    """Any number of contracts, any product shape: on one day in each installment's period (after it
    began, on or before its due date) the customer pays the total bill shown that day. They are
    never overdue, pay no penalty and no prepayment fee, prepay nothing, and every contract closes."""
    n = data.draw(st.integers(1, 3))
    terms = [data.draw(contracts(contract_id=f"ln_{i}")) for i in range(n)]
    states: dict[str, LoanState] = {}
    for t in terms:
        states[t.contract_id] = apply(LoanState.new(t), Disbursement("d", t.start_date, 0, t.principal)).state
    pay_on: dict[date, list[tuple[str, date]]] = {}
    for t in terms:
        for day, cid, due in _payment_days(data.draw, t):
            pay_on.setdefault(day, []).append((cid, due))
    start = min(t.start_date for t in terms)
    end = max(t.maturity_date for t in terms) + timedelta(days=5)
    states, seen = _close_days(states, start, end, pay_on)
    assert [(day, dpd) for day, dpd in seen if dpd] == []
    for s in states.values():
        assert s.status is Status.CLOSED, s.rows
        assert sum(r.penalty_accrued for r in s.rows) == 0
        assert (s.prepayment_fees, s.principal_prepaid, s.suspense) == (0, 0, 0)
