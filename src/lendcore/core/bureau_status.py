"""Credit-bureau (征信) status of a contract, derived from its replayed history. Pure: no clock, no DB.

Everything here is computed from a contract's *history* (:data:`lendcore.core.performance.History`:
``(value date, state after the transaction)`` per applied transaction, in booking order, as
:attr:`lendcore.core.book.LoanBook.applied` gives it), never from a stored DPD column. A payment
booked late but value-dated on time is therefore reported as on time once the book has replayed
(invariant 6), and the same history always yields the same record.

Monthly repayment status (当月还款状态) of a month, judged at the close of its last day:

====  ===================================================================================
``/``  not opened yet (no disbursement on or before the month end; PBoC "未开立")
``#``  opened, but the month lies before ``known_from`` (history not held, e.g. migrated)
``C``  settled (结清): nothing owed at the month end, the contract closed
``1``…``7``  days past due at the month end, by 30-day band (1–30 → 1, …, over 180 → 7)
``N``  not overdue and an installment fell due in the month (正常还款)
``*``  not overdue and nothing fell due in the month (当月不需要还款)
====  ===================================================================================

A written-off contract keeps its rows as they were, so it keeps ageing (7 once over 180 days).
The 24-month string (24 个月还款状态) runs oldest month first, the report month last.

Report reasons (报告时点说明代码): ``10`` opened (the disbursement day), ``20`` closed (the day the
contract became settled), ``40`` overdue recovered (a day whose close saw less owed past due than
the close before), reported the business day after; ``50`` restructured (a hardship plan the customer
accepted, reported the business day after the acceptance); ``30`` monthly settlement (a month-end record of
a contract open at the month end) and ``32`` month-end close (the month-end record of the month the
contract closed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from lendcore.core.calendar import add_months, is_business_day, month_end
from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import (
    DEFAULT_THRESHOLDS,
    ClassificationThresholds,
    LoanClass,
    bucket,
    classify,
    days_past_due,
)
from lendcore.core.errors import ValidationError
from lendcore.core.money import Fen
from lendcore.core.performance import History

NOT_OPENED: Final = "/"
UNKNOWN: Final = "#"
SETTLED: Final = "C"
CURRENT: Final = "N"
NOTHING_DUE: Final = "*"
NEGATIVE_STATUSES: Final = frozenset("1234567")

STATUS_MONTHS: Final = 24
_ONE_DAY: Final = timedelta(days=1)


class ReportReason(StrEnum):
    """Why a record is reported (报告时点说明代码)."""

    OPENED = "10"
    CLOSED = "20"
    MONTHLY_SETTLEMENT = "30"
    MONTH_END_CLOSE = "32"
    OVERDUE_RECOVERED = "40"
    #: a hardship plan accepted (特定交易: 展期 / 重新分期); lendcore's code (bureau/fields.toml)
    RESTRUCTURED = "50"


def state_at_close(history: History, day: date) -> LoanState | None:
    """The state in force at the close of ``day``: the last one value-dated on or before it."""
    found: LoanState | None = None
    for value_date, state in history:
        if value_date <= day:
            found = state
    return found


def _month_start(any_day: date) -> date:
    return any_day.replace(day=1)


def month_status(history: History, month: date, *, known_from: date | None = None) -> str:
    """The repayment status of the month containing ``month`` (see the module table)."""
    last = month_end(month)
    state = state_at_close(history, last)
    if state is None or state.status is Status.PENDING:
        return NOT_OPENED
    if known_from is not None and last < known_from:
        return UNKNOWN
    if state.status is Status.CLOSED:
        return SETTLED
    dpd = days_past_due(state, last)
    if dpd > 0:
        return bucket(dpd).bureau_digit
    first = _month_start(month)
    return CURRENT if any(first <= r.due_date <= last for r in state.rows) else NOTHING_DUE


def status_string(
    history: History, report_month: date, *, months: int = STATUS_MONTHS, known_from: date | None = None
) -> str:
    """The ``months``-month status string ending with ``report_month`` (oldest first)."""
    if not 1 <= months <= 60:
        raise ValidationError(
            f"status string length must be 1..60, got {months}", code="INVALID_STATUS_MONTHS"
        )
    first = add_months(_month_start(report_month), -(months - 1))
    return "".join(month_status(history, add_months(first, i), known_from=known_from) for i in range(months))


def overdue_amount(state: LoanState, on: date) -> Fen:
    """What is owed (all components) on rows past due at the close of ``on``."""
    return sum(r.outstanding for r in state.rows if r.is_overdue_on(on))


def is_negative(status: str) -> bool:
    """A status that is negative information (不良信息: any overdue digit)."""
    return status in NEGATIVE_STATUSES


@dataclass(frozen=True, slots=True)
class MonthEnd:
    """What a month-end record (月度表现) says about a contract."""

    month_end: date
    status: str
    status_string: str
    dpd: int
    loan_class: LoanClass
    principal_outstanding: Fen
    overdue_amount: Fen
    reason: ReportReason


def month_end_record(
    history: History,
    month: date,
    *,
    thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS,
    known_from: date | None = None,
) -> MonthEnd | None:
    """The month-end record of the month containing ``month``; None when nothing is to be reported
    (not opened yet, or closed in an earlier month)."""
    last = month_end(month)
    state = state_at_close(history, last)
    if state is None or state.status is Status.PENDING:
        return None
    if state.status is Status.CLOSED:
        closed = closed_on(history)
        if closed is None or closed < _month_start(month):
            return None
    dpd = days_past_due(state, last)
    reason = (
        ReportReason.MONTH_END_CLOSE if state.status is Status.CLOSED else ReportReason.MONTHLY_SETTLEMENT
    )
    return MonthEnd(
        last,
        month_status(history, month, known_from=known_from),
        status_string(history, month, known_from=known_from),
        dpd,
        classify(dpd, thresholds),
        state.principal_outstanding,
        overdue_amount(state, last),
        reason,
    )


def closed_on(history: History) -> date | None:
    """The value date from which the contract stayed closed (None while it is not closed)."""
    since: date | None = None
    for value_date, state in history:
        if state.status is not Status.CLOSED:
            since = None
        elif since is None:
            since = value_date
    return since


def day_events(history: History, day: date) -> tuple[ReportReason, ...]:
    """The event reasons (10, 20, 40) that happened on ``day``, by the close of the day before and
    the close of ``day``."""
    before = state_at_close(history, day - _ONE_DAY)
    after = state_at_close(history, day)
    if after is None:
        return ()
    events: list[ReportReason] = []
    was_open = before is not None and before.status is not Status.PENDING
    if not was_open and after.status is not Status.PENDING:
        events.append(ReportReason.OPENED)
    if before is not None and before.status is not Status.CLOSED and after.status is Status.CLOSED:
        events.append(ReportReason.CLOSED)
    if before is not None and was_open:
        owed_before = overdue_amount(before, day - _ONE_DAY)
        if owed_before > 0 and overdue_amount(after, day) < owed_before:
            events.append(ReportReason.OVERDUE_RECOVERED)
    return tuple(events)


def event_report_date(event_day: date) -> date:
    """An event is reported on the first business day (工作日, 调休 included) after it happened."""
    day = event_day + _ONE_DAY
    while not is_business_day(day):
        day += _ONE_DAY
    return day


def negative_record_allowed(
    status: str, *, reported_negative_before: bool, notified_on: date | None, on: date
) -> bool:
    """征信业管理条例 Art. 15: the customer is told before a first negative record is reported.
    A first negative record may go into the batch of ``on`` only if the notice went out before it."""
    if not is_negative(status) or reported_negative_before:
        return True
    return notified_on is not None and notified_on < on


DISPUTE_ANSWER_DAYS: Final = 20


def dispute_answer_due(opened_on: date, days: int = DISPUTE_ANSWER_DAYS) -> date:
    """A dispute (异议) is answered within 20 days of being opened (the due date is inclusive)."""
    return opened_on + timedelta(days=days)
