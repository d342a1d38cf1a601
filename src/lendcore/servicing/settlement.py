"""Repayments recorded first and booked when their payment settles (docs/payments.md, "Integration").

:func:`request_repayment` is the asynchronous twin of :func:`~lendcore.servicing.repay.repay`: it checks
and plans the repayment exactly as ``repay`` does (nothing it would refuse gets through), then records a
``created`` inbound payment with its ``payment.submit`` job and the allocation it was asked for
(``payments.allocation``), and answers ``processing``. Nothing is booked: the caller commits, then the
worker (or the caller itself) submits.

:func:`settle_payment` is what the ``payment.settled`` job does, in the job's transaction:

* inbound ``succeeded``: book the repayment through the same plan and booking as ``repay``
  (:func:`~lendcore.servicing.repay.plan_repayment`, :func:`~lendcore.servicing.repay.book_repayment`),
  value-dated at the payment's ``value_date`` (the day the customer started it, never the day the
  channel confirmed: a close that accrued penalty meanwhile is replayed away, invariant 6). The money
  has arrived, so it is never refused for being too much: what no contract owes is customer credit;
  a contract named in the request that is no longer open falls back to allocation by amount; when
  nothing open can take it (the contract was paid off or written off while the money was in flight)
  it is customer credit on the contract it was paid for (a recovery if that one was written off),
  never refused and never left unbooked (the cash invariant holds and the close goes on);
* inbound ``failed``: nothing booked;
* outbound ``succeeded``: the disbursement is booked and the pending contract becomes active;
  outbound ``failed``: the pending contract is cancelled, which releases the limit it held;
* every outcome tells the customer: a ``customer.notify`` job (dedupe key per payment and state).

Exactly once: a payment with a loan transaction already carrying its id is booked (nothing to do), and
the database refuses a second transaction of a type per payment and contract (migration
``0009_payment_features``), so a redelivered job, or two workers racing, cannot book twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode
from lendcore.core.contract import Status
from lendcore.core.errors import BusinessRuleError
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.core.transactions import Disbursement, Recovery, Repayment
from lendcore.jobs.outbox import enqueue
from lendcore.payments.records import create_payment, lock_payment, raise_issue
from lendcore.payments.state import EventSource, PaymentDirection, PaymentState
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.business_day import open_business_date
from lendcore.servicing.common import scoped_key
from lendcore.servicing.credit import CREDIT_HOLDING_STATUSES
from lendcore.servicing.faults import end_payment_faults
from lendcore.servicing.repay import (
    DEFAULT_MAX_OVERPAYMENT,
    ContractRepayment,
    RepayPlan,
    RepayRequest,
    RepayResult,
    book_repayment,
    check_repay_request,
    plan_lines,
    plan_repayment,
)
from lendcore.servicing.repository import CANCELLED
from lendcore.servicing.writeoff import written_off_on
from lendcore.store.engine import for_update
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract, LoanTransaction, Payment
from lendcore.store.models_notify import ScheduledRepayment
from lendcore.store.types import utc_now

PENDING: Final = Status.PENDING.value

NOTIFY_JOB: Final = "customer.notify"
DEFAULT_CHANNEL_NAME: Final = "simulator"


@idempotent("repay-request", RepayResult)
def request_repayment(
    session: Session,
    request: RepayRequest,
    *,
    channel: str = DEFAULT_CHANNEL_NAME,
    now: datetime | None = None,
    max_overpayment: Fen = DEFAULT_MAX_OVERPAYMENT,
    with_plan: bool = False,
) -> RepayResult:
    """Record a repayment to be submitted (see the module docstring); status ``processing``. With
    ``with_plan`` (a customer waiting for the answer) the result carries the exact allocation it will
    book when confirmed (:func:`~lendcore.servicing.repay.plan_lines`: on the stored snapshot when on
    time, a replay per contract only when backdated; the autopay run does without)."""
    value_date = check_repay_request(request)
    customer_id, ids = request.customer_id, request.contract_ids
    plan = plan_repayment(
        session, customer_id, request.amount, value_date, request.mode, ids, max_overpayment
    )
    payment = create_payment(
        session,
        direction=PaymentDirection.INBOUND,
        customer_id=customer_id,
        contract_id=plan.shares[0][0] if len(plan.shares) == 1 else None,
        amount=plan.amount,
        purpose="repayment",
        value_date=value_date,
        channel=channel,
        account_token=request.account_token or f"customer:{customer_id}",
        now=now or utc_now(),
        idempotency_key=scoped_key("repay-request", request.idempotency_key),
        allocation={
            "mode": request.mode.value,
            "contract_ids": list(ids) if ids is not None else None,
            "business_date": request.business_date.isoformat(),
            # what each contract would receive: the close holds their penalty while it is in flight
            "shares": [[contract_id, amount] for contract_id, amount in plan.shares],
        },
    )
    lines = plan_lines(session, plan) if with_plan else ()  # what it will book when confirmed
    return RepayResult(
        payment.id,
        customer_id,
        plan.amount,
        request.mode,
        value_date,
        request.business_date,
        "processing",
        contracts=lines,
        unapplied=sum(line.unapplied for line in lines),
    )


@dataclass(frozen=True, slots=True)
class Settlement(JsonRecord):
    """What settling a payment did: ``booked``, ``held`` (a scheduled repayment's money held as customer
    credit until its due date), ``already_booked``, ``nothing_booked`` (failed),
    ``credited`` (nothing open could take it: customer credit), ``activated``, ``cancelled``,
    ``not_settled`` (not terminal), ``unbookable`` (raised)."""

    payment_id: str
    state: str
    outcome: str
    contracts: tuple[str, ...] = ()
    lines: tuple[ContractRepayment, ...] = ()  # a repayment booked: what each contract received


def _booked(session: Session, payment_id: str) -> bool:
    stmt = select(LoanTransaction.id).where(LoanTransaction.payment_id == payment_id).limit(1)
    return session.scalars(stmt).first() is not None


def _booking_date(session: Session, payment: Payment, today: date | None) -> date:
    """The business date a settlement books on: the open one (never before the value date)."""
    return max(payment.value_date, today or open_business_date(session) or payment.value_date)


def _notify(session: Session, payment: Payment, outcome: str) -> None:
    enqueue(
        session,
        NOTIFY_JOB,
        {
            "customer_id": payment.customer_id,
            "payment_id": payment.id,
            "template": f"{payment.purpose or 'payment'}_{payment.state}",
            "amount": payment.amount,
            "outcome": outcome,
        },
        dedupe_key=f"notify:{payment.id}:{payment.state}",
    )


def _plan_settled(session: Session, payment: Payment) -> RepayPlan:
    allocation = payment.allocation or {}
    mode = CustomerMode(allocation.get("mode", CustomerMode.BY_AMOUNT.value))
    listed = allocation.get("contract_ids")
    ids = tuple(str(c) for c in listed) if listed is not None else None
    # the money has arrived: never refuse it for being too much (the surplus is customer credit)
    ample = payment.amount
    try:
        return plan_repayment(
            session, payment.customer_id, payment.amount, payment.value_date, mode, ids, ample
        )
    except BusinessRuleError as error:
        if error.code != "CONTRACT_NOT_OPEN":
            raise
    return plan_repayment(
        session, payment.customer_id, payment.amount, payment.value_date, CustomerMode.BY_AMOUNT, None, ample
    )


def _scheduled_failed(session: Session, payment: Payment) -> None:
    """A scheduled repayment whose payment failed frees its installment (servicing/scheduled.py)."""
    scheduled_id = (payment.allocation or {}).get("scheduled_id")
    if scheduled_id:
        row = session.scalars(
            for_update(select(ScheduledRepayment).where(ScheduledRepayment.id == scheduled_id))
        ).first()
        if row is not None and row.status == "taken":
            row.status = "failed"
            session.flush()


def _book_held(session: Session, payment: Payment, today: date | None) -> Settlement:
    """A scheduled repayment taken before its due date: all of it held as customer credit on the
    contract, applied by the daily close's credit step on the due date (servicing/credit.py)."""
    contract_ids = (payment.allocation or {}).get("contract_ids") or [payment.contract_id]
    contract = session.scalars(for_update(select(Contract).where(Contract.id == str(contract_ids[0])))).one()
    on, amount = payment.value_date, payment.amount
    held: Callable[[str, int], Repayment | Recovery] = lambda txn_id, seq: Repayment(  # noqa: E731
        txn_id, on, seq, amount, hold=True
    )
    if contract.status == Status.WRITTEN_OFF.value:  # written off since it was booked: a recovery
        held = _credit_booking(session, contract, payment)
    post_transaction(
        session,
        contract,
        held,
        business_date=_booking_date(session, payment, today),
        payment_id=payment.id,
        idempotency_key=payment.idempotency_key,
    )
    session.flush()
    return Settlement(payment.id, payment.state, "held", (contract.id,))


