"""Booking: one transaction on a locked contract, and everything it implies, in the caller's unit of
work.

:func:`post_transaction` books ``make(txn_id, seq)``: on-time transactions are applied to the stored
snapshot; backdated ones and reversals go through the full :class:`~lendcore.core.book.LoanBook`
(mirror entries, re-applied later transactions). It writes the transaction row, journal entries with
postings, the state snapshot and its scalar mirrors, a new schedule version when the plan changed
(prepayment re-plan), and keeps the customer's unapplied funds equal to the suspense their contracts
hold (DESIGN.md invariant 4): whenever a booking moves a contract's suspense, the customer's
``unapplied_funds`` row (locked after the contract: the documented lock order) moves by the same
amount. It returns what it did (:class:`Posted`, with the core's :class:`~lendcore.core.loan.Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lendcore.core import ledger
from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import Delinquency
from lendcore.core.errors import InvariantViolationError
from lendcore.core.loan import Outcome, PenaltyAccrual, apply
from lendcore.core.performance import worst_days_past_due
from lendcore.core.transactions import Reversal, Transaction
from lendcore.servicing.aggregate_accrual import (
    aggregated_interest,
    aggregated_penalty,
    covered_until,
    overdue_run_end,
    transfer_entry,
)
from lendcore.servicing.codecs import contract_terms, state_from_json
from lendcore.servicing.repository import (
    RowWriter,
    load_book,
    projected_schedule,
    save_state,
    write_schedule,
)
from lendcore.store.engine import for_update
from lendcore.store.ids import new_id
from lendcore.store.models import Contract, UnappliedFunds
from lendcore.store.types import utc_now


@dataclass(frozen=True, slots=True)
class Posted:
    """What :func:`post_transaction` did: the state before, the transaction and its outcome (state
    after, postings, accruals, allocation), the journal entries written, and whether it rebooked."""

    before: LoanState
    txn: Transaction
    outcome: Outcome
    entries: tuple[ledger.JournalEntry, ...]
    backdated: bool
    schedule_version: int | None  # the new schedule version written, if the plan changed
    after: LoanState  # the contract's state now (after any later transactions re-applied)


def lock_unapplied(session: Session, customer_id: str) -> UnappliedFunds:
    """The customer's unapplied-funds row under a row lock, created (race-safely) if missing."""
    row = session.scalars(_LOCK_UNAPPLIED, {"customer_id": customer_id}).one_or_none()
    if row is not None:
        return row
    # INSERT … ON CONFLICT DO NOTHING: a concurrent creator's row wins (PostgreSQL waits for it to
    # commit), no savepoint needed; both supported databases have it
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"customer_id": customer_id, "balance": 0, "version": 1, "updated_at": utc_now()}
    table = cast(Table, UnappliedFunds.__table__)
    session.execute(make_insert(table).values(values).on_conflict_do_nothing(index_elements=["customer_id"]))
    return session.scalars(_LOCK_UNAPPLIED, {"customer_id": customer_id}).one()


#: Built once: a booking pays for running it, not for building it (issue 12's hot path).
_LOCK_UNAPPLIED: Final = for_update(
    select(UnappliedFunds).where(UnappliedFunds.customer_id == bindparam("customer_id"))
)


def _on_time(before: LoanState, txn: Transaction) -> tuple[Outcome, tuple[ledger.JournalEntry, ...]]:
    outcome = apply(before, txn)
    if not outcome.postings:
        return outcome, ()
    entry = ledger.JournalEntry(
        f"new:{txn.txn_id}", txn.value_date, outcome.postings, txn.txn_id, type(txn).__name__
    )
    return outcome, (entry,)


def _on_time_for(before: LoanState, txn: Transaction) -> bool:
    """Whether ``txn`` applies to the stored snapshot (nothing booked after its value date, not a
    reversal); otherwise it goes through the replayed book."""
    return not isinstance(txn, Reversal) and (
        before.last_value_date is None or txn.value_date >= before.last_value_date
    )


def preview_transaction(
    session: Session, contract: Contract, make: Callable[[str, int], Transaction]
) -> Posted:
    """What :func:`post_transaction` would book for ``make(txn_id, seq)``, written nowhere (no
    schedule version is decided: ``schedule_version`` is None). Like the booking, an on-time
    transaction is applied to the stored snapshot (no replay); a backdated one is booked on the
    replayed book."""
    before = state_from_json(contract_terms(contract), contract.state)
    txn = make("planned", contract.last_replayed_seq + 1)
    if _on_time_for(before, txn):
        outcome, entries = _on_time(before, txn)
        return Posted(before, txn, outcome, entries, False, None, outcome.state)
    book = load_book(session, contract)
    rebooked, entries = book.book(txn)
    own = next((a.outcome for a in rebooked.applied if a.txn.txn_id == txn.txn_id), None)
    outcome = own if own is not None else Outcome(rebooked.state, ())
    return Posted(book.state, txn, outcome, entries, True, None, rebooked.state)


