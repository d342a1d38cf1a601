"""Scheduled repayment (预约还款): money taken on a chosen day, applied on the due date.

Rules (docs/payments.md, "Scheduled repayment"):

* **Booking** (:func:`book_scheduled`, idempotent, scope ``scheduled-repayment``): for the next unpaid
  installment of one of the customer's active contracts (or the named ``period``), from
  :data:`BOOKABLE_DAYS` (10) days before its due date (``SCHEDULED_TOO_EARLY``), for a take date after
  today (``SCHEDULED_DATE_NOT_FUTURE``) and not after the due date (``SCHEDULED_AFTER_DUE_DATE``), for
  at most what will be due on the due date (``SCHEDULED_AMOUNT_TOO_LARGE``; the default amount), once
  per installment (``SCHEDULED_ALREADY_BOOKED``, backed by a partial unique index).
* **Cancelling** (:func:`cancel_scheduled`): a booked one, before its take date
  (``SCHEDULED_NOT_CANCELLABLE``); another customer's is ``SCHEDULED_NOT_FOUND``.
* **Taking** (:func:`take_scheduled`, the ``scheduled.take`` job of each day): every booked one whose
  take date has come (and whose due date has not passed) becomes a repayment through
  :func:`~lendcore.servicing.settlement.request_repayment`, value-dated that day, key
  ``scheduled:<id>``, marked ``hold``: when it succeeds, settlement books it as customer credit on the
  contract (:class:`~lendcore.core.loan.Repayment` with ``hold``), and the daily close's credit step
  (:mod:`lendcore.servicing.credit`) applies it to the installment on its due date, not before. A
  booking still ``booked`` after its due date was never taken because no take ran on any day from its
  take date to its due date (every worker down): that is our fault, not the customer's. It is
  ``failed`` (``due_date_passed``, the customer is told) and a ``scheduled_missed`` lender-fault
  window for its contract runs from the due date to :data:`MISSED_FAULT_DAYS` after the day it was
  found, so the close waives the penalty, and suppresses the overdue status, of those days while the
  customer pays by other means. A booking the repayment refuses on its day is ``failed`` (the customer
  told to pay by the due date), unless the contract was paid off meanwhile: then nothing is owed, and
  it is ``cancelled`` (the customer told it was not needed). A failed payment makes
  the booking ``failed`` (settlement), freeing the installment for another booking or payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode, amount_due
from lendcore.core.contract import InstallmentState, LoanState, Status
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError
from lendcore.core.faults import MISSED_FAULT_DAYS, FaultKind
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.jobs.outbox import enqueue
from lendcore.servicing.common import check_amount
from lendcore.servicing.customers import check_customer
from lendcore.servicing.faults import notify_fault, record_fault
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.repository import lock_contract, state_as_of
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract, Payment
from lendcore.store.models_notify import SCHEDULED_HOLDING, ScheduledRepayment
from lendcore.store.types import utc_now

BOOKABLE_DAYS: Final = 10
JOB_KIND: Final = "scheduled.take"


@dataclass(frozen=True, slots=True)
class ScheduleRepaymentRequest(JsonRecord):
    customer_id: str
    contract_id: str
    take_on: date
    business_date: date
    idempotency_key: str
    amount: Fen | None = None  # default: what will be due on the due date
    period: int | None = None  # default: the next unpaid installment
    account_token: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduledRepaymentView(JsonRecord):
    id: str
    customer_id: str
    contract_id: str
    period: int
    due_date: date
    take_on: date
    amount: Fen
    status: str
    booked_on: date
    payment_id: str | None = None


def view(row: ScheduledRepayment) -> ScheduledRepaymentView:
    return ScheduledRepaymentView(
        row.id, row.customer_id, row.contract_id, row.period, row.due_date, row.take_on, row.amount,
        row.status, row.booked_on, row.payment_id,
    )  # fmt: skip


def _installment(state: LoanState, on: date, period: int | None) -> InstallmentState:
    unpaid = [r for r in state.rows if r.settled_on is None and r.due_date >= on]
    chosen = [r for r in unpaid if r.period == period] if period is not None else unpaid[:1]
    if not chosen:
        raise BusinessRuleError(
            f"no installment {'#' + str(period) + ' ' if period else ''}falls due from {on}",
            code="SCHEDULED_NO_INSTALLMENT",
        )
    return chosen[0]


def _refuse(code: str, message: str, **details: Any) -> BusinessRuleError:
    return BusinessRuleError(message, code=code, **details)


def _check_window(row: InstallmentState, take_on: date, today: date) -> None:
    if take_on <= today:
        raise _refuse("SCHEDULED_DATE_NOT_FUTURE", f"the take date {take_on} must be after today ({today})")
    if take_on > row.due_date:
        raise _refuse(
            "SCHEDULED_AFTER_DUE_DATE", f"the take date {take_on} is after the due date {row.due_date}"
        )
    opens = row.due_date - timedelta(days=BOOKABLE_DAYS)
    if today < opens:
        raise _refuse(
            "SCHEDULED_TOO_EARLY",
            f"a repayment for the installment due {row.due_date} can be booked from {opens}",
            opens_on=opens.isoformat(),
        )


def _holding(session: Session, contract_id: str, period: int) -> ScheduledRepayment | None:
    stmt = select(ScheduledRepayment).where(
        ScheduledRepayment.contract_id == contract_id,
        ScheduledRepayment.period == period,
        ScheduledRepayment.status.in_(SCHEDULED_HOLDING),
    )
    return session.scalars(stmt).first()


def _already(contract_id: str, period: int) -> ConflictError:
    return ConflictError(
        f"a repayment is already scheduled for installment {period} of {contract_id}",
        code="SCHEDULED_ALREADY_BOOKED",
    )


def _notify(session: Session, row: ScheduledRepayment, template: str) -> None:
    enqueue(
        session,
        NOTIFY_JOB,
        {
            "customer_id": row.customer_id, "template": template, "amount": row.amount,
            "take_on": row.take_on.isoformat(), "due_date": row.due_date.isoformat(),
            "contract_id": row.contract_id, "scheduled_id": row.id,
        },
        dedupe_key=f"notify:{row.id}:{template}",
    )  # fmt: skip


@idempotent("scheduled-repayment", ScheduledRepaymentView)
def book_scheduled(session: Session, request: ScheduleRepaymentRequest) -> ScheduledRepaymentView:
    """Book a scheduled repayment (module docstring); refusals write nothing."""
    if request.amount is not None:
        check_amount(request.amount)
    check_customer(session, request.customer_id)
    contract = lock_contract(session, request.contract_id)
    if contract.customer_id != request.customer_id:  # another customer's contract: not found, to them
        raise NotFoundError(f"no contract {request.contract_id}", code="CONTRACT_NOT_FOUND")
    if contract.status != Status.ACTIVE.value:
        raise _refuse("CONTRACT_NOT_OPEN", f"contract {contract.id} is not open")
    today = request.business_date
    state = state_as_of(session, contract, today)
    row = _installment(state, today, request.period)
    _check_window(row, request.take_on, today)
    will_be_due = amount_due(state, row.due_date)
    if will_be_due <= 0:
        raise _refuse("SCHEDULED_NOTHING_DUE", f"nothing will be due on {row.due_date}")
    amount = request.amount if request.amount is not None else will_be_due
    if amount > will_be_due:
        raise _refuse(
            "SCHEDULED_AMOUNT_TOO_LARGE",
            f"{amount} fen is more than will be due on {row.due_date} ({will_be_due} fen)",
            will_be_due=will_be_due,
        )
    if _holding(session, contract.id, row.period) is not None:
        raise _already(contract.id, row.period)
    booked = ScheduledRepayment(
        customer_id=contract.customer_id, contract_id=contract.id, period=row.period, due_date=row.due_date,
        take_on=request.take_on, amount=amount, account_token=request.account_token, status="booked",
        booked_on=today,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(booked)
            session.flush()
    except IntegrityError:  # a concurrent booking of the same installment won
        raise _already(contract.id, row.period) from None
    record_audit(
        session, actor=contract.customer_id, action="scheduled_repayment.book",
        target_type="scheduled_repayment",
        target_id=booked.id, details={"contract_id": contract.id, "period": row.period, "amount": amount,
                                      "take_on": request.take_on.isoformat()},
    )  # fmt: skip
    _notify(session, booked, "scheduled_booked")
    return view(booked)


def _own(session: Session, scheduled_id: str, customer_id: str | None, *, lock: bool) -> ScheduledRepayment:
    stmt = select(ScheduledRepayment).where(ScheduledRepayment.id == scheduled_id)
    row = session.scalars(for_update(stmt) if lock else stmt).first()
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise NotFoundError(f"no scheduled repayment {scheduled_id}", code="SCHEDULED_NOT_FOUND")
    return row


def cancel_scheduled(
    session: Session, scheduled_id: str, *, customer_id: str | None, business_date: date, actor: str
) -> ScheduledRepaymentView:
    """Cancel a booked scheduled repayment before its take date (``customer_id``: only theirs)."""
    row = _own(session, scheduled_id, customer_id, lock=True)
    if row.status != "booked" or business_date >= row.take_on:
        raise ConflictError(
            f"scheduled repayment {row.id} is {row.status} (take date {row.take_on}): it cannot be cancelled",
            code="SCHEDULED_NOT_CANCELLABLE",
        )
    row.status, row.cancelled_at = "cancelled", utc_now()
    record_audit(
        session, actor=actor, action="scheduled_repayment.cancel", target_type="scheduled_repayment",
        target_id=row.id, details={"contract_id": row.contract_id, "period": row.period},
    )  # fmt: skip
    _notify(session, row, "scheduled_cancelled")
    session.flush()
    return view(row)


def get_scheduled(session: Session, scheduled_id: str, *, customer_id: str | None) -> ScheduledRepaymentView:
    return view(_own(session, scheduled_id, customer_id, lock=False))


def list_scheduled(session: Session, customer_id: str) -> list[ScheduledRepaymentView]:
    stmt = select(ScheduledRepayment).where(ScheduledRepayment.customer_id == customer_id)
    rows = session.scalars(stmt.order_by(ScheduledRepayment.take_on, ScheduledRepayment.id))
    return [view(r) for r in rows]


@dataclass(frozen=True, slots=True)
class TakeReport:
    business_date: date
    taken: dict[str, str] = field(default_factory=dict)  # scheduled id -> payment id
    failed: dict[str, str] = field(default_factory=dict)  # scheduled id -> why

    def to_json(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(), "taken": dict(self.taken),
            "failed": dict(self.failed),
        }  # fmt: skip


def take_scheduled(session: Session, day: date, *, now: datetime) -> TakeReport:
    """Take the booked repayments whose day has come (module docstring), in the caller's transaction.
    Idempotent: a taken one is no longer ``booked``; the repayment's key is the booking's id."""
    report = TakeReport(day)
    stmt = select(ScheduledRepayment).where(
        ScheduledRepayment.status == "booked", ScheduledRepayment.take_on <= day
    )
    for row in session.scalars(for_update(stmt.order_by(ScheduledRepayment.id))).all():
        if day > row.due_date:  # no take ran from its take date to its due date: ours, not theirs
            row.status = "failed"
            report.failed[row.id] = "due_date_passed"
            _record_missed(session, row, day, now)
            continue
        request = RepayRequest(
            customer_id=row.customer_id, business_date=day, idempotency_key=f"scheduled:{row.id}",
            amount=row.amount, mode=CustomerMode.BY_CONTRACT, contract_ids=(row.contract_id,),
            account_token=row.account_token,
        )  # fmt: skip
        try:
            with session.begin_nested():
                result = request_repayment(session, request, now=now, max_overpayment=row.amount)
                mark_hold(session, result.payment_id, row.id)
        except BusinessRuleError as error:  # the contract closed meanwhile, …: nothing to take
            report.failed[row.id] = error.code
            _refused(session, row, now)
            continue
        row.status, row.payment_id, row.taken_at = "taken", result.payment_id, now
        report.taken[row.id] = result.payment_id
    session.flush()
    return report


def _refused(session: Session, row: ScheduledRepayment, now: datetime) -> None:
    """A booking the repayment refused. Paid off meanwhile (the contract closed): nothing is owed, so
    it is ``cancelled`` and the customer told it was not needed (telling them to pay would be false).
    Otherwise (frozen, written off, less now due than booked, …) it is ``failed`` and they are told to
    pay by the due date themselves."""
    contract = session.get(Contract, row.contract_id)
    if contract is not None and contract.status == Status.CLOSED.value:
        row.status, row.cancelled_at = "cancelled", now
        _notify(session, row, "scheduled_not_needed")
        return
    row.status = "failed"
    _notify(session, row, "scheduled_missed")


def _record_missed(session: Session, row: ScheduledRepayment, day: date, now: datetime) -> None:
    """The ``scheduled_missed`` window of a booking no take ran for, and the customer told of it (what
    was missed, that it costs them nothing, and the day to pay by)."""
    window = record_fault(
        session, kind=FaultKind.SCHEDULED_MISSED, starts_on=row.due_date,
        ends_on=day + timedelta(days=MISSED_FAULT_DAYS), contract_id=row.contract_id,
        customer_id=row.customer_id, reason=f"scheduled repayment {row.id} not taken by {row.due_date}",
        now=now,
    )  # fmt: skip
    fields = {"amount": row.amount, "take_on": row.take_on.isoformat(), "contract_id": row.contract_id,
              "scheduled_id": row.id}  # fmt: skip
    notify_fault(session, row.customer_id, window, template="scheduled_missed_ours", fields=fields)


def mark_hold(session: Session, payment_id: str, scheduled_id: str) -> None:
    """Tell settlement to hold the money as customer credit (applied on the due date by the close)."""
    payment = session.get(Payment, payment_id)
    if payment is not None and payment.allocation is not None:
        payment.allocation = {**payment.allocation, "hold": True, "scheduled_id": scheduled_id}
        session.flush()
