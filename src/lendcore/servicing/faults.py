"""Lender-fault windows in the database, and the penalty they waive.

:func:`record_fault` stores a window (``lender_faults``; kinds and scope: :mod:`lendcore.core.faults`),
audited. :func:`fault_windows` reads the windows covering a date as plain
:class:`~lendcore.core.faults.FaultWindow` values for the pure predicate
:func:`~lendcore.core.faults.in_lender_fault`.

:func:`waive_penalty_in_fault_windows` is the daily close's step after accrual: for every active
contract in a window on the business date, the penalty accrued since its windows' run started (those
that overlap or touch, :func:`~lendcore.core.faults.fault_span`) and not yet waived is waived
through the ordinary :func:`~lendcore.servicing.waive.waive` use case (a ``Waiver`` with reason
``SYSTEM_FAULT``, actor ``system``, audited, idempotent per fault, contract and date), so nobody is
charged for our fault; what of it the customer already paid (a window opened after they paid, the
same day) is refunded as customer credit (``Waiver.refund_paid``). Penalty accrued before the window
stays.

Windows opened automatically: :func:`open_payment_faults` (a repayment past its SLA, run after each
sweep) and, in :mod:`lendcore.batch.autopay`, a missed autopay run; :func:`end_payment_faults` closes
a payment's window when it is final (the settlement). Staff open one by hand through maker-checker
(approval kind ``lender-fault``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import BindParameter, ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.accrual import accrue
from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.faults import FaultKind, FaultWindow, fault_span, in_lender_fault
from lendcore.core.loan import WaiverKind
from lendcore.core.money import Fen, to_fen
from lendcore.jobs.outbox import enqueue
from lendcore.payments.records import lock_payment
from lendcore.payments.state import PaymentDirection
from lendcore.servicing.business_day import open_business_date
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.common import check_text
from lendcore.servicing.repository import lock_contract, state_as_of
from lendcore.servicing.standing import OPEN_STATES, judgements, restate
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.store.audit import record_audit
from lendcore.store.bounded import slices
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction, Payment
from lendcore.store.models_payments import LenderFault
from lendcore.store.types import utc_now

SYSTEM_FAULT: Final = "SYSTEM_FAULT"
SYSTEM_ACTOR: Final = "system"
#: How long after a window ends the close still waives penalty booked for its days (a grace period
#: lapsing after it, or a payment in flight that failed, books it later).
RECENT_DAYS: Final = 31


def record_fault(
    session: Session,
    *,
    kind: FaultKind,
    starts_on: date,
    reason: str,
    ends_on: date | None = None,
    contract_id: str | None = None,
    customer_id: str | None = None,
    payment_id: str | None = None,
    actor: str = SYSTEM_ACTOR,
    now: datetime | None = None,
) -> FaultWindow:
    """Store a fault window (checked: ``FAULT_WINDOW_INVALID``, ``REASON_REQUIRED``), audited."""
    why = check_text(reason, "REASON_REQUIRED", "a reason")
    window = FaultWindow("", FaultKind(kind), starts_on, ends_on, contract_id, customer_id)
    row = LenderFault(
        kind=window.kind.value,
        starts_on=starts_on,
        ends_on=ends_on,
        contract_id=contract_id,
        customer_id=customer_id,
        reason=why,
        actor=actor,
        payment_id=payment_id,
        raised_at=now or utc_now(),
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="fault.record",
        target_type="lender_fault",
        target_id=row.id,
        details={"kind": row.kind, "starts_on": starts_on.isoformat(), "contract_id": contract_id},
        reason=why,
    )
    return _window(row)


def open_payment_faults(session: Session, *, now: datetime | None = None) -> list[FaultWindow]:
    """A repayment raised past its SLA (``escalated_at``, by the sweeper) and still open is our fault:
    a ``payment_past_sla`` window for its customer from the payment's value date, open until the payment
    is final (:func:`end_payment_faults`), and the customer is told (a ``customer.notify`` job). Once per
    payment: the payment row is locked and a window naming it is not opened twice."""
    stmt = (
        select(Payment)
        .where(
            Payment.direction == PaymentDirection.INBOUND.value,
            Payment.escalated_at.is_not(None),
            Payment.state.in_(OPEN_STATES),
            ~exists().where(LenderFault.payment_id == Payment.id),
        )
        .order_by(Payment.value_date, Payment.id)
    )
    opened: list[FaultWindow] = []
    for payment_id in list(session.scalars(stmt.with_only_columns(Payment.id))):
        payment = lock_payment(session, payment_id)
        already = select(LenderFault.id).where(LenderFault.payment_id == payment.id).limit(1)
        if payment.state not in OPEN_STATES or session.scalars(already).first() is not None:
            continue
        window = record_fault(
            session,
            kind=FaultKind.PAYMENT_PAST_SLA,
            starts_on=payment.value_date,
            customer_id=payment.customer_id,
            payment_id=payment.id,
            reason=f"repayment {payment.id} still {payment.state} past its SLA",
            now=now,
        )
        notify_fault(session, payment.customer_id, window, payment_id=payment.id)
        opened.append(window)
    return opened


def notify_fault(
    session: Session,
    customer_id: str,
    window: FaultWindow,
    *,
    payment_id: str | None = None,
    template: str = "lender_fault_opened",
    fields: Mapping[str, Any] | None = None,
) -> None:
    """Tell the customer a window was opened for them (a ``customer.notify`` job, once per window):
    every window the system opens is told to the customer it covers, with its start and, when it has
    one, its end (``template`` and ``fields`` say what was missed)."""
    enqueue(
        session,
        "customer.notify",
        {
            **(fields or {}),
            "customer_id": customer_id,
            "payment_id": payment_id,
            "template": template,
            "fault_id": window.fault_id,
            "kind": window.kind.value,
            "starts_on": window.starts_on.isoformat(),
            **({"ends_on": window.ends_on.isoformat()} if window.ends_on else {}),
        },
        dedupe_key=f"notify:fault:{window.fault_id}",
    )


def record_manual_fault(
    session: Session,
    *,
    customer_id: str,
    starts_on: date,
    reason: str,
    actor: str,
    business_date: date,
    ends_on: date | None = None,
    contract_id: str | None = None,
) -> FaultWindow:
    """A window staff opened (approved through maker-checker, approval kind ``lender-fault``): for the
    customer, or one contract of theirs (``CONTRACT_NOT_FOUND`` otherwise); it may not start after the
    business date (``FAULT_WINDOW_INVALID``: a fault is something that happened). The customer is told."""
    if starts_on > business_date:
        raise ValidationError(
            f"a fault window cannot start ({starts_on}) after the business date ({business_date})",
            code="FAULT_WINDOW_INVALID",
        )
    if contract_id is not None:
        contract = session.get(Contract, contract_id)
        if contract is None or contract.customer_id != customer_id:
            raise NotFoundError(f"the customer has no contract {contract_id}", code="CONTRACT_NOT_FOUND")
    window = record_fault(
        session,
        kind=FaultKind.MANUAL,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        contract_id=contract_id,
        customer_id=None if contract_id else customer_id,
        actor=actor,
    )
    notify_fault(session, customer_id, window)
    return window


def end_payment_faults(session: Session, payment: Payment, on: date) -> int:
    """Close the windows a payment opened (it is final): they end on ``on`` (the open business date),
    so the close of that day still waives the penalty caught up for the days in flight."""
    rows = session.scalars(
        select(LenderFault).where(LenderFault.payment_id == payment.id, LenderFault.ends_on.is_(None))
    ).all()
    for row in rows:
        row.ends_on = max(on, row.starts_on)
        record_audit(
            session,
            actor=SYSTEM_ACTOR,
            action="fault.end",
            target_type="lender_fault",
            target_id=row.id,
            details={"ends_on": row.ends_on.isoformat(), "payment_state": payment.state},
            reason=f"payment {payment.id} {payment.state}",
        )
    return len(rows)


def _window(row: LenderFault) -> FaultWindow:
    return FaultWindow(
        row.id, FaultKind(row.kind), row.starts_on, row.ends_on, row.contract_id, row.customer_id
    )


def covering(on: date | BindParameter[date]) -> ColumnElement[bool]:
    """A lender-fault window covers ``on``: the rule of :func:`fault_windows` and of the repayment's
    check that any window does (``servicing.customers.lock_open_contracts_noting_faults``)."""
    return and_(LenderFault.starts_on <= on, or_(LenderFault.ends_on.is_(None), LenderFault.ends_on >= on))


def recent(on: date) -> ColumnElement[bool]:
    """A window covers ``on`` or ended in the :data:`RECENT_DAYS` before it (the waiver's look-back)."""
    since = on - timedelta(days=RECENT_DAYS)
    return and_(LenderFault.starts_on <= on, or_(LenderFault.ends_on.is_(None), LenderFault.ends_on >= since))


def in_recent_window_scope(on: date) -> ColumnElement[bool]:
    """The contract is in the scope of a recent (:func:`recent`) window that names it or its customer.
    (A window for everyone is the caller's to see: it would take every contract.) Two uncorrelated
    ``IN`` lists, read once, not a subquery per contract."""
    named = select(LenderFault.contract_id).where(recent(on), LenderFault.contract_id.is_not(None))
    customers = select(LenderFault.customer_id).where(
        recent(on), LenderFault.contract_id.is_(None), LenderFault.customer_id.is_not(None)
    )
    return or_(Contract.id.in_(named), Contract.customer_id.in_(customers))


def fault_windows(session: Session, on: date) -> list[FaultWindow]:
    """The windows covering ``on``."""
    stmt = select(LenderFault).where(covering(on))
    return [_window(row) for row in session.scalars(stmt.order_by(LenderFault.starts_on, LenderFault.id))]


def _penalty(state: LoanState) -> tuple[Fen, Fen]:
    return sum(r.penalty_accrued for r in state.rows), sum(r.penalty_waived for r in state.rows)


def _exact_penalty(state: LoanState) -> Decimal:
    return sum((r.penalty_exact for r in state.rows), Decimal(0))


def penalty_owed_back(
    session: Session,
    contract: Contract,
    window: FaultWindow,
    now: LoanState | None = None,
    *,
    on: date | None = None,
) -> tuple[Fen, Fen]:
    """The penalty of ``window``'s days on ``contract`` not yet waived, as (to waive, to refund): what
    is still outstanding of it is waived; what the customer already paid of it (a window opened after
    they paid the day's penalty) is refunded as customer credit. ``now``: the contract's state unless
    given. For a window that ended before ``on`` it is bounded by the penalty of the window's own days
    (accrued on the state the window started with): penalty booked after the window for days inside
    it (a grace period lapsing, a payment in flight that failed) is still ours."""
    now = contract_state(contract) if now is None else now
    before = state_as_of(session, contract, window.starts_on - timedelta(days=1))
    if before.penalty_through == before.accrued_through:  # not held by money in flight
        # accrued to the day before the window, as a nightly fold leaves it (a contract quiet in
        # aggregate has no nightly accrual to read; lendcore.core.quiet_overdue)
        before, _ = accrue(before, window.starts_on - timedelta(days=1))
    (accrued, waived), (accrued_before, waived_before) = _penalty(now), _penalty(before)
    owed = (accrued - accrued_before) - (waived - waived_before)
    if on is not None and window.ends_on is not None and window.ends_on < on:
        through, _ = accrue(before, window.ends_on)  # penalty to a date includes that day's DPD
        of_window_days = to_fen(_exact_penalty(through) - _exact_penalty(before), now.terms.rounding)
        owed = min(owed, of_window_days - (waived - waived_before))
    outstanding = sum(r.penalty_outstanding for r in now.rows) if now.status is Status.ACTIVE else 0
    to_waive = max(0, min(outstanding, owed))
    paid = sum(r.penalty_paid for r in now.rows)
    return to_waive, max(0, min(paid, owed - to_waive))


def penalty_to_waive(
    session: Session,
    contract: Contract,
    window: FaultWindow,
    now: LoanState | None = None,
    *,
    on: date | None = None,
) -> Fen:
    """The outstanding part of :func:`penalty_owed_back`."""
    return penalty_owed_back(session, contract, window, now, on=on)[0]


def recent_fault_windows(session: Session, on: date) -> list[FaultWindow]:
    """The windows covering ``on`` and those that ended in the :data:`RECENT_DAYS` before it."""
    stmt = select(LenderFault).where(recent(on))
    return [_window(row) for row in session.scalars(stmt.order_by(LenderFault.starts_on, LenderFault.id))]


def _window_for(windows: list[FaultWindow], contract: Contract, on: date) -> FaultWindow | None:
    """The run of the contract's windows covering ``on``, else its last that ended recently
    (:func:`~lendcore.core.faults.fault_span`)."""
    return fault_span(windows, contract_id=contract.id, customer_id=contract.customer_id, on=on)


def _candidates(session: Session, windows: list[FaultWindow], on: date) -> list[Contract]:
    """The contracts a window may owe penalty back, in id order: active with penalty, or paid by a
    repayment since the earliest window started (it may have paid a window day's penalty before the
    window was opened). Narrowed to the windows' contracts and customers (in bounded ``IN`` lists: a
    missed autopay day opens a window per contract due, tens of thousands on a large book) unless a
    window covers everyone."""
    paid_since = exists().where(
        LoanTransaction.contract_id == Contract.id,
        LoanTransaction.type.in_(("repayment", "credit-application")),
        LoanTransaction.value_date >= min(w.starts_on for w in windows),
    )
    stmt = select(Contract).where(
        Contract.start_date <= on,
        or_(
            and_(Contract.status == Status.ACTIVE.value, Contract.penalty_receivable > 0),
            and_(Contract.status.in_((Status.ACTIVE.value, Status.CLOSED.value)), paid_since),
        ),
    )
    if not all(w.contract_id or w.customer_id for w in windows):  # a window for everyone
        return list(session.scalars(stmt.order_by(Contract.id)))
    ids = sorted({w.contract_id for w in windows if w.contract_id})
    customers = sorted({w.customer_id for w in windows if w.customer_id and not w.contract_id})
    found: dict[str, Contract] = {}
    for column, values in ((Contract.id, ids), (Contract.customer_id, customers)):
        for some in slices(values):
            found.update((c.id, c) for c in session.scalars(stmt.where(column.in_(some))))
    return [found[cid] for cid in sorted(found)]


def waive_fault_penalty_before_payment(session: Session, contracts: Iterable[Contract], on: date) -> int:
    """Waive, before a payment value-dated ``on`` is planned, the penalty of every lender-fault window
    covering ``on`` on ``contracts`` — the day's own penalty included, which the payment's accrual
    would add and collect before the close could waive it (the simulation found customers paying
    penalty for an outage day). Only for a payment on the open business date: a backdated one is
    replayed after that day's close, whose waiver comes first. How many contracts had penalty waived."""
    if not fault_windows(session, on) or on != open_business_date(session):  # usually none
        return 0
    windows = recent_fault_windows(session, on)  # a window covering ``on`` runs on from those touching it
    waived = 0
    for contract in contracts:
        if in_lender_fault(windows, contract_id=contract.id, customer_id=contract.customer_id, on=on) is None:
            continue
        window = _window_for(windows, contract, on)
        if window is None or contract.status != Status.ACTIVE.value or contract.start_date >= on:
            continue
        accrued, _ = accrue(contract_state(contract), on)
        amount = penalty_to_waive(session, contract, window, accrued)
        if amount > 0:
            waive(session, _system_waiver(contract, window, on, amount, f":before-payment:{amount}"))
            waived += 1
    return waived


# ``when``: "" for the close's waiver, ":refund" for its refund of penalty already paid,
# ":before-payment:<amount>" for one ahead of a payment
def _system_waiver(
    contract: Contract, window: FaultWindow, on: date, amount: Fen, when: str, *, refund: bool = False
) -> WaiveRequest:
    return WaiveRequest(
        contract_id=contract.id,
        kind=WaiverKind.PENALTY,
        reason=f"{SYSTEM_FAULT}: {window.kind.value} {window.fault_id}",
        actor=SYSTEM_ACTOR,
        business_date=on,
        idempotency_key=f"fault:{window.fault_id}:{contract.id}:{on.isoformat()}{when}",
        amount=amount,
        at_most=True,  # a late payment value-dated before it may pay what it waives
        refund_paid=refund,
    )


def waive_penalty_in_fault_windows(factory: sessionmaker[Session], business_date: date) -> int:
    """Waive penalty inside the fault windows covering ``business_date`` (see the module docstring);
    how many contracts had penalty waived. One transaction per contract."""
    with unit_of_work(factory, read_only=True) as session:
        windows = recent_fault_windows(session, business_date)
        if not windows:
            return 0
        ids = [c.id for c in _candidates(session, windows, business_date)]
    waived = 0
    for contract_id in ids:
        with unit_of_work(factory) as session:
            contract = lock_contract(session, contract_id)
            window = _window_for(windows, contract, business_date)
            if window is None:
                continue
            amount, refund = penalty_owed_back(session, contract, window, on=business_date)
            if amount <= 0 and refund <= 0:
                continue
            prior_max = contract.max_days_past_due
            if amount > 0:
                waive(session, _system_waiver(contract, window, business_date, amount, ""))
            if refund > 0:  # paid before the window was opened: given back as customer credit
                waive(
                    session, _system_waiver(contract, window, business_date, refund, ":refund", refund=True)
                )
            # the waiver judged the contract's own rows: judge it again as the close does
            covering = [w for w in windows if w.covers(business_date)]
            judged = judgements(session, [contract], business_date, covering).get(contract.id)
            if judged is not None:
                restate(contract, contract_state(contract), judged, prior_max)
            waived += 1
    return waived
