"""Customer credit (unapplied funds) pays what falls due, automatically.

Unapplied money is held as suspense on the contract that received it (a surplus repayment, a recovery
beyond what was written off, a backdated correction) and mirrored per customer in ``unapplied_funds``.
:func:`apply_customer_credit` applies it to what the customer owes *on* a business date: every row due
on or before that date (penalty, fees, interest, principal by the contract's waterfall), never
current interest or principal not yet due. The end-of-day close calls it for every customer holding
credit, before penalty accrues for the date; rows falling due that day are therefore paid on their
due date and a customer with enough credit never goes overdue.

Order: exactly a repayment's (:func:`~lendcore.core.allocation.allocate_customer`, by amount):
the contract with the oldest unpaid due date first, ties broken cash-loan (quick / revolving)
contracts first, then oldest contract. Within a contract the credit it holds itself is used first,
then credit held by the customer's other contracts (by contract id).

Booking (all in the caller's unit of work):

* credit held by the contract itself: one :class:`~lendcore.core.loan.CreditApplication`
  (Dr suspense / Cr receivables);
* credit held by another contract: a :class:`~lendcore.core.loan.CreditTransfer` on the source
  (Dr suspense / Cr 2241.02 credit in transfer) and a ``CreditApplication`` naming the source on the
  target (Dr 2241.02 / Cr suspense, then Dr suspense / Cr receivables). 2241.02 nets to zero.

The customer's ``unapplied_funds`` balance moves by exactly the suspense consumed. Invariant 4 holds
per contract as ``cash in + credit in − credit out = allocated + suspense`` and, per customer,
cash received = allocated + unapplied. Idempotent per business date by construction: after a run
either no credit is left or nothing is due on the date, so a rerun books nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode, allocate_customer, amount_due
from lendcore.core.contract import LoanState, Status
from lendcore.core.loan import CreditApplication, CreditTransfer, Transaction
from lendcore.core.money import Fen
from lendcore.servicing.booking import lock_unapplied, post_transaction
from lendcore.servicing.repository import state_as_of
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import Contract

#: Contract statuses that can hold customer credit (suspense).
CREDIT_HOLDING_STATUSES: Final = (Status.ACTIVE.value, Status.CLOSED.value, Status.WRITTEN_OFF.value)
SYSTEM_ACTOR: Final = "system:daily-close"


def lock_customer_contracts(session: Session, customer_id: str) -> list[Contract]:
    """The customer's disbursed contracts, locked in id order (the documented lock order)."""
    stmt = (
        select(Contract)
        .where(Contract.customer_id == customer_id, Contract.status.in_(CREDIT_HOLDING_STATUSES))
        .order_by(Contract.id)
    )
    return list(session.scalars(for_update(stmt)).all())


def _transfer(value_date: date, amount: Fen, to: str) -> Callable[[str, int], Transaction]:
    return lambda txn_id, seq: CreditTransfer(txn_id, value_date, seq, amount, to)


def _application(value_date: date, amount: Fen, source: str | None) -> Callable[[str, int], Transaction]:
    return lambda txn_id, seq: CreditApplication(txn_id, value_date, seq, amount, source)


def apply_customer_credit(
    session: Session, customer_id: str, business_date: date, *, actor: str = SYSTEM_ACTOR
) -> list[dict[str, Any]]:
    """Apply the customer's unapplied funds to what is due on ``business_date`` (module docstring).

    Returns one line per application ``{customer_id, contract_id, source_contract_id, amount,
    txn_id}`` (empty when there is no credit or nothing due); audited as ``customer.credit_applied``.
    """
    contracts = lock_customer_contracts(session, customer_id)
    unapplied = lock_unapplied(session, customer_id)
    if not contracts or unapplied.balance <= 0:
        return []
    by_id = {c.id: c for c in contracts}
    states: dict[str, LoanState] = {c.id: state_as_of(session, c, business_date) for c in contracts}
    credit = {cid: s.suspense for cid, s in states.items() if s.suspense > 0}
    active = [
        s for cid, s in states.items() if s.status is Status.ACTIVE and by_id[cid].start_date <= business_date
    ]
    due = sum(amount_due(s, business_date) for s in active)
    to_apply = min(sum(credit.values()), due)
    if to_apply <= 0:
        return []
    split = allocate_customer(active, to_apply, business_date, CustomerMode.BY_AMOUNT)
    lines: list[dict[str, Any]] = []
    consumed = 0
    for target_id, share in split.shares:
        target = by_id[target_id]
        sources = [target_id, *(cid for cid in sorted(credit) if cid != target_id)]
        left = share
        for source_id in sources:
            take = min(left, credit.get(source_id, 0))
            if take <= 0:
                continue
            credit[source_id] -= take
            left -= take
            if source_id != target_id:
                out = post_transaction(
                    session,
                    by_id[source_id],
                    _transfer(business_date, take, target_id),
                    business_date=business_date,
                )
                consumed += out.before.suspense - out.after.suspense
            posted = post_transaction(
                session,
                target,
                _application(business_date, take, None if source_id == target_id else source_id),
                business_date=business_date,
            )
            consumed += posted.before.suspense - posted.after.suspense
            lines.append(
                {
                    "customer_id": customer_id,
                    "contract_id": target_id,
                    "source_contract_id": source_id,
                    "amount": take,
                    "txn_id": posted.txn.txn_id,
                    "total_outstanding": posted.after.total_outstanding,
                }
            )
            if left == 0:
                break
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="customer.credit_applied",
        target_type="customer",
        target_id=customer_id,
        details={
            "business_date": business_date.isoformat(),
            "applied": consumed,
            "applications": [
                {k: line[k] for k in ("contract_id", "source_contract_id", "amount", "txn_id")}
                for line in lines
            ],
        },
        reason="unapplied funds applied to amounts due",
    )
    return lines
