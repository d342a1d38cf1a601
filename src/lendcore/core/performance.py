"""Credit performance: the worst delinquency in a contract's booked history, and the outcome
(bad / good / not matured) of an approved application, for scorecard monitoring. Pure: no clock, no
database.

A contract's *history* is the sequence ``(value date, state after the transaction)`` of its applied
transactions in booking order (:attr:`lendcore.core.loan.LoanBook.applied`). Between two value dates
the state does not change, and on a fixed state the DPD grows by one a day once the oldest unpaid row
is past due, so the DPD at the close of every day is known from the history alone: on day ``x`` it is
``days_past_due(state in force at the end of x, x)``. Transactions value-dated the same day count as
one close (the last state of the day). A payment value-dated on or before a due date therefore never
shows as late, however late it was booked (invariant 6): after the backdated booking the replayed
history holds no overdue day.

States are used as booked: the daily close books an accrual for every active contract every day, so
each state is accrued to its day. Between bookings a row whose only amount is interest not yet
accrued (a zero-principal row) is not seen as owed, as in :func:`lendcore.core.delinquency.assess`.

Performance definition (:class:`PerformanceDefinition`, defaults 6 months / 30 DPD): an approved
application's credit line is **bad** if any contract on it was ``bad_dpd`` or more days past due, or
was written off, on or before the window end (decision date + ``window_months``); **good** if the window
has fully elapsed (``as_of`` ≥ window end) without that and at least one contract was drawn in it;
otherwise it has no outcome yet (not matured). Declined applications have no outcome: what they would
have done is unobserved, and reject inference is out of scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from lendcore.core.calendar import add_months
from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import days_past_due
from lendcore.core.errors import ValidationError

#: ``(value date, state after the transaction)`` per applied transaction, in booking order.
History = Sequence[tuple[date, LoanState]]

BAD: Final = "bad"
GOOD: Final = "good"

#: Why a record has (or has not) an outcome.
REASON_DECLINED: Final = "declined"
REASON_BAD_DPD: Final = "bad_dpd"
REASON_WRITTEN_OFF: Final = "written_off"
REASON_GOOD: Final = "good"
REASON_WINDOW_OPEN: Final = "window_open"
REASON_NOT_DRAWN: Final = "not_drawn"

_ONE_DAY = timedelta(days=1)


def _closes(history: History, through: date) -> Iterator[tuple[LoanState, date, date]]:
    """``(state, first day, last day)``: the days up to ``through`` whose close saw ``state``."""
    n = len(history)
    for i, (start, state) in enumerate(history):
        if start > through:
            return
        end = through if i + 1 == n else min(history[i + 1][0] - _ONE_DAY, through)
        if end >= start:
            yield state, start, end


def worst_days_past_due(history: History, through: date) -> int:
    """The highest DPD at the close of any day from the first transaction to ``through``."""
    return max((days_past_due(state, end) for state, _, end in _closes(history, through)), default=0)


def first_day_past_due_at_least(history: History, dpd: int, through: date) -> date | None:
    """The first day (up to ``through``) whose close saw the contract ``dpd`` or more days past due."""
    if dpd < 1:
        raise ValidationError(f"days past due must be at least 1, got {dpd}", code="INVALID_BAD_DPD")
    for state, start, end in _closes(history, through):
        worst = days_past_due(state, end)
        if worst >= dpd:  # DPD rises by one a day on a fixed state: it reached ``dpd`` this many days ago
            return max(start, end - timedelta(days=worst - dpd))
    return None


def written_off_on(history: History, through: date) -> date | None:
    """Value date of the write-off, if the contract was written off on or before ``through``."""
    for value_date, state in history:
        if value_date > through:
            return None
        if state.status is Status.WRITTEN_OFF:
            return value_date
    return None


@dataclass(frozen=True, slots=True)
class PerformanceDefinition:
    """Bad = ``bad_dpd``+ days past due (ever, in the window) or written off; window in calendar months."""

    window_months: int = 6
    bad_dpd: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.window_months <= 120:
            raise ValidationError(
                f"performance window must be 1..120 months, got {self.window_months}",
                code="INVALID_PERFORMANCE_WINDOW",
            )
        if not 1 <= self.bad_dpd <= 3650:
            raise ValidationError(
                f"bad DPD threshold must be 1..3650 days, got {self.bad_dpd}", code="INVALID_BAD_DPD"
            )

    def window_end(self, decided_on: date) -> date:
        """Last day of the window (inclusive): the decision date moved by ``window_months``."""
        return add_months(decided_on, self.window_months)


@dataclass(frozen=True, slots=True)
class ContractPerformance:
    """What the definition needs of one contract on the line."""

    contract_id: str
    drawn_on: date | None  # disbursement date; None if never disbursed (pending, cancelled)
    bad_dpd_on: date | None = None  # first day at the bad DPD threshold or worse; None if never
    written_off_on: date | None = None


def contract_performance(
    contract_id: str, drawn_on: date | None, history: History, *, bad_dpd: int, through: date
) -> ContractPerformance:
    """A contract's performance from its booked history, up to ``through``."""
    return ContractPerformance(
        contract_id,
        drawn_on,
        first_day_past_due_at_least(history, bad_dpd, through),
        written_off_on(history, through),
    )


@dataclass(frozen=True, slots=True)
class Performance:
    outcome: str | None  # BAD, GOOD, or None (no outcome: declined or not matured)
    matured: bool
    reason: str  # one of the REASON_* codes
    window_end: date | None  # None for declines


def performance_outcome(
    *,
    approved: bool,
    decided_on: date,
    as_of: date,
    contracts: Sequence[ContractPerformance],
    definition: PerformanceDefinition = PerformanceDefinition(),
) -> Performance:
    """The outcome of one application as known on ``as_of`` (see the module docstring)."""
    if not approved:
        return Performance(None, False, REASON_DECLINED, None)
    end = definition.window_end(decided_on)
    horizon = min(end, as_of)
    in_window = [c for c in contracts if c.drawn_on is not None and c.drawn_on <= horizon]
    events: list[tuple[date, int, str]] = []
    for c in in_window:
        if c.bad_dpd_on is not None and c.bad_dpd_on <= horizon:
            events.append((c.bad_dpd_on, 0, REASON_BAD_DPD))
        if c.written_off_on is not None and c.written_off_on <= horizon:
            events.append((c.written_off_on, 1, REASON_WRITTEN_OFF))
    if events:
        return Performance(BAD, True, min(events)[2], end)
    if as_of < end:
        return Performance(None, False, REASON_WINDOW_OPEN, end)
    if not in_window:
        return Performance(None, False, REASON_NOT_DRAWN, end)
    return Performance(GOOD, True, REASON_GOOD, end)
