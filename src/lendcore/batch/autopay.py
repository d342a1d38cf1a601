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

The job runs :func:`run_autopay_chunked`: the contracts due, in id order, ``chunk`` (default 1,000)
per transaction, each chunk's requests, submit jobs and notifications committed together, so memory
and transaction length are bounded by the chunk, not by the day's book (one transaction for 100,000
contracts held 2.3 GB and 13 minutes of locks). A run killed between chunks (or in one: that chunk
rolls back whole) is resumed by running it again: the key above is the marker, a contract whose key
already has a payment is skipped (``already_requested``, looked up for the whole chunk in one query),
so a rerun of the same date and attempt requests nothing twice; two runs racing meet on the key's
unique index and one chunk rolls back. :func:`run_autopay` does the same in the caller's transaction
(the CLI, tests).

A missed run is a lender fault: :func:`record_missed_runs`, run at the start of each morning run for
each of the days before (:func:`record_missed_days`: a scheduler down for days misses none), finds
contracts due on a day for which no ``autopay.run`` job succeeded, whose customer had a mandate by
then, and records an ``autopay_missed`` window from that day
(:func:`~lendcore.servicing.faults.record_fault`), so the close charges no penalty for our failure
to collect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode, amount_due
from lendcore.core.contract import Status
from lendcore.core.faults import FaultKind
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.origination.autopay import MandateRole, active_mandates, has_autopay_consent
from lendcore.servicing.common import scoped_key
from lendcore.servicing.faults import record_fault
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.repository import state_as_of
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Payment, ScheduleRow, UnappliedFunds
from lendcore.store.models_autopay import AutopayMandate
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault

JOB_KIND: Final = "autopay.run"
#: How many days back each morning run looks for days that had no successful run.
MISSED_RUN_LOOK_BACK_DAYS: Final = 7
ATTEMPTS: Final = (1, 2)
#: Failure codes worth a second try the same day on the same card.
RETRYABLE_FAILURES: Final = frozenset({"INSUFFICIENT_FUNDS", "BANK_MAINTENANCE"})
IN_FLIGHT: Final = ("created", "processing")
DEFAULT_CHUNK: Final = 1_000


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


def contracts_due(
    session: Session, day: date, *, after: str | None = None, limit: int | None = None
) -> list[Contract]:
    """Active contracts with an installment of their current schedule due on ``day``, by id (those
    after ``after``, at most ``limit``)."""
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
    if after is not None:
        stmt = stmt.where(Contract.id > after)
    if limit is not None:
        stmt = stmt.limit(limit)
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
    contracts = contracts_due(session, business_date)
    requested = _requested(session, contracts, business_date, attempt)
    for contract in contracts:
        _autopay_one(session, contract, report, requested, now)
    return report


