"""Bureau (征信) status: month statuses, the 24-month string, the class, and the report reasons, all
from the replayed history of a contract (never a stored DPD)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.book import LoanBook
from lendcore.core.bureau_status import (
    ReportReason,
    day_events,
    dispute_answer_due,
    event_report_date,
    month_end_record,
    month_status,
    negative_record_allowed,
    status_string,
)
from lendcore.core.contract import LoanState
from lendcore.core.delinquency import LoanClass
from lendcore.core.errors import ValidationError
from lendcore.core.loan import PenaltyAccrual, Repayment, WriteOff
from tests.core.loan_factory import book_many, disbursed, installment_terms, revolving_terms

# installment_terms(): ¥12,000 over 12 months from 2026-01-15, due the 15th from 2026-02-15
START = date(2026, 1, 15)


def _history(book: LoanBook) -> list[tuple[date, LoanState]]:
    return [(a.txn.value_date, a.state) for a in book.applied]


def _close(book: LoanBook, day: date) -> LoanBook:
    """The daily close's accrual of ``day``."""
    return book_many(book, PenaltyAccrual(f"t_close_{day.isoformat()}", day, 0))


def _pay_row(book: LoanBook, period: int, on: date, txn_id: str) -> LoanBook:
    """Pay what row ``period`` owes on ``on`` (accrued to that day first)."""
    book = _close(book, on)
    owed = book.state.rows[period - 1].outstanding
    return book_many(book, Repayment(txn_id, on, 0, owed))


def _closes(book: LoanBook, first: date, last: date) -> LoanBook:
    for i in range((last - first).days + 1):
        book = _close(book, first + timedelta(days=i))
    return book


def _paid_on_time(months: int) -> LoanBook:
    book = disbursed(installment_terms())
    for period in range(1, months + 1):
        due = book.terms.schedule[period - 1].due_date
        book = _pay_row(book, period, due, f"t_pay{period}")
    return book


def test_24_month_string_with_a_late_month_and_a_value_dated_late_confirmation() -> None:
    """Opened 2026-01-15. Feb and Mar paid on the due day (N). The 04-15 installment is paid 05-20:
    April ends 15 days past due (1), May ends current (N). The 06-15 payment was started 06-14 but the
    channel confirmed it only on 07-05: the closes of 06-16 … 07-04 saw it overdue, yet once the
    confirmation is booked value-dated 06-14 the replay reports June as N. Months before opening are
    '/'; the report month is the last character."""
    book = _paid_on_time(2)
    book = _closes(book, date(2026, 4, 15), date(2026, 5, 19))
    book = _pay_row(book, 3, date(2026, 5, 20), "t_pay3_late")
    book = _pay_row(book, 4, date(2026, 5, 15) + timedelta(days=6), "t_pay4")
    book = _closes(book, date(2026, 6, 15), date(2026, 7, 4))
    before_confirmation = status_string(_history(book), date(2026, 6, 1))
    assert before_confirmation[-1] == "1"  # June seen from the closes alone: 06-15 unpaid at 06-30
    owed = book.state.rows[4].outstanding
    book, _ = book.book(Repayment("t_pay5", date(2026, 6, 14), 0, owed))
    history = _history(book)
    expected = "/" * 18 + "*NN1NN"  # 2024-07 … 2025-12 not opened; Jan 2026 opened, nothing due
    assert status_string(history, date(2026, 6, 1)) == expected
    assert len(expected) == 24
    assert month_status(history, date(2026, 6, 30)) == "N"


def test_status_digit_follows_the_dpd_band_at_month_end() -> None:
    """Unpaid from the 02-15 installment on: Feb ends 13 DPD (1), Mar 44 (2), Apr 74 (3) … and over 180
    days past due is 7, written off or not."""
    book = _closes(disbursed(installment_terms()), date(2026, 2, 15), date(2026, 9, 30))
    history = _history(book)
    assert status_string(history, date(2026, 9, 1), months=9) == "*12345677"
    off = book_many(book, WriteOff("t_wo", date(2026, 10, 1), 0))
    assert month_status(_history(off), date(2026, 12, 1)) == "7"


