"""One daily close per date at a time: a lease with heartbeat, takeover only after expiry, durable
per-chunk progress so a resumed close reports the whole date, and a unique index that refuses a
second accrual for a contract and date whatever the code does."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch import close
from lendcore.batch.close import JOB, run_daily_close
from lendcore.batch.lease import claim
from lendcore.core.errors import LendcoreError
from lendcore.servicing.business_day import open_business_date
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import JobRun, LoanTransaction
from lendcore.store.types import utc_now
from tests.batch.books import CLOSE_ON, accruals_per_contract, build_book, comparable
from tests.servicing.support import do_draw, open_line

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 4, 11, 16, 0, tzinfo=UTC)


def _job(factory: sessionmaker[Session], day: date = CLOSE_ON) -> JobRun:
    with unit_of_work(factory, read_only=True) as session:
        run = session.scalars(select(JobRun).where(JobRun.job == JOB, JobRun.business_date == day)).one()
        session.expunge(run)
        return run


def _reference(tmp_path: Path, sqlite_template: Path) -> dict[str, Any]:
    """The report of a clean single run over the same book, on a database of its own."""
    path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    try:
        factory = create_session_factory(engine)
        build_book(factory)
        report = run_daily_close(factory, CLOSE_ON, chunk_size=2)
        assert report.ok and report.runs == 1
        return comparable(report)
    finally:
        engine.dispose()


def test_the_database_refuses_a_second_accrual_for_a_contract_and_date(
    session_factory: sessionmaker[Session],
) -> None:
    _, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    assert run_daily_close(session_factory, CLOSE_ON).ok
    with unit_of_work(session_factory, read_only=True) as session:
        accrual = session.scalars(
            select(LoanTransaction).where(LoanTransaction.type == "penalty-accrual")
        ).one()
        row = {c.key: getattr(accrual, c.key) for c in LoanTransaction.__table__.c}
    copy = row | {"id": new_id("txn"), "seq": row["seq"] + 1}
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(LoanTransaction(**copy))
    # the index is partial: other transaction types on the same date are not limited
    with unit_of_work(session_factory) as session:
        session.add(LoanTransaction(**copy | {"type": "fee", "amount": 0}))


def test_a_live_lease_refuses_a_second_close_and_an_expired_one_is_taken_over(
    session_factory: sessionmaker[Session],
) -> None:
    ttl = timedelta(minutes=5)
    with unit_of_work(session_factory) as session:
        first = claim(session, JOB, CLOSE_ON, owner="host-a:1", ttl=ttl, clock=lambda: T0)
    assert not isinstance(first, JobRun)
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        claim(
            session, JOB, CLOSE_ON, owner="host-b:2", ttl=ttl, clock=lambda: T0 + ttl - timedelta(seconds=1)
        )
    assert error.value.code == "CLOSE_IN_PROGRESS"
    with unit_of_work(session_factory) as session:
        second = claim(
            session, JOB, CLOSE_ON, owner="host-b:2", ttl=ttl, clock=lambda: T0 + ttl + timedelta(seconds=1)
        )
    assert not isinstance(second, JobRun)
    assert (_job(session_factory).lease_owner, _job(session_factory).details["runs"]) == ("host-b:2", 2)
    # the first process comes back: its next chunk finds the job taken over and books nothing
    with pytest.raises(LendcoreError) as lost, unit_of_work(session_factory) as session:
        first.renew(session)
    assert lost.value.code == "CLOSE_LEASE_LOST"


def test_a_close_that_lost_its_lease_books_nothing(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_book(session_factory)
    credit = close._apply_credit

    def taken_over_meanwhile(factory: sessionmaker[Session], lease: Any, chunk_size: int) -> None:
        credit(factory, lease, chunk_size)
        # the process stalls past its lease; another one takes the job over
        with unit_of_work(factory) as session:
            claim(session, JOB, CLOSE_ON, owner="other", clock=lambda: utc_now() + timedelta(hours=1))

    monkeypatch.setattr(close, "_apply_credit", taken_over_meanwhile)
    with pytest.raises(LendcoreError) as error:
        run_daily_close(session_factory, CLOSE_ON, chunk_size=2)
    assert error.value.code == "CLOSE_LEASE_LOST"
    assert set(accruals_per_contract(session_factory, CLOSE_ON).values()) == {0}
    run = _job(session_factory)
    assert (run.status, run.lease_owner) == ("running", "other")  # the loser did not release it


def test_a_close_that_failed_midway_resumes_and_reports_the_whole_date(
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    _sqlite_template: Path,
) -> None:
    expected = _reference(tmp_path, _sqlite_template)
    build_book(session_factory)
    original = close.post_transaction
    calls = 0

    def crash_in_the_third_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:  # chunks of 2: the first two chunks (4 contracts) have committed
            raise RuntimeError("the process dies here")
        return original(*args, **kwargs)

    monkeypatch.setattr(close, "post_transaction", crash_in_the_third_chunk)
    with pytest.raises(RuntimeError):
        run_daily_close(session_factory, CLOSE_ON, chunk_size=2)
    monkeypatch.undo()
    failed = _job(session_factory)
    assert (failed.status, failed.lease_owner, failed.details["contracts"]) == ("failed", None, 4)
    assert sorted(accruals_per_contract(session_factory, CLOSE_ON).values()) == [0, 0, 1, 1, 1, 1]
    with unit_of_work(session_factory, read_only=True) as session:
        assert open_business_date(session) == CLOSE_ON  # not closed: still the open date

    resumed = run_daily_close(session_factory, CLOSE_ON, chunk_size=2)
    assert (resumed.status, resumed.runs) == ("succeeded", 2)
    assert comparable(resumed) == expected  # the whole date, as one clean run reports it
    assert set(accruals_per_contract(session_factory, CLOSE_ON).values()) == {1}
    assert resumed.open_business_date == CLOSE_ON + timedelta(days=1)


def test_a_killed_close_keeps_its_lease_until_it_expires_then_is_resumed(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path, _sqlite_template: Path
) -> None:
    expected = _reference(tmp_path, _sqlite_template)
    build_book(session_factory)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.batch.close_until_killed",
            database_url,
            CLOSE_ON.isoformat(),
            "2",
            "3",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        child.kill()
        child.wait()
    killed = _job(session_factory)
    assert (killed.status, killed.details["contracts"]) == ("running", 4)  # chunk 3 died uncommitted
    with pytest.raises(LendcoreError) as live:
        run_daily_close(session_factory, CLOSE_ON, chunk_size=2)
    assert live.value.code == "CLOSE_IN_PROGRESS"
    assert killed.lease_expires_at is not None
    after_expiry = killed.lease_expires_at + timedelta(seconds=1)
    resumed = run_daily_close(session_factory, CLOSE_ON, chunk_size=2, clock=lambda: after_expiry)
    assert (resumed.status, resumed.runs) == ("succeeded", 2)
    assert comparable(resumed) == expected
    assert set(accruals_per_contract(session_factory, CLOSE_ON).values()) == {1}


def test_two_closes_racing_on_postgresql_book_one_accrual_per_contract(
    postgres_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Close A holds the job row inside its first chunk; close B, started then, waits on that row lock
    (seen in pg_stat_activity), then finds A's renewed lease and is refused. No sleeps: events order
    the threads, the lock wait is observed."""
    engines = [create_engine(postgres_database_url) for _ in range(3)]
    factory_a, factory_b, factory_setup = (create_session_factory(e) for e in engines)
    try:
        build_book(factory_setup)
        a_in_chunk, release_a = threading.Event(), threading.Event()
        original = close._accrue_chunk

        def held(session: Session, day: date, ids: list[str]) -> tuple[int, int, int]:
            if threading.current_thread().name == "close-a" and not a_in_chunk.is_set():
                a_in_chunk.set()
                assert release_a.wait(30), "close A was never released"
            return original(session, day, ids)

        monkeypatch.setattr(close, "_accrue_chunk", held)
        outcome: dict[str, Any] = {}

        def run(name: str, factory: sessionmaker[Session]) -> None:
            try:
                outcome[name] = run_daily_close(factory, CLOSE_ON, chunk_size=2)
            except LendcoreError as error:
                outcome[name] = error

        a = threading.Thread(target=run, args=("a", factory_a), name="close-a")
        a.start()
        assert a_in_chunk.wait(30)
        b = threading.Thread(target=run, args=("b", factory_b), name="close-b")
        b.start()
        waiting = 0
        # autocommit: pg_stat_activity is a snapshot taken once per transaction
        with engines[2].connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            for _ in range(3000):
                waiting = watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE '%job_runs%'"
                    )
                )
                if waiting or not b.is_alive():
                    break
                threading.Event().wait(0.01)  # observing, not ordering
        assert waiting == 1, "close B should wait on the job row held by close A"
        release_a.set()
        a.join(60)
        b.join(60)
        assert outcome["a"].status == "succeeded"
        assert isinstance(outcome["b"], LendcoreError) and outcome["b"].code == "CLOSE_IN_PROGRESS"
        assert set(accruals_per_contract(factory_setup, CLOSE_ON).values()) == {1}
        # and after A finished, a rerun is a no-op
        assert run_daily_close(factory_b, CLOSE_ON).status == "skipped"
    finally:
        for e in engines:
            e.dispose()
