"""The worker: claims due jobs with a lease, runs their handlers, retries with backoff, dead-letters.

Claiming (one short transaction per job):

* PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` on the oldest due job of a kind this worker has a
  handler for: concurrent workers never wait for each other and never take the same row.
* SQLite: the unit of work's ``BEGIN IMMEDIATE`` holds the database write lock for the claim, so
  claims serialise (``FOR UPDATE`` is not rendered there).

A due job is ``queued`` with ``run_at <= now``, or ``running`` with an expired lease (its worker died
or hung): it is taken over, and ``attempts`` (the fencing token) goes up by one. A worker records the
end of a job only while the row still carries the attempt it claimed, so a worker that lost its lease
cannot overwrite the work of the one that took over (:class:`LeaseLostError`; for a transactional handler
its whole transaction rolls back).

On an exception the job goes back to ``queued`` with ``run_at = now + retry_delay(attempt)``
(:mod:`lendcore.jobs.backoff`), or to ``dead`` once ``attempts`` reaches ``max_attempts`` (or at once
for :class:`PermanentJobError`). A worker claims only kinds it has handlers for: a job of a kind no
worker knows waits, visible in ``lendcore jobs list``, instead of dying.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.jobs.backoff import BASE, CAP, retry_delay
from lendcore.jobs.registry import Handler, JobContext, Registry
from lendcore.store.engine import unit_of_work
from lendcore.store.models_jobs import Job
from lendcore.store.types import utc_now

log = logging.getLogger("lendcore.jobs")

MAX_ERROR_LENGTH: Final = 4000


class PermanentJobError(Exception):
    """Raised by a handler for a job that can never succeed (bad payload): dead at once."""


class LeaseLostError(Exception):
    """The job was taken over by another worker (our lease expired) before we recorded its end."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    claimed_at: datetime


