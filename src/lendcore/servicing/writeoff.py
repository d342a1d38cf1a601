"""Write-off (核销) and recovery after write-off.

:func:`write_off` moves every receivable of a contract off balance sheet, only when the contract is
eligible: its DPD on the business date exceeds the product's ``write_off_dpd`` (``WRITE_OFF_NOT_ELIGIBLE``
otherwise). Staff action, reason required, audited. In the same transaction the contract's credit line
is frozen (``servicing.lines.freeze_line``, reason code ``WRITTEN_OFF``, audited as
``credit_line.written_off``): the written-off principal leaves ``outstanding_principal``, which would
otherwise free the limit, and a written-off customer must not borrow again (a drawdown is refused
with ``LINE_NOT_ACTIVE``). Unfreezing it is a deliberate staff action (``unfreeze_line``).

:func:`recover` books money received on a written-off contract (Dr cash / Cr recoveries; beyond
what was written off goes to unapplied funds), through an inbound payment.
Both run in the caller's unit of work, idempotent by key. Neither is dated before the contract started
(``DATE_BEFORE_CONTRACT_START``); a recovery is not value-dated before the write-off
(``DATE_BEFORE_WRITE_OFF``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.accrual import accrue
from lendcore.core.contract import Status
from lendcore.core.delinquency import days_past_due, write_off_eligible
from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.core.loan import Recovery, WriteOff
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.payments.channel import PaymentChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.servicing.booking import lock_unapplied, post_transaction
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.common import (
    check_amount,
    check_not_before,
    check_text,
    check_value_date,
    run_payment,
    scoped_key,
)
from lendcore.servicing.lines import freeze_line, lock_line
from lendcore.servicing.repository import lock_contract, product_of
from lendcore.store.audit import record_audit
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract, LoanTransaction

#: Reason code of the freeze a write-off puts on the contract's credit line.
WRITTEN_OFF: Final = "WRITTEN_OFF"


@dataclass(frozen=True, slots=True)
class WriteOffRequest(JsonRecord):
    contract_id: str
    reason: str
    actor: str
    business_date: date
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class WriteOffResult(JsonRecord):
    contract_id: str
    txn_id: str
    dpd: int
    written_off: Fen
    status: str
    credit_line_id: str
    line_status: str
    line_frozen: bool


@dataclass(frozen=True, slots=True)
class RecoverRequest(JsonRecord):
    """Money received on a written-off contract, value-dated ``value_date`` (default: the business date)."""

    contract_id: str
    amount: Fen
    business_date: date
    idempotency_key: str
    value_date: date | None = None
    account_token: str | None = None


@dataclass(frozen=True, slots=True)
class RecoverResult(JsonRecord):
    contract_id: str
    payment_id: str
    status: str  # succeeded, or the payment's state when the channel did not confirm it
    recovered: Fen = 0
    unapplied: Fen = 0


def _eligible_dpd(contract: Contract, on: date) -> int:
    """The contract's DPD on ``on``, refused unless it may be written off (active, past the threshold)."""
    state = contract_state(contract)
    if state.status is Status.WRITTEN_OFF:
        raise BusinessRuleError("the contract is already written off", code="CONTRACT_WRITTEN_OFF")
    if state.status is not Status.ACTIVE:
        raise BusinessRuleError(f"the contract is {state.status.value}", code="CONTRACT_NOT_ACTIVE")
    after_days = product_of(contract).write_off_dpd
    accrued, _ = accrue(state, max(on, state.accrued_through))
    dpd = days_past_due(accrued, on)
    if not write_off_eligible(dpd, after_days):
        raise BusinessRuleError(
            f"DPD {dpd} does not exceed the product's write-off threshold of {after_days} days",
            code="WRITE_OFF_NOT_ELIGIBLE",
            dpd=dpd,
            threshold=after_days,
        )
    return dpd


