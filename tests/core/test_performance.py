"""Credit performance: worst DPD from a booked history, and the bad / good / not-matured outcome."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lendcore.core.book import LoanBook
from lendcore.core.contract import LoanState
from lendcore.core.errors import ValidationError
from lendcore.core.loan import PenaltyAccrual, Repayment, WriteOff
from lendcore.core.performance import (
    BAD,
    GOOD,
    ContractPerformance,
    PerformanceDefinition,
    contract_performance,
    first_day_past_due_at_least,
    performance_outcome,
    worst_days_past_due,
    written_off_on,
)
from tests.core.loan_factory import book_many, disbursed, revolving_terms

DUE = date(2026, 4, 1)  # revolving_terms(): ¥10,000 from 2026-01-01, one row due 04-01


def _history(book: LoanBook) -> list[tuple[date, LoanState]]:
    return [(a.txn.value_date, a.state) for a in book.applied]


def _closes(book: LoanBook, first: date, last: date) -> LoanBook:
    """The daily close's accruals, one a day from ``first`` to ``last``."""
    days = (last - first).days + 1
    return book_many(book, *(PenaltyAccrual(f"t_pa{i}", first + timedelta(days=i), 0) for i in range(days)))


def test_worst_dpd_grows_with_the_closes_and_is_kept_after_the_cure() -> None:
    book = _closes(disbursed(revolving_terms()), DUE + timedelta(days=1), DUE + timedelta(days=5))
    assert worst_days_past_due(_history(book), DUE + timedelta(days=5)) == 5
    # no booking after 04-06: the state in force keeps ageing up to the date asked about
    assert worst_days_past_due(_history(book), DUE + timedelta(days=9)) == 9
    cured = book_many(book, Repayment("t_pay", DUE + timedelta(days=6), 0, 2_000_000))
    assert cured.state.status.value == "closed"
    # the close of 04-06 runs after the payment value-dated 04-06: the worst close saw 5
    assert worst_days_past_due(_history(cured), DUE + timedelta(days=60)) == 5
    assert first_day_past_due_at_least(_history(cured), 3, DUE + timedelta(days=60)) == DUE + timedelta(
        days=3
    )
    assert first_day_past_due_at_least(_history(cured), 6, DUE + timedelta(days=60)) is None


def test_payment_value_dated_before_the_due_date_means_never_late() -> None:
    """Invariant 6: the closes of 04-02 … 04-08 saw DPD 1 … 7; the payment started on 03-31 is booked
    afterwards, the book replays, and the history holds no overdue day."""
    book = _closes(disbursed(revolving_terms()), DUE + timedelta(days=1), DUE + timedelta(days=7))
    assert worst_days_past_due(_history(book), DUE + timedelta(days=7)) == 7
    rebooked, _ = book.book(Repayment("t_pay", date(2026, 3, 31), 0, 2_000_000))
    history = _history(rebooked)
    assert worst_days_past_due(history, DUE + timedelta(days=7)) == 0
    assert first_day_past_due_at_least(history, 1, DUE + timedelta(days=30)) is None


def test_a_late_payment_booked_late_keeps_only_the_days_really_late() -> None:
    book = _closes(disbursed(revolving_terms()), DUE + timedelta(days=1), DUE + timedelta(days=7))
    rebooked, _ = book.book(Repayment("t_pay", DUE + timedelta(days=3), 0, 2_000_000))
    assert worst_days_past_due(_history(rebooked), DUE + timedelta(days=7)) == 2


def test_first_day_at_threshold_respects_the_cut_off_and_the_write_off_is_dated() -> None:
    book = _closes(disbursed(revolving_terms()), DUE + timedelta(days=1), DUE + timedelta(days=40))
    history = _history(book)
    assert first_day_past_due_at_least(history, 30, DUE + timedelta(days=40)) == DUE + timedelta(days=30)
    assert first_day_past_due_at_least(history, 30, DUE + timedelta(days=29)) is None
    assert worst_days_past_due(history, DUE + timedelta(days=10)) == 10
    with pytest.raises(ValidationError) as err:
        first_day_past_due_at_least(history, 0, DUE)
    assert err.value.code == "INVALID_BAD_DPD"
    off = book_many(book, WriteOff("t_wo", DUE + timedelta(days=41), 0))
    assert written_off_on(_history(off), DUE + timedelta(days=50)) == DUE + timedelta(days=41)
    assert written_off_on(_history(off), DUE + timedelta(days=40)) is None
    perf = contract_performance(
        "ln_x", date(2026, 1, 1), _history(off), bad_dpd=30, through=DUE + timedelta(days=50)
    )
    assert perf == ContractPerformance(
        "ln_x", date(2026, 1, 1), DUE + timedelta(days=30), DUE + timedelta(days=41)
    )
    assert worst_days_past_due([], DUE) == 0