@dataclass
class WorkerStats:
    succeeded: int = 0
    retried: int = 0
    dead: int = 0
    lease_lost: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def ran(self) -> int:
        return self.succeeded + self.retried + self.dead + self.lease_lost


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass
class Worker:
    session_factory: sessionmaker[Session]
    registry: Registry
    worker_id: str = field(default_factory=default_worker_id)
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    backoff_base: Any = BASE
    backoff_cap: Any = CAP
    stats: WorkerStats = field(default_factory=WorkerStats)

    # --- claiming -----------------------------------------------------------------------------------
    def claim(self) -> ClaimedJob | None:
        """Claim the oldest due job this worker can run, or None."""
        kinds = self.registry.kinds()
        if not kinds:
            return None
        with unit_of_work(self.session_factory) as session:
            for _ in range(100):  # skip past jobs found exhausted (dead-lettered here)
                now = self.clock()
                due = or_(
                    and_(Job.status == "queued", Job.run_at <= now),
                    and_(Job.status == "running", Job.locked_until < now),
                )
                statement = (
                    select(Job)
                    .where(Job.kind.in_(kinds), due)
                    .order_by(Job.run_at, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
                job = session.scalars(statement).one_or_none()
                if job is None:
                    return None
                if job.status == "running" and job.attempts >= job.max_attempts:
                    self._dead(job, now, f"lease expired on attempt {job.attempts} (the worker died or hung)")
                    continue
                handler = self.registry.get(job.kind)
                assert handler is not None
                job.status = "running"
                job.attempts += 1
                job.locked_by = self.worker_id
                job.locked_until = now + handler.lease
                job.updated_at = now
                session.flush()
                return ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts, job.max_attempts, now)
        return None  # pragma: no cover - a hundred exhausted jobs in a row

    def _dead(self, job: Job, now: datetime, error: str) -> None:
        job.status = "dead"
        job.finished_at = now
        job.updated_at = now
        job.locked_by = None
        job.locked_until = None
        job.last_error = error[:MAX_ERROR_LENGTH]
        self.stats.count("dead")
        log.error("job %s (%s) is dead: %s", job.id, job.kind, error.splitlines()[0] if error else "")

    # --- running ------------------------------------------------------------------------------------
    def _fence(self, job: ClaimedJob) -> Any:
        return and_(Job.id == job.id, Job.attempts == job.attempt, Job.status == "running")

    def _finish(self, session: Session, job: ClaimedJob) -> None:
        now = self.clock()
        result = session.execute(
            update(Job)
            .where(self._fence(job))
            .values(status="succeeded", finished_at=now, updated_at=now, locked_by=None, locked_until=None)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLostError(f"job {job.id} attempt {job.attempt}")

    def run_job(self, job: ClaimedJob) -> str:
        """Run one claimed job; its outcome: ``succeeded``, ``retried``, ``dead`` or ``lease_lost``."""
        handler = self.registry.get(job.kind)
        assert handler is not None
        try:
            self._call(handler, job)
        except LeaseLostError:
            self.stats.count("lease_lost")
            log.warning("job %s attempt %s: lease lost, the other worker's run counts", job.id, job.attempt)
            return "lease_lost"
        except Exception as error:  # a handler's failure, whatever it is, is the job's failure
            return self._failed(job, error)
        self.stats.count("succeeded")
        return "succeeded"

    def _call(self, handler: Handler, job: ClaimedJob) -> None:
        def context(session: Session | None) -> JobContext:
            return JobContext(
                job.id, job.kind, job.payload, job.attempt, job.claimed_at, self.session_factory, session
            )

        if handler.transactional:
            with unit_of_work(self.session_factory) as session:
                handler.fn(context(session))
                self._finish(session, job)
            return
        handler.fn(context(None))
        with unit_of_work(self.session_factory) as session:
            self._finish(session, job)

    def _failed(self, job: ClaimedJob, error: Exception) -> str:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        permanent = isinstance(error, PermanentJobError)
        with unit_of_work(self.session_factory) as session:
            row = session.scalars(select(Job).where(self._fence(job)).with_for_update()).one_or_none()
            if row is None:
                self.stats.count("lease_lost")
                return "lease_lost"
            now = self.clock()
            if permanent or job.attempt >= job.max_attempts:
                self._dead(row, now, text)
                return "dead"
            row.status = "queued"
            row.run_at = now + retry_delay(job.attempt, self.rng, self.backoff_base, self.backoff_cap)
            row.locked_by = None
            row.locked_until = None
            row.last_error = text[:MAX_ERROR_LENGTH]
            row.updated_at = now
        self.stats.count("retried")
        log.warning(
            "job %s (%s) attempt %s failed, retry at %s: %s", job.id, job.kind, job.attempt, row.run_at, text
        )
        return "retried"

    # --- loops ----------------------------------------------------------------------------------------
    def run_until_idle(self, stop: threading.Event | None = None) -> int:
        """Run due jobs one after another until none is due (or ``stop`` is set); how many ran."""
        ran = 0
        while stop is None or not stop.is_set():
            job = self.claim()
            if job is None:
                break
            self.run_job(job)
            ran += 1
        return ran

    def run(
        self,
        stop: threading.Event,
        *,
        concurrency: int = 1,
        poll_interval: float = 1.0,
        once: bool = False,
        tick: Callable[[], object] | None = None,
        tick_interval: float = 15.0,
    ) -> WorkerStats:
        """Run ``concurrency`` threads claiming jobs until ``stop`` is set (``once``: until idle).
        ``tick`` (the scheduler) runs first and then every ``tick_interval`` seconds."""
        if tick is not None:
            tick()

        def loop() -> None:
            while not stop.is_set():
                if self.run_until_idle(stop) == 0 and (once or stop.wait(poll_interval)):
                    return

        threads = [threading.Thread(target=loop, name=f"worker-{n}", daemon=True) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            if tick is not None and not once:
                if stop.wait(tick_interval):
                    break
                tick()
            else:
                for thread in threads:
                    thread.join()
        for thread in threads:
            thread.join()
        return self.stats