@idempotent("write-off", WriteOffResult)
def write_off(session: Session, request: WriteOffRequest) -> WriteOffResult:
    """Write the contract off and freeze its line (see the module docstring)."""
    why = check_text(request.reason, "REASON_REQUIRED", "a reason")
    who = check_text(request.actor, "ACTOR_REQUIRED", "a staff actor", 64)
    on = request.business_date
    found = session.get(Contract, request.contract_id)  # unlocked: only to learn its line (lock order)
    if found is None:
        raise NotFoundError(f"no contract {request.contract_id}", code="CONTRACT_NOT_FOUND")
    line = lock_line(session, found.credit_line_id)
    contract = lock_contract(session, request.contract_id)
    check_not_before(on, contract.start_date, code="DATE_BEFORE_CONTRACT_START", what="the contract started")
    dpd = _eligible_dpd(contract, on)
    posted = post_transaction(
        session,
        contract,
        lambda txn_id, seq: WriteOff(txn_id, on, seq, why),
        business_date=on,
        idempotency_key=scoped_key("write-off", request.idempotency_key),
    )
    record_audit(
        session,
        actor=who,
        action="contract.write_off",
        target_type="contract",
        target_id=contract.id,
        details={"amount": posted.after.written_off, "dpd": dpd, "txn_id": posted.txn.txn_id},
        reason=why,
    )
    frozen = line.status == "active"
    if frozen:
        freeze_line(
            session,
            line.id,
            reason_code=WRITTEN_OFF,
            business_date=on,
            actor=who,
            details={"contract_id": contract.id, "txn_id": posted.txn.txn_id, "reason": why},
        )
    after = posted.after
    return WriteOffResult(
        contract.id,
        posted.txn.txn_id,
        dpd,
        after.written_off,
        after.status.value,
        line.id,
        line.status,
        frozen,
    )


def written_off_on(session: Session, contract_id: str) -> date | None:
    """The value date of the contract's write-off (a recovery is never value-dated before it)."""
    return session.scalar(
        select(func.max(LoanTransaction.value_date)).where(
            LoanTransaction.contract_id == contract_id, LoanTransaction.type == "write-off"
        )
    )


@idempotent("recover", RecoverResult)
def recover(
    session: Session, request: RecoverRequest, *, channel: PaymentChannel | None = None
) -> RecoverResult:
    """Book a recovery on a written-off contract through an inbound payment."""
    check_amount(request.amount)
    on = request.value_date or request.business_date
    check_value_date(on, request.business_date)
    contract = lock_contract(session, request.contract_id)
    check_not_before(on, contract.start_date, code="DATE_BEFORE_CONTRACT_START", what="the contract started")
    if contract.status != Status.WRITTEN_OFF.value:
        raise BusinessRuleError("only a written-off contract takes recoveries", code="NOT_WRITTEN_OFF")
    written_off = written_off_on(session, contract.id)
    if written_off is not None:
        check_not_before(on, written_off, code="DATE_BEFORE_WRITE_OFF", what="the write-off")
    lock_unapplied(session, contract.customer_id)  # the lock order: contract, then unapplied funds
    key = scoped_key("recover", request.idempotency_key)
    payment, sent = run_payment(
        session,
        direction=PaymentDirection.INBOUND,
        customer_id=contract.customer_id,
        contract_id=contract.id,
        amount=request.amount,
        purpose="recovery",
        value_date=on,
        account_token=request.account_token or f"customer:{contract.customer_id}",
        channel=channel,
        idempotency_key=key,
    )
    if sent.state is not PaymentState.SUCCEEDED:
        return RecoverResult(contract.id, payment.id, payment.state)
    posted = post_transaction(
        session,
        contract,
        lambda txn_id, seq: Recovery(txn_id, on, seq, request.amount),
        business_date=request.business_date,
        payment_id=payment.id,
        idempotency_key=key,
    )
    session.flush()
    return RecoverResult(
        contract.id,
        payment.id,
        "succeeded",
        recovered=posted.after.recovered - posted.before.recovered,
        unapplied=posted.after.suspense - posted.before.suspense,
    )
