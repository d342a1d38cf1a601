"""Money in flight is value-dated (core.in_flight): while a repayment the customer started is not final,
the daily close neither makes the contract overdue nor charges penalty for it; when it succeeds the
contract is exactly as if it had been paid instantly on its value date; when it fails, exactly as if
it had never been paid.

The closes are simulated in the pure core: one PenaltyAccrual per day, carrying the money in flight
(``covered_by_payment``) on the days the payment was open; a success is booked backdated at its value
date through the book, as the settlement does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendcore.core.book import LoanBook
from lendcore.core.contract import InstallmentState, LoanState, LoanTerms
from lendcore.core.delinquency import days_past_due
from lendcore.core.in_flight import InFlight, as_if_paid, covered_amount
from lendcore.core.loan import PenaltyAccrual, Repayment
from lendcore.core.schedule import Method
from tests.core.loan_factory import assert_books_consistent, disbursed, installment_terms

START = date(2026, 1, 15)
ONE = timedelta(days=1)
TINY = Decimal("1e-12")


@st.composite
def contracts(draw: st.DrawFn) -> LoanTerms:
    return installment_terms(
        principal=draw(st.integers(50_000, 3_000_000)),
        term=draw(st.integers(1, 6)),
        method=draw(st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.BULLET])),
        daily_rate=Decimal(draw(st.integers(0, 60))) / 100_000,
        penalty_base_daily_rate=Decimal("0.0005"),  # so a 0 % plan still bears penalty
        grace_days=draw(st.integers(0, 3)),
    )


class Closes:
    """A contract's daily closes from its start, with a repayment started on ``value_date``."""

    def __init__(self, terms: LoanTerms) -> None:
        self.book: LoanBook = disbursed(terms)
        self.day = terms.start_date
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def close(self, covered: int = 0) -> None:
        """The close of ``day`` (then the next day opens)."""
        self.book, _ = self.book.book(PenaltyAccrual(f"c{self.day}", self.day, self._next(), covered))
        self.day += ONE

    def pay(self, on: date, amount: int, txn_id: str = "pay") -> None:
        self.book, _ = self.book.book(Repayment(txn_id, on, self._next(), amount))

    def run_to(self, end: date, covered: int = 0) -> None:
        while self.day <= end:
            self.close(covered)


def _scenario(draw: st.DrawFn, terms: LoanTerms) -> tuple[date, int, int, date]:
    """(value date, amount, days in flight, last day simulated)."""
    due = terms.schedule[draw(st.integers(0, len(terms.schedule) - 1))].due_date
    value_date = due + timedelta(days=draw(st.integers(-5, 3)))
    value_date = max(value_date, terms.start_date + ONE)
    amount = draw(st.integers(1, terms.principal + terms.principal // 5))
    flight = draw(st.integers(0, 12))
    end = value_date + timedelta(days=flight + draw(st.integers(0, 20)))
    return value_date, amount, flight, end


def _rounded(row: InstallmentState) -> InstallmentState:
    # exact accruals are Decimals of 28 digits: one jump and day-by-day steps may differ in the last
    # digit (1e-25 fen), never in a booked fen
    return replace(
        row, interest_exact=row.interest_exact.quantize(TINY), penalty_exact=row.penalty_exact.quantize(TINY)
    )


def _without_counters(state: LoanState) -> tuple[object, ...]:
    """Everything that a customer owes, has paid or is judged on."""
    return (
        state.status,
        tuple(_rounded(r) for r in state.rows),
        state.suspense,
        state.cash_in,
        state.accrued_through,
        state.penalty_through,
        state.principal_prepaid,
        state.prepayment_fees,
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_success_is_paying_on_the_value_date_and_failure_is_never_paying(data: st.DataObject) -> None:
    terms = data.draw(contracts())
    value_date, amount, flight, end = _scenario(data.draw, terms)
    resolved = value_date + timedelta(days=flight)  # final before that day's close

    instant, success, failure, never = (Closes(terms) for _ in range(4))
    for c in (instant, success, failure, never):
        c.run_to(value_date - ONE)
    instant.pay(value_date, amount)
    instant.run_to(end)
    never.run_to(end)

    penalty_before = success.book.state.penalty_outstanding
    for c in (success, failure):
        c.run_to(resolved - ONE, covered=amount)
        # in flight: no penalty charged for it, and judged as if paid on its value date
        assert c.book.state.penalty_outstanding == penalty_before
    if flight:
        shown = as_if_paid(
            terms, success.book.transactions, [InFlight("p", amount, value_date)], resolved - ONE
        )
        assert shown is not None
        at_last_flight_day = Closes(terms)
        at_last_flight_day.run_to(value_date - ONE)
        at_last_flight_day.pay(value_date, amount)
        at_last_flight_day.run_to(resolved - ONE)
        assert days_past_due(shown, resolved - ONE) == days_past_due(
            at_last_flight_day.book.state, resolved - ONE
        )

    success.pay(value_date, amount)  # backdated: the settlement books at the value date
    success.run_to(end)
    failure.run_to(end)

    assert _without_counters(success.book.state) == _without_counters(instant.book.state)
    assert _without_counters(failure.book.state) == _without_counters(never.book.state)
    assert days_past_due(success.book.state, end) == days_past_due(instant.book.state, end)
    assert days_past_due(failure.book.state, end) == days_past_due(never.book.state, end)
    assert_books_consistent(success.book)
    assert_books_consistent(failure.book)


def test_the_story_in_numbers_a_bullet_paid_the_day_before_it_is_due_confirmed_a_week_late() -> None:
    """¥10,000 bullet at 0.03 %/day due 04-01 (penalty 0.045 %/day): paid on 03-31, in flight for 8 closes.
    While in flight: DPD 0 shown, no penalty. Failed: 7 days of penalty on ¥10,000 (3,150 fen), DPD 7."""
    terms = installment_terms(
        principal=1_000_000,
        term=1,
        method=Method.BULLET,
        start=date(2026, 3, 1),
        daily_rate=Decimal("0.0003"),
        cap_includes_contract_rate=False,
    )
    due = terms.schedule[0].due_date
    assert due == date(2026, 4, 1)
    paid_on = due - ONE
    owed = terms.schedule[0].total
    flight = Closes(terms)
    flight.run_to(paid_on - ONE)
    flight.run_to(due + 7 * ONE, covered=owed)
    state = flight.book.state
    assert state.penalty_outstanding == 0 and days_past_due(state, due + 7 * ONE) == 7  # the raw rows
    shown = as_if_paid(terms, flight.book.transactions, [InFlight("p", owed, paid_on)], due + 7 * ONE)
    assert shown is not None and days_past_due(shown, due + 7 * ONE) == 0 and shown.penalty_outstanding == 0
    flight.close()  # failed before the close of 04-09: penalty up to date in one step
    assert flight.book.state.penalty_outstanding == 8 * 450
    assert days_past_due(flight.book.state, due + 8 * ONE) == 8


def test_only_what_was_started_by_the_day_counts() -> None:
    flights = [InFlight("a", 100, date(2026, 4, 1)), InFlight("b", 50, date(2026, 4, 3))]
    assert covered_amount(flights, date(2026, 3, 31)) == 0
    assert covered_amount(flights, date(2026, 4, 2)) == 100
    assert covered_amount(flights, date(2026, 4, 3)) == 150
    terms = installment_terms(term=1, method=Method.BULLET)
    assert as_if_paid(terms, disbursed(terms).transactions, flights, date(2026, 1, 1)) is None
