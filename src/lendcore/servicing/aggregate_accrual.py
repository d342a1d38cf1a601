"""What the general ledger holds in aggregate for a contract, and moving it onto the contract.

The daily close accrues quiet contracts in aggregate (:mod:`lendcore.batch.close_sql`): per product
and date, Dr 1132.91 (interest accrued in aggregate) / Cr 6011.01 (interest income), with no
transaction, entry or posting per contract. Which days of a contract the aggregate holds is derivable:

* ``aggregated_from`` (a column, written once when a run of quiet days starts) says the aggregate
  covers the contract from its snapshot's ``accrued_through``;
* the run lasts until the last date whose close has accrued the contract's id range
  (``close_ranges``): the latest date with any range, if it covered this id, else the date before
  (:func:`covered_until`), and at most until its ``quiet_until``. A contract stays quiet every day of
  the run: any event on it is a booking, which ends the run; past ``quiet_until`` it is not quiet,
  and that date's close folds it, which ends the run too. Closes run one date after the other, each
  over every range.

So its share is ``cumulative_interest(columns, accrued_through → covered_until)``
(:func:`aggregated_interest`, :mod:`lendcore.core.quiet`). When its next transaction is folded, the
fold's own catch-up accrual books the whole interest since ``accrued_through`` on the contract (Dr
1132.01 / Cr 6011.01), that share included; booking therefore also posts the share back
(:func:`transfer_entry`: Dr 6011.01 / Cr 1132.91, on the contract) and clears ``aggregated_from``:
the income is recognised once, and the receivable has moved from the aggregate account to the
contract. The invariant (checked by :func:`lendcore.servicing.invariants.check_invariants`), per
product::

    balance of 1132.91 = Σ over the product's contracts of aggregated_interest(contract)

An overdue contract in a run (:mod:`lendcore.core.quiet_overdue`) has its penalty accrued in aggregate
the same way: Dr 1132.92 / Cr 6011.02 per product and date, its share
:func:`aggregated_penalty` (same days as its interest), moved back by :func:`transfer_entry` (Dr 6011.02
/ Cr 1132.92) when its next transaction is folded; invariant 6 checks 1132.92 as it checks 1132.91.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core import ledger
from lendcore.core.accrual import accrue
from lendcore.core.contract import LoanState
from lendcore.core.ledger import Account, Posting, Side
from lendcore.core.money import Fen
from lendcore.core.quiet import cumulative_interest
from lendcore.core.quiet_overdue import cumulative_penalty, decode
from lendcore.store.models_close import CloseRange

__all__ = [
    "AFTER_ALL",
    "UPTO_ALL",
    "AccrualColumns",
    "Coverage",
    "aggregated_interest",
    "aggregated_penalty",
    "coverage",
    "covered_until",
    "overdue_run_end",
    "run_end",
    "transfer_entry",
    "with_aggregate_share",
]

#: ``close_ranges`` bounds standing for "unbounded": every prefixed id sorts between them.
AFTER_ALL: Final = ""
UPTO_ALL: Final = "~"
_DAY: Final = timedelta(days=1)


class AccrualColumns(Protocol):
    """A contract row, ORM object or plain selected row, with its quiet-day columns."""

    @property
    def id(self) -> str: ...
    @property
    def accrual_basis(self) -> int | None: ...
    @property
    def accrual_rate(self) -> str | None: ...
    @property
    def accrual_exact(self) -> str | None: ...
    @property
    def accrual_booked(self) -> int | None: ...
    @property
    def accrued_through(self) -> date | None: ...
    @property
    def aggregated_from(self) -> date | None: ...
    @property
    def quiet_until(self) -> date | None: ...
    @property
    def accrual_penalty(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Coverage:
    """The latest date any close accrued ranges for, with those ranges (sorted by ``after``)."""

    latest: date | None
    ranges: Sequence[tuple[str, str]] = ()

    def until(self, contract_id: str) -> date | None:
        """The last date the aggregate holds for a contract in a run (exclusive end of its days)."""
        if self.latest is None:
            return None
        i = bisect_left(self.ranges, (contract_id, "")) - 1  # the last range with after < id
        covered = i >= 0 and self.ranges[i][1] >= contract_id
        return self.latest if covered else self.latest - _DAY


def coverage(session: Session) -> Coverage:
    """The ranges of the latest date a close accrued (one small query per partition of that date)."""
    latest: date | None = session.scalar(select(func.max(CloseRange.business_date)))
    if latest is None:
        return Coverage(None)
    rows = session.execute(
        select(CloseRange.after_id, CloseRange.upto_id)
        .where(CloseRange.business_date == latest)
        .order_by(CloseRange.after_id)
    ).all()
    return Coverage(latest, tuple((a, u) for a, u in rows))


def covered_until(session: Session, contract_id: str) -> date | None:
    """:meth:`Coverage.until` for one contract, in two indexed lookups (booking's path)."""
    latest: date | None = session.scalar(select(func.max(CloseRange.business_date)))
    if latest is None:
        return None
    upto = session.scalar(
        select(CloseRange.upto_id)
        .where(CloseRange.business_date == latest, CloseRange.after_id < contract_id)
        .order_by(CloseRange.after_id.desc())
        .limit(1)
    )
    return latest if upto is not None and upto >= contract_id else latest - _DAY


def aggregated_interest(row: AccrualColumns, until: date | None) -> Fen:
    """The contract's interest the aggregate account holds, its run covering days up to ``until``
    (exclusive), and never past its ``quiet_until`` (its last quiet date: the close of a later date
    folds it, whatever that close's ranges say): 0 if it is in no run."""
    start, last = row.accrued_through, row.quiet_until
    if row.aggregated_from is None or until is None or start is None or last is None:
        return 0
    until = min(until, last)
    if row.accrual_basis is None:
        return 0
    if row.accrual_rate is None or row.accrual_exact is None or row.accrual_booked is None:
        return 0
    return cumulative_interest(
        row.accrual_basis,
        Decimal(row.accrual_rate),
        Decimal(row.accrual_exact),
        row.accrual_booked,
        start,
        until,
    )


def aggregated_penalty(row: AccrualColumns, until: date | None) -> Fen:
    """The contract's penalty the aggregate account 1132.92 holds: the same days as
    :func:`aggregated_interest`, over its overdue rows (0 if it is in no run or nothing is overdue)."""
    start, last = row.accrued_through, row.quiet_until
    if row.aggregated_from is None or until is None or start is None or last is None:
        return 0
    if row.accrual_penalty is None:
        return 0
    rate, rows = decode(row.accrual_penalty)
    return cumulative_penalty(rate, rows, start, min(until, last))


def run_end(row: AccrualColumns, until: date | None) -> date | None:
    """The date a contract's run is accrued to in aggregate (exclusive end of its days, as a close's
    accrual is: the close of D accrues the days before D), if it is in a run that holds anything."""
    start, last = row.accrued_through, row.quiet_until
    if row.aggregated_from is None or until is None or start is None or last is None:
        return None
    end = min(until, last)
    return end if end > start else None


def overdue_run_end(row: AccrualColumns, until: date | None) -> date | None:
    """:func:`run_end` of an overdue contract's run (its penalty is accrued in aggregate too): where
    booking first books the run on the contract."""
    return None if row.accrual_penalty is None else run_end(row, until)


def with_aggregate_share(session: Session, contract: AccrualColumns, state: LoanState) -> LoanState:
    """The contract's state with the days the aggregate holds accrued on it: what nightly folds
    would have stored, so what a customer or an operator is shown does not depend on the close's
    engine. The core's own ``accrue`` over the run (its interest and penalty are the aggregate's
    share: tests/core/test_quiet_overdue.py); the state itself outside a run."""
    end = run_end(contract, covered_until(session, contract.id))
    return state if end is None else accrue(state, end)[0]


def transfer_entry(
    amount: Fen, *, contract_id: str, customer_id: str, on: date, txn_id: str, penalty: Fen = 0
) -> ledger.JournalEntry:
    """The entry that takes a contract's aggregated interest (and penalty) back out of the aggregate
    (its fold books them on the contract itself): Dr income, Cr accrued in aggregate."""
    postings = []
    if amount:
        postings += [
            Posting(Account.INTEREST_INCOME, Side.DEBIT, amount, contract_id, customer_id),
            Posting(Account.INTEREST_ACCRUED_AGGREGATE, Side.CREDIT, amount, contract_id, customer_id),
        ]
    if penalty:
        postings += [
            Posting(Account.PENALTY_INCOME, Side.DEBIT, penalty, contract_id, customer_id),
            Posting(Account.PENALTY_ACCRUED_AGGREGATE, Side.CREDIT, penalty, contract_id, customer_id),
        ]
    return ledger.JournalEntry(f"aggregate:{txn_id}", on, tuple(postings), "", "AggregateAccrualToContract")
