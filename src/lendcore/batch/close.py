"""The end-of-day close (日终批量): accrue every active contract to the business date, then check the books.

:func:`run_daily_close` ``(session_factory, business_date)``:

1. claims the ``daily-close`` job for the date (``job_runs``, unique per job and date). A date already
   closed successfully is not closed again: the rerun does nothing and says so.
2. applies customer credit: every customer holding unapplied funds who has an active contract gets
   them applied to what is due on the business date (:func:`~lendcore.servicing.credit.apply_customer_credit`,
   a repayment's order and waterfall), one transaction per chunk of customers, *before* penalty
   accrues for the date: a row falling due today is paid today, and a customer with enough credit
   never goes overdue. Idempotent: after it, either no credit is left or nothing is due.
3. processes active contracts in chunks of ``chunk_size``, one transaction per chunk: each contract is
   locked, gets one :class:`~lendcore.core.loan.PenaltyAccrual` value-dated on the business date
   (interest and penalty accrued up to it, postings at the close), and its DPD, bucket and five-level
   classification are updated. The accrual row itself marks the contract done for the date, so a close
   that failed half-way resumes where it stopped.
4. checks the invariants (:func:`~lendcore.servicing.invariants.check_invariants`): every entry
   balances, the trial balance balances, sub-ledger = control accounts, cash received = allocated +
   unapplied. A failed check marks the job ``failed`` (a rerun processes nothing new and checks again).
5. reports counts, the credit applied (per application) and timing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.contract import Status
from lendcore.core.delinquency import bucket
from lendcore.core.errors import ConflictError
from lendcore.core.loan import PenaltyAccrual
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.credit import apply_customer_credit
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.repository import RowWriter, write_contracts
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import Contract, JobRun, LoanTransaction, UnappliedFunds

JOB: Final = "daily-close"
DEFAULT_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class CloseReport:
    business_date: date
    status: str  # succeeded | failed | skipped (already closed)
    contracts: int = 0
    chunks: int = 0
    interest_accrued: int = 0
    penalty_accrued: int = 0
    overdue: int = 0
    buckets: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    credit_applied: int = 0  # customer credit (unapplied funds) applied to amounts due, fen
    credit_applications: list[dict[str, Any]] = field(default_factory=list)
    invariants: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    accrual_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "status": self.status,
            "contracts": self.contracts,
            "chunks": self.chunks,
            "interest_accrued": self.interest_accrued,
            "penalty_accrued": self.penalty_accrued,
            "overdue": self.overdue,
            "buckets": self.buckets,
            "classes": self.classes,
            "credit_applied": self.credit_applied,
            "credit_applications": self.credit_applications,
            "invariants": self.invariants,
            "seconds": round(self.seconds, 4),
            "accrual_seconds": round(self.accrual_seconds, 4),
            "contracts_per_second": round(self.contracts / self.accrual_seconds, 1)
            if self.accrual_seconds
            else None,
        }


def _claim(session_factory: sessionmaker[Session], business_date: date) -> CloseReport | None:
    """Start (or resume) the job; a report if the date is already closed."""
    try:
        with unit_of_work(session_factory) as session:
            run = session.scalars(
                for_update(select(JobRun).where(JobRun.job == JOB, JobRun.business_date == business_date))
            ).one_or_none()
            if run is not None and run.status == "succeeded":
                details = dict(run.details or {})
                return CloseReport(
                    business_date,
                    "skipped",
                    contracts=int(details.get("contracts", 0)),
                    invariants=dict(details.get("invariants", {})),
                )
            if run is None:
                session.add(JobRun(job=JOB, business_date=business_date, status="running", details={}))
            else:
                run.status = "running"
                run.started_at = datetime.now(UTC)
            session.flush()
    except IntegrityError as error:
        raise ConflictError(
            f"the close of {business_date} is being started by another process", code="CLOSE_IN_PROGRESS"
        ) from error
    return None


def _pending_ids(session: Session, business_date: date, limit: int) -> list[str]:
    done = exists().where(
        LoanTransaction.contract_id == Contract.id,
        LoanTransaction.value_date == business_date,
        LoanTransaction.type == "penalty-accrual",
    )
    return list(
        session.scalars(
            select(Contract.id)
            .where(Contract.status == Status.ACTIVE.value, Contract.start_date <= business_date, ~done)
            .order_by(Contract.id)
            .limit(limit)
        ).all()
    )


def _credit_customers(session: Session, business_date: date, after: str, limit: int) -> list[str]:
    """Customers holding unapplied funds with an active contract started by the date (id order)."""
    has_active = exists().where(
        Contract.customer_id == UnappliedFunds.customer_id,
        Contract.status == Status.ACTIVE.value,
        Contract.start_date <= business_date,
    )
    return list(
        session.scalars(
            select(UnappliedFunds.customer_id)
            .where(UnappliedFunds.balance > 0, UnappliedFunds.customer_id > after, has_active)
            .order_by(UnappliedFunds.customer_id)
            .limit(limit)
        ).all()
    )


def _apply_credit(
    session_factory: sessionmaker[Session], business_date: date, chunk_size: int
) -> list[dict[str, Any]]:
    applications: list[dict[str, Any]] = []
    after = ""
    while True:
        with unit_of_work(session_factory) as session:
            customers = _credit_customers(session, business_date, after, chunk_size)
            if not customers:
                return applications
            for customer_id in customers:
                applications.extend(apply_customer_credit(session, customer_id, business_date))
            after = customers[-1]


def run_daily_close(
    session_factory: sessionmaker[Session],
    business_date: date,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    verify_replay: bool = False,
) -> CloseReport:
    """Close ``business_date`` (see the module docstring). Idempotent per date."""
    started = time.perf_counter()
    skipped = _claim(session_factory, business_date)
    if skipped is not None:
        return skipped
    processed = chunks = interest = penalty = 0
    buckets: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    applications = _apply_credit(session_factory, business_date, chunk_size)
    while True:
        with unit_of_work(session_factory) as session:
            ids = _pending_ids(session, business_date, chunk_size)
            if not ids:
                break
            chunks += 1
            contracts = session.scalars(
                for_update(select(Contract).where(Contract.id.in_(ids)).order_by(Contract.id))
            ).all()
            # one chunk = one transaction and a handful of statements: the contracts' snapshots in
            # one executemany UPDATE (version-checked), their accrual rows, entries and postings in
            # one multi-row INSERT each
            writer = RowWriter()
            for contract in contracts:
                if contract.status != Status.ACTIVE.value:
                    continue
                posted = post_transaction(
                    session,
                    contract,
                    lambda txn_id, seq: PenaltyAccrual(txn_id, business_date, seq),
                    business_date=business_date,
                    writer=writer,
                )
                processed += 1
                interest += sum(r.interest_accrued for r in posted.after.rows) - sum(
                    r.interest_accrued for r in posted.before.rows
                )
                penalty += sum(r.penalty_accrued for r in posted.after.rows) - sum(
                    r.penalty_accrued for r in posted.before.rows
                )
            write_contracts(session, contracts, detach=True)
            writer.write(session)
    accrual_seconds = time.perf_counter() - started
    with unit_of_work(session_factory, read_only=True) as session:
        for dpd, cls in session.execute(
            select(Contract.days_past_due, Contract.classification).where(
                Contract.status == Status.ACTIVE.value
            )
        ).all():
            buckets[bucket(dpd).value] += 1
            classes[cls or "normal"] += 1
        report = check_invariants(session, replay_contracts=verify_replay)
    status = "succeeded" if report.ok else "failed"
    result = CloseReport(
        business_date,
        status,
        contracts=processed,
        chunks=chunks,
        interest_accrued=interest,
        penalty_accrued=penalty,
        overdue=sum(n for b, n in buckets.items() if b != "M0"),
        buckets=dict(sorted(buckets.items())),
        classes=dict(sorted(classes.items())),
        credit_applied=sum(a["amount"] for a in applications),
        credit_applications=applications,
        invariants=report.to_dict(),
        seconds=time.perf_counter() - started,
        accrual_seconds=accrual_seconds,
    )
    with unit_of_work(session_factory) as session:
        run = session.scalars(
            for_update(select(JobRun).where(JobRun.job == JOB, JobRun.business_date == business_date))
        ).one()
        run.status = status
        run.finished_at = datetime.now(UTC)
        run.details = result.to_dict()
    return result
