"""The lease that lets one process at a time run an end-of-day job for a business date.

A job for a date is one ``job_runs`` row (unique per job and date). A process that starts the job
*claims* it: inserts the row, or takes over a row left by a run that failed or whose lease expired
(a crashed process stops renewing it). While it works it holds the lease: ``lease_owner`` is its id,
``lease_expires_at`` when the claim lapses. Every chunk it commits first :meth:`Lease.renew`\\ s the
lease in the chunk's own transaction (locking the job row, checking the owner is still this process,
pushing the expiry forward) and records the chunk's progress in ``details`` before committing. So:

* a second process claiming the job while the lease is live is refused (``CLOSE_IN_PROGRESS``); on
  PostgreSQL it waits for the chunk in flight to commit (the row lock), then sees the renewed lease;
* a process whose lease expired and was taken over fails its next chunk (``CLOSE_LEASE_LOST``), which
  rolls back: it cannot book anything after losing the job;
* progress is durable per committed chunk, so a run that takes over resumes with the totals the
  earlier runs committed, and its report covers the whole date.

Times come from ``clock`` (UTC, the shell's clock; hosts running closes keep their clocks in sync,
which NTP does to milliseconds against leases of minutes).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConflictError
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import JobRun
from lendcore.store.types import utc_now

Clock = Callable[[], datetime]

#: How long a claim lasts without renewal. A chunk renews it, so it only has to outlast the longest
#: step between two renewals (a chunk, or the invariant check).
DEFAULT_LEASE: Final = timedelta(minutes=5)


def process_owner() -> str:
    """An id for this process: host, pid and a random part (a restarted pid is a new owner)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _in_progress(job: str, day: date, run: JobRun) -> ConflictError:
    expires = run.lease_expires_at.isoformat() if run.lease_expires_at else None
    return ConflictError(
        f"the {job} of {day} is running in another process ({run.lease_owner}, lease until {expires})",
        code="CLOSE_IN_PROGRESS",
        owner=run.lease_owner,
        lease_expires_at=expires,
    )


@dataclass(slots=True)
class Lease:
    """This process's claim on one job row (``renewed_at``: when this process last extended it)."""

    run_id: int
    job: str
    business_date: date
    owner: str
    ttl: timedelta
    clock: Clock
    renewed_at: datetime

    def half_spent(self) -> bool:
        """Whether half the lease has passed since it was last renewed."""
        return self.clock() - self.renewed_at > self.ttl / 2

    def renew(self, session: Session) -> JobRun:
        """In a chunk's transaction: lock the job row, check this process still holds the lease, and
        extend it. ``CLOSE_LEASE_LOST`` if another process took the job over."""
        run = session.scalars(for_update(select(JobRun).where(JobRun.id == self.run_id))).one()
        if run.status != "running" or run.lease_owner != self.owner:
            raise ConflictError(
                f"the {self.job} of {self.business_date} was taken over by {run.lease_owner}; "
                "this process stops",
                code="CLOSE_LEASE_LOST",
                owner=run.lease_owner,
            )
        self.renewed_at = self.clock()
        run.lease_expires_at = self.renewed_at + self.ttl
        return run

    def add_progress(
        self, run: JobRun, *, applications: Sequence[Mapping[str, Any]] = (), **counts: int
    ) -> None:
        """Add a chunk's counts (and credit applications) to the job's progress, in the chunk's
        transaction (``run`` is the row :meth:`renew` locked): committed with the chunk, or not at all."""
        details = dict(run.details or {})
        for name, value in counts.items():
            details[name] = int(details.get(name, 0)) + value
        if applications:
            details["credit_applications"] = [*details.get("credit_applications", []), *applications]
        run.details = details

    def release(self, session_factory: sessionmaker[Session], error: BaseException) -> None:
        """After an error: mark the job failed and free the lease, so a rerun can resume at once
        (best effort: if even this fails, the lease simply expires)."""
        try:
            with unit_of_work(session_factory) as session:
                run = session.scalars(for_update(select(JobRun).where(JobRun.id == self.run_id))).one()
                if run.lease_owner != self.owner:
                    return
                run.status = "failed"
                run.finished_at = self.clock()
                run.lease_owner = None
                run.lease_expires_at = None
                run.details = dict(run.details or {}) | {
                    "error": {"type": type(error).__name__, "message": str(error)[:500]}
                }
        except Exception:  # the lease expires anyway; the original error is what matters
            pass


def claim(
    session: Session,
    job: str,
    day: date,
    *,
    owner: str,
    ttl: timedelta = DEFAULT_LEASE,
    clock: Clock = utc_now,
) -> Lease | JobRun:
    """Claim ``job`` for ``day`` in the caller's transaction: a :class:`Lease`, or the job row if the
    date is already done (``succeeded``). A live lease held by another process raises
    ``CLOSE_IN_PROGRESS``; a failed run, an expired lease or a row without one is taken over (its
    progress is kept: the new run resumes)."""
    now = clock()
    run = session.scalars(
        for_update(select(JobRun).where(JobRun.job == job, JobRun.business_date == day))
    ).one_or_none()
    if run is not None and run.status == "succeeded":
        return run
    if run is None:
        run = JobRun(job=job, business_date=day, status="running", details={"runs": 0}, started_at=now)
        session.add(run)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # another process inserted it first (its lease is live)
            winner = session.scalars(
                for_update(select(JobRun).where(JobRun.job == job, JobRun.business_date == day))
            ).one()
            raise _in_progress(job, day, winner) from None
    elif (
        run.status == "running"
        and run.lease_owner not in (None, owner)
        and run.lease_expires_at is not None
        and run.lease_expires_at > now
    ):
        raise _in_progress(job, day, run)
    details = dict(run.details or {})
    details["runs"] = int(details.get("runs", 0)) + 1
    details.pop("error", None)
    run.details = details
    run.status = "running"
    run.started_at = now
    run.finished_at = None
    run.lease_owner = owner
    run.lease_expires_at = now + ttl
    session.flush()
    return Lease(run.id, job, day, owner, ttl, clock, now)
