"""Value dating of money in flight (pure): a repayment the customer started is honoured while the
channel has not answered.

A repayment recorded but not final (payment ``created`` / ``processing``) is :class:`InFlight`: this
contract's share of it and the day the customer started it (its value date). The rule, for any close
that goes through the fold:

* **while it is in flight** the contract is judged *as if it had been paid on its value date*: its
  DPD, bucket and classification are those of :func:`as_if_paid` (the contract's transactions with a
  repayment of the share inserted at the value date, accrued to the day), and the daily accrual holds
  the penalty (:class:`~lendcore.core.loan.PenaltyAccrual` with ``covered_by_payment``: interest
  accrues, penalty waits). Nobody is made overdue, or charged, for money we have not finished taking;
* **if it succeeds** it is booked at its value date (the book replays the days since): the contract is
  exactly as if the customer had paid instantly that day;
* **if it finally fails** nothing is booked and the next accrual without cover brings penalty up to
  date from where the due date says: the contract is exactly as if the payment had never been made
  (penalty for the days in flight is due, unless a lender-fault window covers them: the close then
  waives it, :mod:`lendcore.core.faults`).

Both halves are properties of the fold (``tests/core/test_in_flight.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from lendcore.core.accrual import accrue
from lendcore.core.contract import LoanState, LoanTerms, Status
from lendcore.core.errors import LendcoreError
from lendcore.core.loan import effective_transactions, replay
from lendcore.core.money import Fen
from lendcore.core.transactions import Repayment, Transaction

__all__ = ["InFlight", "as_if_paid", "covered_amount"]


@dataclass(frozen=True, slots=True)
class InFlight:
    """One contract's share of a repayment not yet final, value-dated the day it was started."""

    payment_id: str
    amount: Fen
    value_date: date


def covered_amount(in_flight: Iterable[InFlight], on: date) -> Fen:
    """The money in flight that counts on ``on``: the shares value-dated on or before it."""
    return sum(p.amount for p in in_flight if p.value_date <= on and p.amount > 0)


def as_if_paid(
    terms: LoanTerms, txns: Sequence[Transaction], in_flight: Iterable[InFlight], on: date
) -> LoanState | None:
    """The contract's state at the close of ``on`` had every share in flight (value-dated by ``on``)
    been paid on its value date; ``None`` when there is nothing in flight or the contract could not take
    the repayment (written off: the money in flight is then a recovery, judged when it arrives)."""
    counted = sorted((p for p in in_flight if p.value_date <= on and p.amount > 0), key=_order)
    if not counted:
        return None
    kept = effective_transactions(txns)
    top = max((t.seq for t in kept), default=0)
    # after every stored transaction of the same value date: the order of an accrual and a repayment
    # of one date does not change the state (both accrue to the date first)
    paid = [
        Repayment(f"in-flight:{p.payment_id}", p.value_date, top + i, p.amount)
        for i, p in enumerate(counted, start=1)
    ]
    try:
        state = replay(terms, [*kept, *paid])
    except LendcoreError:
        return None
    if state.status is not Status.ACTIVE:
        return state
    return accrue(state, on)[0]


def _order(p: InFlight) -> tuple[date, str]:
    return p.value_date, p.payment_id
