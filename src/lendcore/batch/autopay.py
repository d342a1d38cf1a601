"""The autopay run (``autopay.run`` job, 09:30 and 15:30 Asia/Shanghai; docs/payments.md "Autopay").

For each active contract with an installment due on the business date and something owed on it
(:func:`~lendcore.core.allocation.amount_due`: everything due on or before the day, penalty included),
whose customer has an active mandate and an active ``autopay_debit`` consent and no inbound payment
in flight, :func:`run_autopay` requests that amount by contract through
:func:`~lendcore.servicing.settlement.request_repayment` with the key
``autopay:<contract>:<date>:<attempt>`` (so a run redelivered, or run twice, requests once), on the
mandated card (``account_token`` ``card:<card id>``); the worker submits it and ``payment.settled``
books it. The customer is told (a ``customer.notify`` job per request).

Attempt 1 uses the primary card (the fallback card when there is no primary). Attempt 2 looks at
attempt 1's payment: paid or still in flight, nothing to do; failed with a retryable code
(:data:`RETRYABLE_FAILURES`: the money may be there in the afternoon) the same card again; failed
otherwise (a frozen card, a revoked agreement), the fallback card, or nothing if there is none.

A missed run is a lender fault: :func:`record_missed_runs` (run at the start of each morning run for
the day before) finds contracts due on a day for which no ``autopay.run`` job succeeded and records an
``autopay_missed`` window from that day (:func:`~lendcore.servicing.faults.record_fault`), so the
close charges no penalty for our failure to collect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode, amount_due
from lendcore.core.contract import Status
from lendcore.core.faults import FaultKind
from lendcore.jobs.outbox import enqueue
from lendcore.origination.autopay import MandateRole, active_mandates, has_autopay_consent
from lendcore.servicing.common import scoped_key
from lendcore.servicing.faults import record_fault
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.repository import state_as_of
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.models import Contract, Payment, ScheduleRow, UnappliedFunds
from lendcore.store.models_autopay import AutopayMandate
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault

JOB_KIND: Final = "autopay.run"
ATTEMPTS: Final = (1, 2)
#: Failure codes worth a second try the same day on the same card.
RETRYABLE_FAILURES: Final = frozenset({"INSUFFICIENT_FUNDS", "BANK_MAINTENANCE"})
IN_FLIGHT: Final = ("created", "processing")


def autopay_key(contract_id: str, day: date, attempt: int) -> str:
    return f"autopay:{contract_id}:{day.isoformat()}:{attempt}"


@dataclass(frozen=True, slots=True)
class AutopayReport:
    business_date: date
    attempt: int
    requested: dict[str, str] = field(default_factory=dict)  # contract id -> payment id
    skipped: dict[str, str] = field(default_factory=dict)  # contract id -> why

    def to_json(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(), "attempt": self.attempt,
            "requested": dict(self.requested), "skipped": dict(self.skipped),
        }  # fmt: skip


def contracts_due(session: Session, day: date) -> list[Contract]:
    """Active contracts with an installment of their current schedule due on ``day``, by id."""
    stmt = (
        select(Contract)
        .join(ScheduleRow, ScheduleRow.contract_id == Contract.id)
        .where(
            Contract.status == Status.ACTIVE.value,
            ScheduleRow.version == Contract.schedule_version,
            ScheduleRow.due_date == day,
        )
        .order_by(Contract.id)
    )
    return list(session.scalars(stmt).unique())


def _payment_by_key(session: Session, key: str) -> Payment | None:
    stmt = select(Payment).where(Payment.idempotency_key == scoped_key("repay-request", key))
    return session.scalars(stmt).first()


def _in_flight(session: Session, customer_id: str) -> bool:
    stmt = select(Payment.id).where(
        Payment.customer_id == customer_id, Payment.direction == "inbound", Payment.state.in_(IN_FLIGHT)
    )
    return session.scalars(stmt.limit(1)).first() is not None


def _card(
    session: Session, contract: Contract, day: date, attempt: int, mandates: dict[MandateRole, AutopayMandate]
) -> tuple[AutopayMandate | None, str]:
    """The mandate to debit on this attempt, or None and why not."""
    primary = mandates.get(MandateRole.PRIMARY) or mandates.get(MandateRole.FALLBACK)
    fallback = mandates.get(MandateRole.FALLBACK) if MandateRole.PRIMARY in mandates else None
    if attempt == 1:
        return primary, "no_mandate"
    first = _payment_by_key(session, autopay_key(contract.id, day, 1))
    if first is None or first.state != "failed":  # not tried this morning: try now, as a first
        return primary, "no_mandate"
    if first.failure_code in RETRYABLE_FAILURES:
        return primary, "no_mandate"
    return fallback, "not_retryable_no_fallback"


def _notify(session: Session, contract: Contract, payment_id: str, amount: int, attempt: int) -> None:
    enqueue(
        session,
        NOTIFY_JOB,
        {
            "customer_id": contract.customer_id, "payment_id": payment_id, "template": "autopay_requested",
            "contract_id": contract.id, "amount": amount, "attempt": attempt,
        },
        dedupe_key=f"notify:{payment_id}:autopay_requested",
    )  # fmt: skip


def run_autopay(session: Session, business_date: date, attempt: int, *, now: datetime) -> AutopayReport:
    """Request today's autopay debits (see the module docstring), in the caller's transaction."""
    report = AutopayReport(business_date, attempt)
    for contract in contracts_due(session, business_date):
        key = autopay_key(contract.id, business_date, attempt)
        why = _skip_reason(session, contract, business_date, key, now)
        if why is not None:
            report.skipped[contract.id] = why
            continue
        # customer credit already held (a scheduled repayment taken) pays at the close: not debited again
        owed = amount_due(state_as_of(session, contract, business_date), business_date) - _credit(
            session, contract.customer_id
        )
        mandate, no_card = _card(
            session, contract, business_date, attempt, active_mandates(session, contract.customer_id)
        )
        if mandate is None:
            report.skipped[contract.id] = no_card
            continue
        request = RepayRequest(
            customer_id=contract.customer_id,
            business_date=business_date,
            idempotency_key=key,
            amount=owed,
            mode=CustomerMode.BY_CONTRACT,
            contract_ids=(contract.id,),
            account_token=f"card:{mandate.bank_card_id}",
        )
        result = request_repayment(session, request, now=now)
        report.requested[contract.id] = result.payment_id
        _notify(session, contract, result.payment_id, owed, attempt)
    return report


def _skip_reason(session: Session, contract: Contract, day: date, key: str, now: datetime) -> str | None:
    if _payment_by_key(session, key) is not None:
        return "already_requested"
    owed = amount_due(state_as_of(session, contract, day), day)
    if owed <= 0:
        return "nothing_due"
    if owed <= _credit(session, contract.customer_id):
        return "covered_by_credit"
    if not has_autopay_consent(session, contract.customer_id, now):
        return "no_consent"
    if _in_flight(session, contract.customer_id):
        return "payment_in_flight"
    return None


def _credit(session: Session, customer_id: str) -> int:
    row = session.get(UnappliedFunds, customer_id)
    return row.balance if row is not None else 0


def _ran_for(session: Session, day: date) -> bool:
    done = select(Job.payload).where(Job.kind == JOB_KIND, Job.status == "succeeded")
    jobs = session.scalars(done).all()
    return any(p.get("business_date") == day.isoformat() for p in jobs)


def record_missed_runs(session: Session, day: date, *, now: datetime) -> list[str]:
    """Record an ``autopay_missed`` fault from ``day`` for each contract due that day with a mandate
    when no autopay run for ``day`` succeeded (none enqueued, or dead); the contracts raised (once each)."""
    if _ran_for(session, day):
        return []
    raised = []
    for contract in contracts_due(session, day):
        if not active_mandates(session, contract.customer_id):
            continue
        exists = session.scalars(
            select(LenderFault.id).where(
                LenderFault.kind == FaultKind.AUTOPAY_MISSED.value,
                LenderFault.contract_id == contract.id,
                LenderFault.starts_on == day,
            )
        ).first()
        if exists is None:
            record_fault(
                session, kind=FaultKind.AUTOPAY_MISSED, starts_on=day, contract_id=contract.id,
                customer_id=contract.customer_id, reason=f"no autopay run for {day}", now=now,
            )  # fmt: skip
            raised.append(contract.id)
    return raised


def yesterday(day: date) -> date:
    return day - timedelta(days=1)