# --- the outcome ------------------------------------------------------------------------------------

DECIDED = date(2026, 1, 10)  # default window: 6 months → ends 2026-07-10 (inclusive)
END = date(2026, 7, 10)


def _outcome(
    as_of: date, *contracts: ContractPerformance, approved: bool = True, **kw: int
) -> tuple[object, ...]:
    p = performance_outcome(
        approved=approved,
        decided_on=DECIDED,
        as_of=as_of,
        contracts=contracts,
        definition=PerformanceDefinition(**kw),
    )
    return p.outcome, p.matured, p.reason, p.window_end


def test_declined_applications_have_no_outcome() -> None:
    assert _outcome(date(2027, 1, 1), approved=False) == (None, False, "declined", None)


def test_bad_as_soon_as_a_contract_is_30_days_late_even_before_the_window_ends() -> None:
    bad = ContractPerformance("ln_1", DECIDED, bad_dpd_on=date(2026, 5, 1))
    clean = ContractPerformance("ln_2", DECIDED)
    assert _outcome(date(2026, 5, 15), clean, bad) == (BAD, True, "bad_dpd", END)
    # as known on 04-30 it had not happened yet
    assert _outcome(date(2026, 4, 30), clean, bad) == (None, False, "window_open", END)


def test_written_off_in_the_window_is_bad() -> None:
    off = ContractPerformance("ln_1", DECIDED, written_off_on=date(2026, 6, 1))
    assert _outcome(date(2026, 8, 1), off) == (BAD, True, "written_off", END)
    both = ContractPerformance("ln_1", DECIDED, bad_dpd_on=date(2026, 3, 1), written_off_on=date(2026, 6, 1))
    assert _outcome(date(2026, 8, 1), both)[2] == "bad_dpd"  # the earlier event names the reason


def test_good_once_the_window_has_fully_elapsed_without_a_bad_event() -> None:
    clean = ContractPerformance("ln_1", date(2026, 2, 1))
    assert _outcome(END - timedelta(days=1), clean) == (None, False, "window_open", END)
    assert _outcome(END, clean) == (GOOD, True, "good", END)
    late_after_window = ContractPerformance("ln_1", date(2026, 2, 1), bad_dpd_on=END + timedelta(days=1))
    assert _outcome(date(2027, 1, 1), late_after_window) == (GOOD, True, "good", END)
    on_the_last_day = ContractPerformance("ln_1", date(2026, 2, 1), bad_dpd_on=END)
    assert _outcome(date(2027, 1, 1), on_the_last_day)[0] == BAD


def test_a_line_never_drawn_in_the_window_has_no_outcome() -> None:
    assert _outcome(date(2027, 1, 1)) == (None, False, "not_drawn", END)
    cancelled = ContractPerformance("ln_1", None)
    assert _outcome(date(2027, 1, 1), cancelled) == (None, False, "not_drawn", END)
    drawn_later = ContractPerformance("ln_1", END + timedelta(days=1), bad_dpd_on=END + timedelta(days=40))
    assert _outcome(date(2027, 1, 1), drawn_later) == (None, False, "not_drawn", END)


def test_the_window_and_threshold_are_configurable() -> None:
    clean = ContractPerformance("ln_1", DECIDED)
    assert _outcome(date(2026, 4, 10), clean, window_months=3) == (GOOD, True, "good", date(2026, 4, 10))
    assert PerformanceDefinition().window_end(date(2026, 8, 31)) == date(2027, 2, 28)
    with pytest.raises(ValidationError) as err:
        PerformanceDefinition(window_months=0)
    assert err.value.code == "INVALID_PERFORMANCE_WINDOW"
    with pytest.raises(ValidationError) as err:
        PerformanceDefinition(bad_dpd=0)
    assert err.value.code == "INVALID_BAD_DPD"