def _anything_open(session: Session, payment: Payment) -> bool:
    """Whether the customer has an active contract started by the payment's value date (unlocked: a
    contract closed meanwhile only sends the money to :func:`_book_as_credit`, which locks)."""
    stmt = select(Contract.id).where(
        Contract.customer_id == payment.customer_id,
        Contract.status == Status.ACTIVE.value,
        Contract.start_date <= payment.value_date,
    )
    return session.scalars(stmt.limit(1)).first() is not None


def _credit_holder(session: Session, payment: Payment) -> Contract | None:
    """The contract that holds money no open contract can take, locked: the one it was paid for if it
    can hold credit, else the customer's latest contract started by the value date, else their latest."""
    named = [str(c) for c in (payment.allocation or {}).get("contract_ids") or [payment.contract_id] if c]
    stmt = select(Contract).where(
        Contract.customer_id == payment.customer_id, Contract.status.in_(CREDIT_HOLDING_STATUSES)
    )
    candidates = session.scalars(stmt).all()
    if not candidates:
        return None

    def preference(c: Contract) -> tuple[bool, bool, date, str]:
        return (c.id in named, c.start_date <= payment.value_date, c.start_date, c.id)

    chosen = max(candidates, key=preference)
    return session.scalars(for_update(select(Contract).where(Contract.id == chosen.id))).one()


