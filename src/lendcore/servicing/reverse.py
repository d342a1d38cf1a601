"""Reversal of an inbound payment (chargeback, returned transfer: 退款/退票).

:func:`reverse_payment` runs in the caller's unit of work, idempotent by key (scope
``reverse-payment``), staff action (reason and actor required), audited (``payment.reverse``):

1. the payment must be an inbound payment that succeeded (``PAYMENT_NOT_FOUND``,
   ``PAYMENT_NOT_REVERSIBLE`` for an outbound one, ``PAYMENT_ALREADY_REVERSED``,
   ``PAYMENT_STATE_INVALID``), and the reversal's date is not before the payment
   (``REVERSAL_BEFORE_PAYMENT``); it goes ``succeeded → reversed`` (:mod:`lendcore.payments.state`);
2. locks the customer's contracts (by id), their unapplied funds, then the payment;
3. every loan transaction the payment produced (its repayments, or a recovery) is reversed through the
   core's :class:`~lendcore.core.loan.LoanBook`: a :class:`~lendcore.core.loan.Reversal` replays the
   contract from the payment's value date without it (mirror entries, re-booked later transactions).
   The installments it paid are unpaid again; if one is now overdue, its penalty runs from the original
   due date (the replay re-applies the daily closes' accruals; the next close catches up to today);
   a contract it had closed is active again. The response shows what is owed on the business date;
   the accruals are booked by the next daily close;
4. the unapplied funds the payment created are taken back: the customer's ``unapplied_funds`` moves by
   exactly the suspense the reversals remove.

**Shortfall.** If that credit has since been used (the daily close applied it to other dues, see
:mod:`lendcore.servicing.credit`), the contract's replay would need more suspense than it now holds
(``INSUFFICIENT_CREDIT``). Balances never go negative; instead the credit uses that can no longer be
funded are *unwound* first: exactly the failing :class:`~lendcore.core.loan.CreditTransfer` (with its
:class:`~lendcore.core.loan.CreditApplication` on the receiving contract) or own-credit
``CreditApplication`` is reversed, then the reversal is retried. The dues those applications paid are
unpaid again, with penalty from their due dates, exactly as if the returned money had never arrived.
The response lists every unwound transaction (``unwound``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.accrual import accrue
from lendcore.core.errors import BusinessRuleError, InvariantViolationError, NotFoundError
from lendcore.core.loan import Reversal, Transaction
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.payments.state import PaymentDirection, PaymentState, transition
from lendcore.servicing.booking import lock_unapplied, post_transaction
from lendcore.servicing.common import check_text, scoped_key
from lendcore.servicing.credit import lock_customer_contracts
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract, LoanTransaction, Payment

#: Loan transactions a payment books (what a payment reversal reverses).
PAYMENT_TXN_TYPES: Final = ("repayment", "recovery")
_MAX_UNWIND: Final = 1000


def _reversal(value_date: date, target: str, reason: str) -> Callable[[str, int], Transaction]:
    return lambda txn_id, seq: Reversal(txn_id, value_date, seq, target, reason)


class _Reverser:
    def __init__(
        self, session: Session, contracts: dict[str, Contract], business_date: date, reason: str, key: str
    ) -> None:
        self.session = session
        self.contracts = contracts
        self.business_date = business_date
        self.reason = reason
        self.key = key
        self.suspense_delta = 0
        self.unwound: list[ReversedTransaction] = []
        self.steps = 0

    def reverse(
        self, contract_id: str, txn_id: str, *, payment_id: str | None, why: str
    ) -> ReversedTransaction:
        contract = self.contracts.get(contract_id)
        if contract is None:  # pragma: no cover - a payment's contracts belong to its customer
            raise InvariantViolationError(f"contract {contract_id} is not locked", code="CONTRACT_NOT_LOCKED")
        while True:
            self.steps += 1
            if self.steps > _MAX_UNWIND:  # pragma: no cover - each retry removes one transaction
                raise InvariantViolationError("reversal does not converge", code="REVERSAL_NOT_CONVERGING")
            try:
                posted = post_transaction(
                    self.session,
                    contract,
                    _reversal(self.business_date, txn_id, why),
                    business_date=self.business_date,
                    payment_id=payment_id,
                    idempotency_key=scoped_key("reverse-payment", f"{self.key}:{txn_id}"),
                )
            except BusinessRuleError as error:
                failing = error.details.get("txn_id")
                if error.code != "INSUFFICIENT_CREDIT" or not failing or failing == txn_id:
                    raise
                self._unwind(contract_id, str(failing))
                continue
            self.suspense_delta += posted.after.suspense - posted.before.suspense
            # what is owed today (accruals are booked by the next daily close, from where they stopped)
            owed, _ = accrue(posted.after, max(self.business_date, posted.after.accrued_through))
            return ReversedTransaction(
                contract_id,
                txn_id,
                posted.txn.txn_id,
                posted.after.status.value,
                owed.total_outstanding,
                owed.penalty_outstanding,
                posted.before.suspense - posted.after.suspense,
            )

    def _unwind(self, contract_id: str, txn_id: str) -> None:
        """Reverse a credit use that the reversed money no longer funds (and its other leg)."""
        row = self.session.get(LoanTransaction, txn_id)
        if row is None or row.type not in ("credit-transfer", "credit-application"):  # pragma: no cover
            raise InvariantViolationError(f"cannot unwind {txn_id}", code="REVERSAL_NOT_CONVERGING")
        why = f"unwound: funded by reversed payment ({self.reason})"[:500]
        done = self.reverse(contract_id, txn_id, payment_id=None, why=why)
        self.unwound.append(replace(done, type=row.type, amount=row.amount))
        if row.type == "credit-transfer":
            target = str(row.payload["to_contract_id"])
            reversed_ids = select(LoanTransaction.reverses_txn_id).where(
                LoanTransaction.reverses_txn_id.is_not(None)
            )
            candidates = self.session.scalars(
                select(LoanTransaction)
                .where(
                    LoanTransaction.contract_id == target,
                    LoanTransaction.type == "credit-application",
                    LoanTransaction.value_date == row.value_date,
                    LoanTransaction.amount == row.amount,
                    LoanTransaction.id.not_in(reversed_ids),
                )
                .order_by(LoanTransaction.seq)
            ).all()
            partner = next(
                (c for c in candidates if (c.payload or {}).get("from_contract_id") == contract_id), None
            )
            if partner is None:  # pragma: no cover - both legs are booked in one transaction
                raise InvariantViolationError(
                    f"no credit application for transfer {txn_id}", code="LEDGER_INCONSISTENT"
                )
            leg = self.reverse(target, partner.id, payment_id=None, why=why)
            self.unwound.append(replace(leg, type=partner.type, amount=partner.amount))


def _check_after_payment(session: Session, payment: Payment, business_date: date) -> None:
    """A reversal is value-dated on its business date: not before the payment it reverses was made
    (its value date) or booked (the business date of its loan transactions)."""
    booked = session.scalar(
        select(func.max(LoanTransaction.business_date)).where(LoanTransaction.payment_id == payment.id)
    )
    earliest = max(payment.value_date, booked or payment.value_date)
    if business_date < earliest:
        raise BusinessRuleError(
            f"a reversal on {business_date} would precede the payment it reverses ({earliest})",
            code="REVERSAL_BEFORE_PAYMENT",
            payment_date=earliest.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class ReversePaymentRequest(JsonRecord):
    payment_id: str
    reason: str
    actor: str
    business_date: date
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ReversedTransaction(JsonRecord):
    """One loan transaction reversed (the payment's own, or a credit use it no longer funds)."""

    contract_id: str
    reversed_txn_id: str
    reversal_txn_id: str
    status: str
    total_outstanding: Fen  # owed on the business date, accrued to it
    penalty_outstanding: Fen
    unapplied_taken_back: Fen
    type: str | None = None  # for an unwound credit use: credit-transfer | credit-application
    amount: Fen | None = None


@dataclass(frozen=True, slots=True)
class ReversePaymentResult(JsonRecord):
    payment_id: str
    customer_id: str
    amount: Fen
    status: str
    business_date: date
    contracts: tuple[ReversedTransaction, ...]
    unwound: tuple[ReversedTransaction, ...]
    unapplied_taken_back: Fen
    customer_unapplied_balance: Fen


@idempotent("reverse-payment", ReversePaymentResult)
def reverse_payment(session: Session, request: ReversePaymentRequest) -> ReversePaymentResult:
    """Reverse a succeeded inbound payment and everything it booked (see the module docstring)."""
    why = check_text(request.reason, "REASON_REQUIRED", "a reason")
    who = check_text(request.actor, "ACTOR_REQUIRED", "a staff actor", 64)
    on = request.business_date
    found = session.get(Payment, request.payment_id)
    if found is None:
        raise NotFoundError(f"payment {request.payment_id} not found", code="PAYMENT_NOT_FOUND")
    if found.direction != PaymentDirection.INBOUND.value:
        raise BusinessRuleError("only an inbound payment can be reversed", code="PAYMENT_NOT_REVERSIBLE")
    _check_after_payment(session, found, on)
    customer_id = found.customer_id
    contracts = {c.id: c for c in lock_customer_contracts(session, customer_id)}
    unapplied = lock_unapplied(session, customer_id)
    payment = session.scalars(for_update(select(Payment).where(Payment.id == found.id))).one()
    if payment.state == PaymentState.REVERSED.value:
        raise BusinessRuleError("the payment is already reversed", code="PAYMENT_ALREADY_REVERSED")
    payment.state = transition(PaymentState(payment.state), PaymentState.REVERSED).value
    targets = session.scalars(
        select(LoanTransaction)
        .where(LoanTransaction.payment_id == payment.id, LoanTransaction.type.in_(PAYMENT_TXN_TYPES))
        .order_by(LoanTransaction.contract_id, LoanTransaction.seq)
    ).all()
    reverser = _Reverser(session, contracts, on, why, request.idempotency_key)
    lines = tuple(reverser.reverse(t.contract_id, t.id, payment_id=payment.id, why=why) for t in targets)
    payment.failure_reason = f"reversed: {why}"[:200]
    session.flush()
    result = ReversePaymentResult(
        payment.id,
        customer_id,
        payment.amount,
        payment.state,
        on,
        lines,
        tuple(reverser.unwound),
        -reverser.suspense_delta,
        unapplied.balance,
    )
    details = result.to_json()
    del details["customer_unapplied_balance"]
    record_audit(
        session,
        actor=who,
        action="payment.reverse",
        target_type="payment",
        target_id=payment.id,
        details=details,
        reason=why,
    )
    return result