def test_settled_month_is_c_and_is_the_last_month_end_record() -> None:
    """A quick loan paid in full on 02-10: February's record says C with reason 32; March has none."""
    book = _close(disbursed(revolving_terms()), date(2026, 2, 10))
    book = book_many(book, Repayment("t_pay", date(2026, 2, 10), 0, book.state.total_outstanding))
    history = _history(book)
    feb = month_end_record(history, date(2026, 2, 1))
    assert feb is not None
    assert (feb.status, feb.reason, feb.principal_outstanding) == ("C", ReportReason.MONTH_END_CLOSE, 0)
    jan = month_end_record(history, date(2026, 1, 1))
    assert jan is not None and (jan.status, jan.reason) == ("*", ReportReason.MONTHLY_SETTLEMENT)
    assert month_end_record(history, date(2026, 3, 1)) is None
    assert month_end_record(history, date(2025, 12, 1)) is None  # not opened
    assert day_events(history, date(2026, 1, 1)) == (ReportReason.OPENED,)
    assert day_events(history, date(2026, 2, 10)) == (ReportReason.CLOSED,)
    assert day_events(history, date(2026, 2, 11)) == ()


def test_month_end_record_class_and_overdue_amount_from_the_replay() -> None:
    book = _closes(disbursed(installment_terms()), date(2026, 2, 15), date(2026, 5, 31))
    may = month_end_record(_history(book), date(2026, 5, 1))
    assert may is not None
    assert (may.dpd, may.status, may.loan_class) == (105, "4", LoanClass.SUBSTANDARD)
    assert may.overdue_amount == sum(r.outstanding for r in book.state.rows[:4])
    assert may.status_string.endswith("*1234")


def test_overdue_recovered_is_an_event_of_the_day_the_overdue_amount_falls() -> None:
    book = _closes(disbursed(installment_terms()), date(2026, 2, 15), date(2026, 2, 20))
    book = _pay_row(book, 1, date(2026, 2, 21), "t_late")
    assert day_events(_history(book), date(2026, 2, 21)) == (ReportReason.OVERDUE_RECOVERED,)
    assert day_events(_history(book), date(2026, 2, 20)) == ()


def test_history_not_held_before_known_from_is_unknown() -> None:
    history = _history(_paid_on_time(3))
    assert status_string(history, date(2026, 4, 1), months=4, known_from=date(2026, 3, 1)) == "##NN"


def test_status_string_length_is_bounded() -> None:
    with pytest.raises(ValidationError) as err:
        status_string([], date(2026, 1, 1), months=0)
    assert err.value.code == "INVALID_STATUS_MONTHS"


def test_events_are_reported_the_next_business_day() -> None:
    assert event_report_date(date(2026, 3, 2)) == date(2026, 3, 3)  # Monday → Tuesday
    assert event_report_date(date(2026, 3, 6)) == date(2026, 3, 9)  # Friday → Monday


def test_first_negative_record_needs_a_notice_sent_before_the_batch() -> None:
    """征信业管理条例 Art. 15: told first, then reported."""
    on = date(2026, 3, 3)
    assert not negative_record_allowed("1", reported_negative_before=False, notified_on=None, on=on)
    assert not negative_record_allowed("1", reported_negative_before=False, notified_on=on, on=on)
    assert negative_record_allowed("1", reported_negative_before=False, notified_on=date(2026, 3, 2), on=on)
    assert negative_record_allowed("2", reported_negative_before=True, notified_on=None, on=on)
    assert negative_record_allowed("N", reported_negative_before=False, notified_on=None, on=on)


def test_a_dispute_is_answered_within_20_days() -> None:
    assert dispute_answer_due(date(2026, 3, 1)) == date(2026, 3, 21)


@given(st.integers(min_value=0, max_value=29))
def test_a_payment_value_dated_on_the_due_day_is_never_negative_however_late_it_is_booked(lag: int) -> None:
    """Invariant 6 for the bureau: the February installment's payment, value-dated 02-15 and booked
    ``lag`` days later (after that many closes), leaves February N."""
    book = disbursed(installment_terms())
    book = _closes(book, date(2026, 2, 15), date(2026, 2, 15) + timedelta(days=lag))
    owed = _close(disbursed(installment_terms()), date(2026, 2, 15)).state.rows[0].outstanding
    book, _ = book.book(Repayment("t_pay", date(2026, 2, 15), 0, owed))
    assert month_status(_history(book), date(2026, 2, 1)) == "N"
