"""The worker: runs a job's effect and its acknowledgement together, retries with seeded backoff,
dead-letters after N attempts, takes over an expired lease, and never lets a worker that lost its
lease overwrite the one that took over."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.jobs.admin import list_jobs, retry_job
from lendcore.jobs.backoff import retry_delay
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.registry import JobContext, Registry
from lendcore.jobs.worker import PermanentJobError, Worker
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, IdempotencyKey
from lendcore.store.models_jobs import Job

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def effect(ctx: JobContext) -> None:
    """A job's effect: a row guarded by a unique key, and an audit row that would show a second run."""
    session = ctx.db()
    session.add(IdempotencyKey(scope="test.effect", key=str(ctx.payload["name"]), request_hash="effect"))
    session.add(
        AuditRecord(actor="job", action="effect", target_type="job", target_id=str(ctx.job_id), details={})
    )


def failing(ctx: JobContext) -> None:
    raise RuntimeError(f"channel down (attempt {ctx.attempt})")


def registry(**handlers: object) -> Registry:
    found = Registry()
    for kind, fn in handlers.items():
        found.register(kind.replace("_", "."), fn)  # type: ignore[arg-type]
    return found


def add_job(factory: sessionmaker[Session], kind: str, payload: dict[str, object] | None = None,
            max_attempts: int = 8) -> int:  # fmt: skip
    with unit_of_work(factory) as session:
        return enqueue(session, kind, payload or {}, run_at=NOW, max_attempts=max_attempts)


def job(factory: sessionmaker[Session], job_id: int) -> Job:
    with unit_of_work(factory, read_only=True) as session:
        found = session.get(Job, job_id)
        assert found is not None
        session.expunge(found)
        return found


def count(factory: sessionmaker[Session], model: type) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_transactional_job_commits_its_effect_and_its_success_together(
    session_factory: sessionmaker[Session],
) -> None:
    job_id = add_job(session_factory, "test.effect", {"name": "a"})
    worker = Worker(session_factory, registry(test_effect=effect), clock=Clock())
    assert worker.run_until_idle() == 1
    done = job(session_factory, job_id)
    assert (done.status, done.attempts, done.locked_by) == ("succeeded", 1, None)
    assert count(session_factory, IdempotencyKey) == 1 and worker.stats.succeeded == 1


def test_a_failed_job_is_retried_after_a_seeded_backoff_then_dead_after_max_attempts(
    session_factory: sessionmaker[Session],
) -> None:
    job_id = add_job(session_factory, "test.failing", max_attempts=3)
    clock = Clock()
    worker = Worker(session_factory, registry(test_failing=failing), clock=clock, rng=random.Random(7))
    expected = random.Random(7)
    for attempt in (1, 2):
        assert worker.run_until_idle() == 1
        retried = job(session_factory, job_id)
        assert retried.status == "queued" and retried.attempts == attempt
        assert retried.run_at == clock.now + retry_delay(attempt, expected)
        assert f"attempt {attempt}" in (retried.last_error or "")
        clock.now = retried.run_at - timedelta(microseconds=1)
        assert worker.run_until_idle() == 0  # not due yet
        clock.now = retried.run_at
    assert worker.run_until_idle() == 1
    dead = job(session_factory, job_id)
    assert (dead.status, dead.attempts) == ("dead", 3) and "attempt 3" in (dead.last_error or "")
    with unit_of_work(session_factory, read_only=True) as session:
        assert [view.id for view in list_jobs(session, status="dead")] == [job_id]


def test_a_permanent_error_is_dead_at_once(session_factory: sessionmaker[Session]) -> None:
    def bad_payload(_ctx: JobContext) -> None:
        raise PermanentJobError("no payment_id")

    job_id = add_job(session_factory, "test.bad")
    Worker(session_factory, registry(test_bad=bad_payload), clock=Clock()).run_until_idle()
    assert job(session_factory, job_id).status == "dead"


def test_a_dead_job_retried_from_the_cli_runs_again_and_the_retry_is_audited(
    session_factory: sessionmaker[Session],
) -> None:
    job_id = add_job(session_factory, "test.effect", {"name": "a"}, max_attempts=1)
    broken = Worker(session_factory, registry(test_effect=failing), clock=Clock())
    broken.run_until_idle()
    with unit_of_work(session_factory) as session:
        with pytest.raises(NotFoundError):
            retry_job(session, job_id + 100, now=NOW)
        view = retry_job(session, job_id, now=NOW, actor="ops1")
    assert (view.status, view.attempts) == ("queued", 0)
    with unit_of_work(session_factory) as session, pytest.raises(BusinessRuleError) as caught:
        retry_job(session, job_id, now=NOW)
    assert caught.value.code == "JOB_NOT_DEAD"
    Worker(session_factory, registry(test_effect=effect), clock=Clock()).run_until_idle()
    assert job(session_factory, job_id).status == "succeeded"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(AuditRecord.actor).where(AuditRecord.action == "job.retry")) == "ops1"


def test_an_expired_lease_is_taken_over_and_the_worker_that_lost_it_cannot_finish(
    session_factory: sessionmaker[Session],
) -> None:
    job_id = add_job(session_factory, "test.effect", {"name": "a"})
    clock = Clock()
    first = Worker(session_factory, registry(test_effect=effect), worker_id="first", clock=clock)
    second = Worker(session_factory, registry(test_effect=effect), worker_id="second", clock=clock)
    claimed = first.claim()
    assert claimed is not None and second.claim() is None  # leased
    clock.now += timedelta(minutes=5, seconds=1)  # the default lease is 5 minutes
    taken = second.claim()
    assert taken is not None and taken.attempt == 2
    assert first.run_job(claimed) == "lease_lost"  # its effect rolled back with it
    assert count(session_factory, IdempotencyKey) == 0
    assert second.run_job(taken) == "succeeded"
    assert count(session_factory, IdempotencyKey) == 1 and job(session_factory, job_id).status == "succeeded"


def test_a_job_whose_worker_died_on_every_attempt_is_dead_when_its_last_lease_expires(
    session_factory: sessionmaker[Session],
) -> None:
    job_id = add_job(session_factory, "test.effect", {"name": "a"}, max_attempts=2)
    clock = Clock()
    worker = Worker(session_factory, registry(test_effect=effect), clock=clock)
    for _ in range(2):
        assert worker.claim() is not None  # and the worker "dies"
        clock.now += timedelta(minutes=6)
    assert worker.claim() is None
    dead = job(session_factory, job_id)
    assert dead.status == "dead" and "lease expired" in (dead.last_error or "")


def test_a_worker_claims_only_kinds_it_has_handlers_for(session_factory: sessionmaker[Session]) -> None:
    job_id = add_job(session_factory, "payment.settled")
    assert Worker(session_factory, registry(test_effect=effect), clock=Clock()).run_until_idle() == 0
    assert job(session_factory, job_id).status == "queued"


def test_concurrent_workers_run_every_job_exactly_once(session_factory: sessionmaker[Session]) -> None:
    job_ids = [add_job(session_factory, "test.effect", {"name": f"n{n}"}) for n in range(24)]
    worker = Worker(session_factory, registry(test_effect=effect), clock=Clock())
    stats = worker.run(threading.Event(), concurrency=4, once=True)
    assert stats.succeeded == 24 and stats.lease_lost == 0
    assert count(session_factory, IdempotencyKey) == 24 and count(session_factory, AuditRecord) == 24
    assert {job(session_factory, j).status for j in job_ids} == {"succeeded"}