def _rebooked(
    session: Session, contract: Contract, before: LoanState, txn: Transaction, business_date: date
) -> tuple[Outcome, LoanState, tuple[ledger.JournalEntry, ...]]:
    """Book a backdated transaction (or a reversal) through the contract's replayed book."""
    book = load_book(session, contract)
    if book.state != before:
        raise InvariantViolationError(
            f"contract {contract.id}: stored state differs from the replay of its transactions",
            code="REPLAY_MISMATCH",
        )
    new_book, entries = book.book(txn)
    after = new_book.state
    # the rebooking may cure (or reveal) past delinquency: recompute the worst DPD from the replay
    contract.max_days_past_due = worst_days_past_due(
        [(a.txn.value_date, a.state) for a in new_book.applied], max(business_date, after.accrued_through)
    )
    own = next((a.outcome for a in new_book.applied if a.txn.txn_id == txn.txn_id), None)
    # a reversal is not itself applied: what it did is the state it leaves
    outcome = own if own is not None else Outcome(after, ())
    return outcome, after, entries


def _end_overdue_run(
    session: Session,
    contract: Contract,
    *,
    business_date: date,
    writer: RowWriter | None,
    judge: Callable[[LoanState], Delinquency] | None,
) -> None:
    """A booking ends an overdue contract's run of quiet days: first book the run's accrual on the
    contract as the per-contract close would have, one ``PenaltyAccrual`` value-dated on the run's
    last covered date (its catch-up is exactly the share the aggregate held, which its booking moves
    back out). Rules that read the state as of a date (a fault window's penalty since its start,
    ``servicing.faults``) then see the same history as after nightly folds."""
    if contract.aggregated_from is None or contract.accrual_penalty is None:
        return
    last = overdue_run_end(contract, covered_until(session, contract.id))
    if last is None:
        return
    # the standing stays what the nightly closes stored (the DPD of the run's last date): the
    # booking that follows judges the contract on its own date
    standing = (contract.days_past_due, contract.max_days_past_due, contract.classification)
    _post(
        session,
        contract,
        lambda txn_id, seq: PenaltyAccrual(txn_id, last, seq, 0),
        business_date=business_date,
        writer=writer,
        judge=judge,
    )
    contract.days_past_due, contract.max_days_past_due, contract.classification = standing


def post_transaction(
    session: Session,
    contract: Contract,
    make: Callable[[str, int], Transaction],
    *,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
    writer: RowWriter | None = None,
    judge: Callable[[LoanState], Delinquency] | None = None,
) -> Posted:
    """Book ``make(txn_id, seq)`` on ``contract`` (lock it first) and write what it implies.

    On-time transactions are applied to the stored snapshot; backdated ones and reversals go through
    the full :class:`~lendcore.core.book.LoanBook`. Any refusal raises before anything is written.
    With ``writer`` the transaction, entry and posting rows are left in it for the caller to
    :meth:`RowWriter.write` (the daily close writes a chunk at once); the contract row itself is
    changed in the session either way. A change of the contract's suspense moves the customer's
    unapplied funds by the same amount. ``judge`` (the daily close's) gives the DPD, bucket and
    classification stored from the state after (:mod:`lendcore.servicing.standing`).
    """
    _end_overdue_run(session, contract, business_date=business_date, writer=writer, judge=judge)
    return _post(
        session,
        contract,
        make,
        business_date=business_date,
        payment_id=payment_id,
        idempotency_key=idempotency_key,
        writer=writer,
        judge=judge,
    )


def _post(
    session: Session,
    contract: Contract,
    make: Callable[[str, int], Transaction],
    *,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
    writer: RowWriter | None = None,
    judge: Callable[[LoanState], Delinquency] | None = None,
) -> Posted:
    before = state_from_json(contract_terms(contract), contract.state)
    seq = contract.last_replayed_seq + 1
    txn = make(new_id("txn"), seq)
    on_time = _on_time_for(before, txn)
    if on_time:
        outcome, entries = _on_time(before, txn)
        after = outcome.state
    else:
        if writer is not None and writer.pending_for(contract.id):
            writer.write(session)  # load_book reads the contract's rows from the database
        outcome, after, entries = _rebooked(session, contract, before, txn, business_date)
    rows = writer if writer is not None else RowWriter()
    # the fold booked the interest since the snapshot on the contract: what the close's aggregate
    # already holds of it goes back out of the aggregate (lendcore.servicing.aggregate_accrual)
    until = covered_until(session, contract.id) if contract.aggregated_from else None
    aggregated = aggregated_interest(contract, until) if until is not None else 0
    aggregated_pen = aggregated_penalty(contract, until) if until is not None else 0
    transfer: tuple[ledger.JournalEntry, ...] = ()
    if aggregated or aggregated_pen:
        transfer = (
            transfer_entry(
                aggregated, contract_id=contract.id, customer_id=contract.customer_id, on=business_date,
                txn_id=txn.txn_id, penalty=aggregated_pen,
            ),
        )  # fmt: skip
    contract.aggregated_from = None
    rows.add(
        contract,
        txn,
        entries + transfer,
        business_date=business_date,
        payment_id=payment_id,
        idempotency_key=idempotency_key,
    )
    version = None
    if before.status is not Status.PENDING and [(r.principal, r.due_date) for r in after.rows] != [
        (r.principal, r.due_date) for r in before.rows
    ]:
        version = contract.schedule_version + 1
        write_schedule(session, contract.id, version, projected_schedule(after))
        contract.schedule_version = version
    contract.last_replayed_seq = seq
    save_state(contract, after, business_date, judged=judge(after) if judge is not None else None)
    if writer is None:
        # the rows and the contract's new state together: one round trip on PostgreSQL
        rows.write(session, contracts=(contract,))
    if after.suspense != before.suspense:
        lock_unapplied(session, contract.customer_id).balance += after.suspense - before.suspense
    return Posted(before, txn, outcome, entries, not on_time, version, after)
