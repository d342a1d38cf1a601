"""How a contract stands on a day (pure): its DPD, bucket and classification once money in flight and
lender faults are honoured. The daily close stores this; nothing else judges a contract differently.

* **Money in flight** (:mod:`lendcore.core.in_flight`): the contract is judged on the state it would be
  in had the repayments in flight been paid on their value dates (``as_if``).
* **Lender-fault windows** (:mod:`lendcore.core.faults`): overdue status that *began inside* a window
  covering the day is suppressed: a row whose first overdue day (due date + 1) falls on or after the
  window's start is not counted as overdue while the window lasts, so DPD, bucket and classification
  show what they would have without our fault. Lateness that began before the window (the customer's
  own) keeps counting. When the window has ended, the rows count from their due dates again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import (
    DEFAULT_THRESHOLDS,
    ClassificationThresholds,
    Delinquency,
    bucket,
    classify,
    write_off_eligible,
)
from lendcore.core.faults import FaultWindow

__all__ = ["Standing", "negative_status_suppressed", "stand", "suppressed_by"]

_ONE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Standing:
    """The judgement and why it differs from the contract's own rows (for the report and the audit)."""

    delinquency: Delinquency
    raw_dpd: int  # the DPD of the contract's own rows, nothing honoured
    in_flight: bool  # judged as if the money in flight had been paid
    window: FaultWindow | None  # the fault window that suppressed overdue status, if one did


def _dpd(state: LoanState, on: date) -> tuple[int, date | None]:
    if state.status not in (Status.ACTIVE, Status.WRITTEN_OFF):
        return 0, None
    row = state.oldest_overdue_row(on)
    return (0, None) if row is None else ((on - row.due_date).days, row.due_date)


def suppressed_by(window: FaultWindow | None, overdue_since_due: date | None) -> bool:
    """Whether ``window`` suppresses the overdue status of a row due on ``overdue_since_due``: its first
    overdue day is inside the window (on or after its start)."""
    return (
        window is not None and overdue_since_due is not None and overdue_since_due + _ONE >= window.starts_on
    )


def stand(
    state: LoanState,
    on: date,
    *,
    as_if: LoanState | None = None,
    window: FaultWindow | None = None,
    thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS,
    write_off_after_days: int = 180,
) -> Standing:
    """The contract's standing at the close of ``on`` (module docstring). ``window`` is the fault window
    covering ``on`` for this contract (:func:`~lendcore.core.faults.in_lender_fault`), if any."""
    raw, _ = _dpd(state, on)
    dpd, since = _dpd(as_if if as_if is not None else state, on)
    used = window if suppressed_by(window, since) else None
    if used is not None:
        dpd = 0
    return Standing(
        Delinquency(
            dpd, bucket(dpd), classify(dpd, thresholds), write_off_eligible(dpd, write_off_after_days)
        ),
        raw,
        as_if is not None,
        used,
    )


def negative_status_suppressed(
    state: LoanState, on: date, *, window: FaultWindow | None = None, money_in_flight: bool = False
) -> bool:
    """Whether a negative bureau status of the contract at the close of ``on`` is not the customer's to
    carry: money of theirs was in flight that day (the record waits for the payment to be final; the
    next month's record tells what it became), or the overdue began inside ``window`` (the fault window
    covering ``on`` for this contract)."""
    if state.status not in (Status.ACTIVE, Status.WRITTEN_OFF):
        return False
    row = state.oldest_overdue_row(on)
    if row is None:
        return False
    return money_in_flight or suppressed_by(window, row.due_date)
