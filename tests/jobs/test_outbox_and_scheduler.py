"""A job exists if and only if the business change that called for it committed; each scheduled
instant becomes exactly one job, however many schedulers tick."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ValidationError
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.jobs.scheduler import DEFAULT_SCHEDULES, ScheduledJob, due_runs, tick
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord
from lendcore.store.models_jobs import Job

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def all_jobs(factory: sessionmaker[Session]) -> list[Job]:
    with unit_of_work(factory, read_only=True) as session:
        found = list(session.scalars(select(Job).order_by(Job.id)))
        session.expunge_all()
        return found


def test_a_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        session.add(AuditRecord(actor="t", action="a", target_type="x", target_id="1", details={}))
        enqueue(session, "test.kind", {"n": 1})
        raise RuntimeError("the business change failed")
    assert all_jobs(session_factory) == []
    with unit_of_work(session_factory) as session:
        job_id = enqueue(session, "test.kind", {"n": 1}, run_at=NOW)
    [job] = all_jobs(session_factory)
    assert (job.id, job.kind, job.payload, job.status, job.run_at, job.attempts) == (
        job_id, "test.kind", {"n": 1}, "queued", NOW, 0,
    )  # fmt: skip


def test_a_dedupe_key_makes_a_second_enqueue_return_the_first_job(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        first = enqueue(session, "test.kind", {"n": 1}, dedupe_key="k")
        second = enqueue(session, "test.kind", {"n": 2}, dedupe_key="k")
    with unit_of_work(session_factory) as session:
        third = enqueue(session, "test.kind", {"n": 3}, dedupe_key="k")
    assert first == second == third and [j.payload for j in all_jobs(session_factory)] == [{"n": 1}]


@pytest.mark.parametrize(
    ("kind", "key", "attempts", "code"),
    [("", None, 1, "INVALID_JOB_KIND"), ("k" * 65, None, 1, "INVALID_JOB_KIND"),
     ("ok", "", 1, "INVALID_DEDUPE_KEY"), ("ok", None, 0, "INVALID_MAX_ATTEMPTS")],
)  # fmt: skip
def test_a_bad_job_is_refused(
    session_factory: sessionmaker[Session], kind: str, key: str | None, attempts: int, code: str
) -> None:
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        enqueue(session, kind, {}, dedupe_key=key, max_attempts=attempts)
    assert caught.value.code == code


def test_the_default_schedules_cover_sweeps_autopay_reminders_reconciliation_and_the_close() -> None:
    runs = due_runs(DEFAULT_SCHEDULES, NOW)
    by_name = {run.schedule.name: run for run in runs}
    assert by_name["autopay"].instant == NOW
    assert by_name["autopay"].schedule.payload(NOW) == {"business_date": "2026-11-22", "attempt": 1}
    afternoon = by_name["autopay"].schedule.payload(NOW + timedelta(hours=6))  # 15:30: the retry
    assert afternoon == {"business_date": "2026-11-22", "attempt": 2}
    assert by_name["payments-sweep"].instant == NOW
    assert "daily-close" in by_name  # 00:05 today, within its grace of a day
    assert by_name["daily-close"].schedule.payload(by_name["daily-close"].instant) == {
        "business_date": "2026-11-21"
    }


#: The daily jobs that must happen every day however late: their grace is their period.
EVERY_DAY: Final = ("daily-close", "reconciliation", "privacy-retention")


@given(minutes=st.integers(min_value=0, max_value=3 * 24 * 60 - 1), name=st.sampled_from(EVERY_DAY))
def test_at_any_minute_exactly_one_run_of_each_every_day_job_is_due_for_the_day_before_its_instant(
    minutes: int, name: str
) -> None:
    """A worker that starts at any time enqueues yesterday's close, reconciliation and retention (each
    catches up the rest): with a grace shorter than the day, 23:05–00:05 Asia/Shanghai had no close due,
    and 23:00–11:00 no reconciliation."""
    now = NOW + timedelta(minutes=minutes)
    runs = [run for run in due_runs(DEFAULT_SCHEDULES, now) if run.schedule.name == name]
    assert len(runs) == 1
    instant = runs[0].instant
    assert now - timedelta(days=1) < instant <= now
    expected = (instant.astimezone(BUSINESS_TZ).date() - timedelta(days=1)).isoformat()
    assert runs[0].schedule.payload(instant) == {"business_date": expected}


@given(minutes=st.integers(min_value=0, max_value=3 * 24 * 60 - 1))
def test_a_days_scheduled_repayments_are_due_from_0800_to_its_end_and_only_for_that_day(minutes: int) -> None:
    """The 预约还款 take of a business day is due from 08:00 until midnight (a worker back at 23:30
    still takes today's bookings; with 12 hours, 20:00–24:00 took none) and never on the next day
    (whose own take finds what was missed, a lender fault)."""
    now = NOW + timedelta(minutes=minutes)
    local = now.astimezone(BUSINESS_TZ)
    runs = [run for run in due_runs(DEFAULT_SCHEDULES, now) if run.schedule.name == "scheduled-repayments"]
    assert len(runs) == (1 if local.hour >= 8 else 0)
    for run in runs:
        assert run.schedule.payload(run.instant) == {"business_date": local.date().isoformat()}


def test_each_scheduled_instant_becomes_one_job_however_often_and_however_many_tick(
    session_factory: sessionmaker[Session],
) -> None:
    schedules = [ScheduledJob("autopay", "30 9,15 * * *", "autopay.run", grace=timedelta(hours=7))]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def scheduler(offset: int) -> None:
        try:
            barrier.wait()
            for step in range(3):
                tick(session_factory, schedules, NOW + timedelta(hours=6, minutes=offset + step))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    jobs = all_jobs(session_factory)
    assert [(j.kind, j.run_at) for j in jobs] == [
        ("autopay.run", NOW), ("autopay.run", NOW + timedelta(hours=6)),
    ]  # fmt: skip
    later = NOW + timedelta(hours=6)
    assert {j.dedupe_key for j in jobs} == {
        f"schedule:autopay:{NOW.isoformat()}",
        f"schedule:autopay:{later.isoformat()}",
    }


def test_only_schedules_with_a_handler_are_enqueued(session_factory: sessionmaker[Session]) -> None:
    tick(session_factory, DEFAULT_SCHEDULES, NOW, kinds=["payments.sweep"])
    with unit_of_work(session_factory, read_only=True) as session:
        kinds = set(session.scalars(select(Job.kind)))
        count = session.scalar(select(func.count()).select_from(Job))
    assert kinds == {"payments.sweep"} and count == 5  # every minute of the last five