def run_autopay_chunked(
    session_factory: sessionmaker[Session],
    business_date: date,
    attempt: int,
    *,
    now: datetime,
    chunk: int = DEFAULT_CHUNK,
    after_chunk: Callable[[AutopayReport], None] | None = None,
) -> AutopayReport:
    """:func:`run_autopay`, ``chunk`` contracts per transaction, resumable (see the module docstring).
    ``after_chunk`` is called with the report so far after each chunk commits."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    report = AutopayReport(business_date, attempt)
    after: str | None = None
    while True:
        with unit_of_work(session_factory) as session:
            contracts = contracts_due(session, business_date, after=after, limit=chunk)
            requested = _requested(session, contracts, business_date, attempt)
            for contract in contracts:
                _autopay_one(session, contract, report, requested, now)
        if not contracts:
            return report
        after = contracts[-1].id
        if after_chunk is not None:
            after_chunk(report)
        if len(contracts) < chunk:
            return report


def _requested(session: Session, contracts: Sequence[Contract], day: date, attempt: int) -> frozenset[str]:
    """The contracts among ``contracts`` already requested on this date and attempt (one query)."""
    keys = {scoped_key("repay-request", autopay_key(c.id, day, attempt)): c.id for c in contracts}
    if not keys:
        return frozenset()
    found = session.scalars(select(Payment.idempotency_key).where(Payment.idempotency_key.in_(keys)))
    return frozenset(keys[k] for k in found if k is not None)


def _autopay_one(
    session: Session, contract: Contract, report: AutopayReport, requested: frozenset[str], now: datetime
) -> None:
    day, attempt = report.business_date, report.attempt
    key = autopay_key(contract.id, day, attempt)
    if contract.id in requested:
        report.skipped[contract.id] = "already_requested"
        return
    due = amount_due(state_as_of(session, contract, day), day)
    credit = _credit(session, contract.customer_id)
    why = _skip_reason(session, contract, due, credit, now)
    if why is not None:
        report.skipped[contract.id] = why
        return
    # customer credit already held (a scheduled repayment taken) pays at the close: not debited again
    owed = due - credit
    mandate, no_card = _card(session, contract, day, attempt, active_mandates(session, contract.customer_id))
    if mandate is None:
        report.skipped[contract.id] = no_card
        return
    request = RepayRequest(
        customer_id=contract.customer_id,
        business_date=day,
        idempotency_key=key,
        amount=owed,
        mode=CustomerMode.BY_CONTRACT,
        contract_ids=(contract.id,),
        account_token=f"card:{mandate.bank_card_id}",
    )
    result = request_repayment(session, request, now=now)
    report.requested[contract.id] = result.payment_id
    _notify(session, contract, result.payment_id, owed, attempt)


def _skip_reason(session: Session, contract: Contract, due: int, credit: int, now: datetime) -> str | None:
    if due <= 0:
        return "nothing_due"
    if due <= credit:
        return "covered_by_credit"
    if not has_autopay_consent(session, contract.customer_id, now):
        return "no_consent"
    if _in_flight(session, contract.customer_id):
        return "payment_in_flight"
    return None


def _credit(session: Session, customer_id: str) -> int:
    row = session.get(UnappliedFunds, customer_id)
    return row.balance if row is not None else 0


def _days_run(session: Session) -> set[str]:
    """The business dates (ISO) with a succeeded autopay run (read once per look back)."""
    done = select(Job.payload).where(Job.kind == JOB_KIND, Job.status == "succeeded")
    return {str(p.get("business_date")) for p in session.scalars(done).all()}


def _mandated_on(session: Session, customer_id: str, day: date) -> bool:
    """Whether the customer had an active mandate by the end of ``day`` (one made later was not ours
    to run that day)."""
    return any(
        m.created_at.astimezone(BUSINESS_TZ).date() <= day
        for m in active_mandates(session, customer_id).values()
    )


def record_missed_days(session: Session, today: date, *, now: datetime) -> list[str]:
    """:func:`record_missed_runs` for each of the :data:`MISSED_RUN_LOOK_BACK_DAYS` days before
    ``today``, oldest first: a scheduler down for several days leaves every one of them a fault, not
    only the last (each is raised once, so looking again costs queries, not faults)."""
    days = (today - timedelta(days=back) for back in range(MISSED_RUN_LOOK_BACK_DAYS, 0, -1))
    ran = _days_run(session)
    return [cid for day in days for cid in record_missed_runs(session, day, now=now, days_run=ran)]


def record_missed_runs(
    session: Session, day: date, *, now: datetime, days_run: set[str] | None = None
) -> list[str]:
    """Record an ``autopay_missed`` fault from ``day`` for each contract due that day with a mandate
    when no autopay run for ``day`` succeeded (none enqueued, or dead); the contracts raised (once each).
    ``days_run``: the days with a succeeded run, when the caller has read them already."""
    if day.isoformat() in (_days_run(session) if days_run is None else days_run):
        return []
    raised = []
    for contract in contracts_due(session, day):
        if not _mandated_on(session, contract.customer_id, day):
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
