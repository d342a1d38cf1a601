"""The daily close's judgement of contracts: money in flight and lender-fault windows honoured
(the rules: :mod:`lendcore.core.in_flight`, :mod:`lendcore.core.standing`).

:func:`judgements` gives, for each contract of a chunk that has a repayment in flight or a fault
window on the day, a :class:`Judgement`: the money in flight its accrual carries
(``PenaltyAccrual.covered_by_payment``: the penalty is held) and the function that judges its state
after the accrual (DPD, bucket, classification as if the money in flight had been paid on its value
date, with overdue status that began inside a fault window suppressed). Contracts with neither get
nothing and are judged on their own rows, as before.

This is the whole hook a close needs (``batch/close.py`` ``_accrue_chunk``): one query for the open
repayments of the chunk's customers, and one replay per contract with money in flight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.contract import LoanState
from lendcore.core.delinquency import Delinquency
from lendcore.core.faults import FaultWindow, in_lender_fault
from lendcore.core.in_flight import InFlight, as_if_paid, covered_amount
from lendcore.core.money import Fen
from lendcore.core.standing import stand
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.servicing.codecs import contract_terms
from lendcore.servicing.repository import CLASS_SLUGS, stored_transactions
from lendcore.store.models import Contract, Payment

__all__ = ["OPEN_STATES", "Judgement", "judgements", "open_repayments", "restate"]

OPEN_STATES = (PaymentState.CREATED.value, PaymentState.PROCESSING.value)


@dataclass(frozen=True, slots=True)
class Judgement:
    covered: Fen  # money in flight for this contract counted on the day (its accrual holds penalty)
    judge: Callable[[LoanState], Delinquency]


def _shares(payment: Payment) -> list[tuple[str, Fen]]:
    """The contracts a recorded repayment was planned to pay, and how much each (its allocation's
    ``shares``; a record without them names its one contract)."""
    listed = (payment.allocation or {}).get("shares")
    if listed:
        return [(str(cid), int(amount)) for cid, amount in listed]
    return [(payment.contract_id, payment.amount)] if payment.contract_id else []


def open_repayments(session: Session, customer_ids: Iterable[str], on: date) -> dict[str, list[InFlight]]:
    """Contract id → its shares of the customers' repayments recorded and not final, started by ``on``.
    Only repayments booked at settlement count (``allocation`` set): an inline ``repay`` is booked."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    stmt = select(Payment).where(
        Payment.customer_id.in_(ids),
        Payment.direction == PaymentDirection.INBOUND.value,
        Payment.state.in_(OPEN_STATES),
        Payment.value_date <= on,
        Payment.allocation.is_not(None),
    )
    found: dict[str, list[InFlight]] = defaultdict(list)
    for payment in session.scalars(stmt.order_by(Payment.value_date, Payment.id)):
        for contract_id, amount in _shares(payment):
            found[contract_id].append(InFlight(payment.id, amount, payment.value_date))
    return dict(found)


def judgements(
    session: Session, contracts: Sequence[Contract], on: date, windows: Sequence[FaultWindow]
) -> dict[str, Judgement]:
    """The judgement of each of ``contracts`` that has money in flight or a fault window on ``on``."""
    flights = open_repayments(session, (c.customer_id for c in contracts), on)
    found: dict[str, Judgement] = {}
    for contract in contracts:
        mine = flights.get(contract.id, [])
        window = in_lender_fault(windows, contract_id=contract.id, customer_id=contract.customer_id, on=on)
        covered = covered_amount(mine, on)
        if not covered and window is None:
            continue
        as_if = (
            as_if_paid(contract_terms(contract), stored_transactions(session, contract.id), mine, on)
            if covered
            else None
        )
        found[contract.id] = Judgement(covered, _judge(on, as_if, window))
    return found


def _judge(
    on: date, as_if: LoanState | None, window: FaultWindow | None
) -> Callable[[LoanState], Delinquency]:
    def judge(state: LoanState) -> Delinquency:
        return stand(state, on, as_if=as_if, window=window).delinquency

    return judge


def restate(contract: Contract, state: LoanState, judgement: Judgement, prior_max: int) -> None:
    """Store the judged standing on ``contract`` after a booking that judged its own rows (the close's
    fault waiver), keeping its worst DPD as it was before that booking unless the judgement is worse."""
    judged = judgement.judge(state)
    contract.days_past_due = judged.dpd
    contract.classification = CLASS_SLUGS[judged.loan_class]
    contract.max_days_past_due = max(prior_max, judged.dpd)
