"""A quiet overdue contract's penalty and DPD, from its columns, equal the fold's (core.quiet_overdue).

On every intermediate state of random histories (late, partial and backdated payments, penalty
accruals, fees, waivers, reversals, write-offs; penalty on interest or not, 0–3 grace days) whose
quiet columns say it is overdue and quiet, accruing the state to every date of its run with the
fold (:func:`lendcore.core.accrual.accrue`) books exactly the penalty :func:`cumulative_penalty`
derives from the columns (and the interest :func:`cumulative_interest` derives), changes no row in
any other way, and leaves a DPD of ``date − since`` with the bucket and class of the snapshot's date.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.book import LoanBook
from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import bucket, classify, days_past_due
from lendcore.core.quiet import cumulative_interest, quiet_columns
from lendcore.core.quiet_overdue import cumulative_penalty, decode, encode
from lendcore.core.transactions import PenaltyAccrual, WaiverKind
from tests.core.test_fold_reference import _states
from tests.core.test_loan import _OPS, _contract

_UNCHANGED = (
    "period", "start_date", "due_date", "principal", "principal_paid", "interest_paid", "interest_waived",
    "fee_charged", "fee_paid", "fee_waived", "penalty_paid", "penalty_waived", "settled_on",
)  # fmt: skip


def _run_dates(state: LoanState, until: date) -> list[date]:
    """Every date of the run (capped: the end of a long run and a sample of its middle)."""
    t0 = state.accrued_through
    days = (until - t0).days
    picked = set(range(1, min(days, 40) + 1)) | {days, max(1, days - 1), max(1, days // 2)}
    return [t0 + timedelta(days=d) for d in sorted(picked) if 1 <= d <= days]


def _check(state: LoanState) -> bool:
    quiet = quiet_columns(state)
    if quiet is None or quiet.overdue is None:
        return False
    overdue = quiet.overdue
    rate, rows = decode(encode(overdue))  # what the database holds
    assert (rate, rows) == (overdue.rate, overdue.rows)
    t0 = state.accrued_through
    standing = (bucket((t0 - overdue.since).days), classify((t0 - overdue.since).days))
    penalty0 = sum(r.penalty_accrued for r in state.rows)
    interest0 = sum(r.interest_accrued for r in state.rows)
    for x in _run_dates(state, quiet.quiet_until):  # the close of x accrues to x (exclusive)
        after, _ = accrue(state, x)
        assert sum(r.penalty_accrued for r in after.rows) - penalty0 == cumulative_penalty(rate, rows, t0, x)
        assert sum(r.interest_accrued for r in after.rows) - interest0 == cumulative_interest(
            quiet.basis, quiet.daily_rate, quiet.exact, quiet.booked, t0, x
        )
        for old, new in zip(state.rows, after.rows, strict=True):
            assert [getattr(old, f) for f in _UNCHANGED] == [getattr(new, f) for f in _UNCHANGED]
        dpd = days_past_due(after, x)
        assert dpd == (x - overdue.since).days
        assert (bucket(dpd), classify(dpd)) == standing
    return True


@given(_contract(), _OPS)
def test_penalty_and_dpd_from_the_columns_equal_the_fold_on_random_histories(
    book: LoanBook, ops: list[tuple[str, int, int, WaiverKind]]
) -> None:
    checked = sum(_check(state) for state in _states(book, ops))
    event(f"quiet overdue states: {min(checked, 3)}+")


@given(_contract(), st.integers(1, 400), st.integers(0, 240))
def test_a_contract_left_unpaid_is_quiet_between_its_events(book: LoanBook, step: int, start: int) -> None:
    """Nothing paid: accrued nightly, then every ``step`` days, from ``start``: every overdue state
    whose columns call it quiet agrees with the fold over its whole run, across bucket boundaries."""
    on = book.terms.start_date + timedelta(days=start)
    seq = len(book.applied)
    quiet_overdue = 0
    for _ in range(12):
        seq += 1
        book, _ = book.book(PenaltyAccrual(f"p{seq}", on, seq))
        if book.state.status is not Status.ACTIVE:
            break
        quiet_overdue += _check(book.state)
        on += timedelta(days=step)
    event(f"quiet overdue states: {min(quiet_overdue, 3)}+")
