"""Missed autopay runs (issue 11, lender faults): a day whose ``autopay.run`` job never succeeded
(none enqueued, or dead) is the lender's fault for every contract due that day with a mandate, so
each gets an ``autopay_missed`` fault window from that day to :data:`MISSED_FAULT_DAYS` after the
morning that found it, and the penalty and overdue status it caused are waived and suppressed
(:mod:`lendcore.servicing.faults`); the customer is told (template ``autopay_missed``: pay by then).
The window ends: open-ended, it excused a customer whose debit we missed once for ever (never
overdue, never charged, never reported, however long they did not pay); after it the rows count from
their due date again. Each morning run looks :data:`MISSED_RUN_LOOK_BACK_DAYS` back, so a scheduler
down for several days leaves every day its faults; each is raised once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.batch.autopay import DEFAULT_CHUNK, JOB_KIND, active_mandates, contracts_due
from lendcore.core.faults import MISSED_FAULT_DAYS, FaultKind
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.servicing.faults import notify_fault, record_fault
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault

#: How many days before today a morning run checks for a day with no succeeded run.
MISSED_RUN_LOOK_BACK_DAYS: Final = 7


def _days_run(session: Session) -> set[str]:
    """The business dates (ISO) with a succeeded autopay run (read once per look back)."""
    done = select(Job.payload).where(Job.kind == JOB_KIND, Job.status == "succeeded")
    return {str(p.get("business_date")) for p in session.scalars(done).all()}


def _mandated_on(session: Session, customers: Sequence[str], day: date) -> set[str]:
    """The customers among ``customers`` with an active mandate made by the end of ``day`` (one made
    later was not ours to run that day), in one statement."""
    return {
        m.customer_id
        for m in session.scalars(active_mandates(customers))
        if m.created_at.astimezone(BUSINESS_TZ).date() <= day
    }


def record_missed_days(session: Session, today: date, *, now: datetime) -> list[str]:
    """:func:`record_missed_runs` for each of the :data:`MISSED_RUN_LOOK_BACK_DAYS` days before
    ``today``, oldest first: a scheduler down for several days leaves every one of them a fault, not
    only the last (each is raised once, so looking again costs queries, not faults)."""
    days = (today - timedelta(days=back) for back in range(MISSED_RUN_LOOK_BACK_DAYS, 0, -1))
    ran = _days_run(session)
    return [
        cid for day in days for cid in record_missed_runs(session, day, now=now, days_run=ran, found_on=today)
    ]


def record_missed_runs(
    session: Session,
    day: date,
    *,
    now: datetime,
    days_run: set[str] | None = None,
    found_on: date | None = None,
) -> list[str]:
    """Record an ``autopay_missed`` fault from ``day`` for each contract due that day with a mandate
    when no autopay run for ``day`` succeeded (none enqueued, or dead); the contracts raised (once each).
    ``days_run``: the days with a succeeded run, when the caller has read them already; ``found_on``: the
    business date of the run that looks (default the day after ``day``), from which the window lasts
    :data:`MISSED_FAULT_DAYS`."""
    if day.isoformat() in (_days_run(session) if days_run is None else days_run):
        return []
    # the day's faults read once and the mandates once per slice, not per contract: only this function
    # raises autopay_missed faults, each below for a contract met once (contracts_due lists each once);
    # the look back is one transaction, so a concurrent run's faults were unseen by a read per contract
    # too until that run committed (on SQLite no other writer can commit meanwhile)
    faulted = set(
        session.scalars(
            select(LenderFault.contract_id).where(
                LenderFault.kind == FaultKind.AUTOPAY_MISSED.value, LenderFault.starts_on == day
            )
        )
    )
    ends_on = max(day, found_on or day + timedelta(days=1)) + timedelta(days=MISSED_FAULT_DAYS)
    raised = []
    contracts = contracts_due(session, day)
    for start in range(0, len(contracts), DEFAULT_CHUNK):  # bounded IN lists
        chunk = contracts[start : start + DEFAULT_CHUNK]
        mandated = _mandated_on(session, sorted({c.customer_id for c in chunk}), day)
        for contract in chunk:
            if contract.customer_id not in mandated or contract.id in faulted:
                continue
            window = record_fault(
                session, kind=FaultKind.AUTOPAY_MISSED, starts_on=day, ends_on=ends_on,
                contract_id=contract.id, customer_id=contract.customer_id,
                reason=f"no autopay run for {day}", now=now,
            )  # fmt: skip
            notify_fault(
                session, contract.customer_id, window, template="autopay_missed",
                fields={"contract_id": contract.id},
            )  # fmt: skip
            raised.append(contract.id)
    return raised