def _credit_booking(
    session: Session, contract: Contract, payment: Payment
) -> Callable[[str, int], Repayment | Recovery]:
    """What money arriving for ``contract`` books as when nothing open takes it (never refused)."""
    amount = payment.amount
    if contract.status == Status.WRITTEN_OFF.value:  # a recovery, never value-dated before the write-off
        on = max(payment.value_date, written_off_on(session, contract.id) or payment.value_date)
        return lambda txn_id, seq: Recovery(txn_id, on, seq, amount)
    # closed: the fold holds it as the contract's suspense (or allocates it, if the contract was still
    # open on the value date); active but started after the value date: held until it can pay
    on = max(payment.value_date, contract.start_date)
    hold = contract.status == Status.ACTIVE.value
    return lambda txn_id, seq: Repayment(txn_id, on, seq, amount, hold=hold)


def _book_as_credit(session: Session, payment: Payment, today: date | None, now: datetime) -> Settlement:
    """Money that arrived when nothing open could take it (the contract was paid off or written off
    while it was in flight): customer credit (unapplied funds) on the contract it was paid for."""
    holder = _credit_holder(session, payment)
    if holder is None:  # no contract ever disbursed: a request could not have been made; a person looks
        raise_issue(
            session,
            kind="settlement_unbookable",
            dedupe_key=f"settlement_unbookable:{payment.id}",
            source=EventSource.OPERATOR,
            now=now,
            payment_id=payment.id,
            details={"code": "NOTHING_TO_PAY", "message": "the customer has no contract to hold it"},
        )
        return Settlement(payment.id, payment.state, "unbookable")
    post_transaction(
        session,
        holder,
        _credit_booking(session, holder, payment),
        business_date=_booking_date(session, payment, today),
        payment_id=payment.id,
        idempotency_key=payment.idempotency_key,
    )
    session.flush()
    return Settlement(payment.id, payment.state, "credited", (holder.id,))


def _settle_inbound(session: Session, payment: Payment, today: date | None, now: datetime) -> Settlement:
    if payment.state != PaymentState.SUCCEEDED.value:
        _scheduled_failed(session, payment)
        return Settlement(payment.id, payment.state, "nothing_booked")
    if _booked(session, payment.id):
        return Settlement(payment.id, payment.state, "already_booked")
    if (payment.allocation or {}).get("hold"):
        return _book_held(session, payment, today)
    if not _anything_open(session, payment):
        return _book_as_credit(session, payment, today, now)
    try:
        plan = _plan_settled(session, payment)
    except BusinessRuleError as error:
        if error.code != "NOTHING_TO_PAY":
            raise
        return _book_as_credit(session, payment, today, now)  # closed meanwhile, under our feet
    lines = book_repayment(
        session,
        plan,
        business_date=_booking_date(session, payment, today),
        payment_id=payment.id,
        idempotency_key=payment.idempotency_key,
    )
    return Settlement(payment.id, payment.state, "booked", tuple(cid for cid, _ in plan.shares), lines)


def _settle_outbound(session: Session, payment: Payment, today: date | None) -> Settlement:
    if payment.contract_id is None:
        return Settlement(payment.id, payment.state, "nothing_booked")
    stmt = for_update(select(Contract).where(Contract.id == payment.contract_id))
    contract = session.scalars(stmt).one()
    if payment.state == PaymentState.FAILED.value:
        if contract.status == PENDING:
            contract.status = CANCELLED  # the limit it held is released with it
            session.flush()
        return Settlement(payment.id, payment.state, "cancelled", (contract.id,))
    if _booked(session, payment.id) or contract.status != PENDING:
        return Settlement(payment.id, payment.state, "already_booked", (contract.id,))
    on, amount = payment.value_date, payment.amount
    post_transaction(
        session,
        contract,
        lambda txn_id, seq: Disbursement(txn_id, on, seq, amount),
        business_date=_booking_date(session, payment, today),
        payment_id=payment.id,
        idempotency_key=payment.idempotency_key,
    )
    session.flush()
    return Settlement(payment.id, payment.state, "activated", (contract.id,))


def settle_payment(
    session: Session, payment_id: str, *, today: date | None = None, now: datetime | None = None
) -> Settlement:
    """Book what a terminal payment means (see the module docstring), in the caller's transaction."""
    payment = lock_payment(session, payment_id)
    if payment.state not in (PaymentState.SUCCEEDED.value, PaymentState.FAILED.value):
        return Settlement(payment.id, payment.state, "not_settled")
    if payment.direction == PaymentDirection.INBOUND.value:
        if payment.allocation is None:  # booked inline by repay() with a synchronous channel
            return Settlement(payment.id, payment.state, "already_booked")
        # the booking and the end of the payment's fault windows: one date, read once
        today = _booking_date(session, payment, today)
        settled = _settle_inbound(session, payment, today, now or utc_now())
    else:
        settled = _settle_outbound(session, payment, today)
    if payment.direction == PaymentDirection.INBOUND.value:
        end_payment_faults(session, payment, _booking_date(session, payment, today))
    _notify(session, payment, settled.outcome)
    return settled
