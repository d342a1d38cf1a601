"""Concurrent writers cannot both pass a check on the same row.

PostgreSQL: ``SELECT … FOR UPDATE`` (``lock_for_update``) makes a second locker wait until the first
commits, and then read the committed row. SQLite: every writing unit of work starts with ``BEGIN
IMMEDIATE``, so a second writer waits for the first to commit before it even starts. The tests assert
the order of events, never durations.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConflictError, NotFoundError
from lendcore.store.engine import create_engine, create_session_factory, lock_for_update, unit_of_work
from lendcore.store.models import CreditLine
from tests.store.builders import add_customer, add_line

WAIT = 30  # seconds: a safety net so a broken lock fails the test instead of hanging it


def _new_line(session_factory: sessionmaker[Session], credit_limit: int) -> str:
    with unit_of_work(session_factory) as session:
        return add_line(session, add_customer(session), credit_limit=credit_limit).id


def _run_threads(*targets: Any) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
        assert not thread.is_alive(), "a thread is stuck"


def _wait_until_a_backend_waits_for_a_lock(session_factory: sessionmaker[Session]) -> None:
    deadline = time.monotonic() + WAIT
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with unit_of_work(session_factory, read_only=True) as session:
            if session.scalar(query):
                return
        time.sleep(0.01)
    raise AssertionError("the second session never waited for the row lock")


def test_postgres_row_lock_makes_the_second_locker_wait_for_the_first_commit(
    postgres_database_url: str,
) -> None:
    engine = create_engine(postgres_database_url)
    factory = create_session_factory(engine)
    line_id = _new_line(factory, credit_limit=1_000)
    events: list[str] = []
    seen_by_second: list[int] = []
    first_holds_lock = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with unit_of_work(factory) as session:
                line = lock_for_update(session, CreditLine, line_id)
                events.append("first locked")
                first_holds_lock.set()
                _wait_until_a_backend_waits_for_a_lock(factory)  # the second is now blocked on our row
                line.credit_limit = 600
                events.append("first commits")
            events.append("first committed")
        except BaseException as error:
            errors.append(error)
            first_holds_lock.set()

    def second() -> None:
        try:
            assert first_holds_lock.wait(WAIT)
            with unit_of_work(factory) as session:
                events.append("second asks for the lock")
                line = lock_for_update(session, CreditLine, line_id)
                events.append("second locked")
                seen_by_second.append(line.credit_limit)
        except BaseException as error:
            errors.append(error)

    _run_threads(first, second)
    engine.dispose()
    assert errors == []
    assert events.index("second asks for the lock") < events.index("first commits")
    # The second got the lock only once the first was committing. (Its lock is granted at the same
    # instant the first's COMMIT is acknowledged, so which thread logs first after that is a race:
    # the proof that it waited is that it read the committed value, never the one before the lock.)
    assert events.index("first commits") < events.index("second locked")
    assert seen_by_second == [600]


def test_sqlite_begin_immediate_serialises_writers(sqlite_database_url: str) -> None:
    """While one writing unit of work is open, no other writer can even begin (its BEGIN IMMEDIATE is
    refused as busy); once the first commits, the next writer begins and reads what it wrote. A
    busy timeout of 0 makes the refusal observable at once, so nothing here depends on timing."""
    engine = create_engine(sqlite_database_url)
    impatient = create_engine(sqlite_database_url, connect_args={"timeout": 0})
    factory, impatient_factory = create_session_factory(engine), create_session_factory(impatient)
    line_id = _new_line(factory, credit_limit=1_000)

    def _set_busy_timeout_zero(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    event.listen(impatient, "connect", _set_busy_timeout_zero)
    with unit_of_work(factory) as session:  # BEGIN IMMEDIATE: the write lock is held from here
        session.get_one(CreditLine, line_id).credit_limit = 600
        session.flush()
        with pytest.raises(OperationalError, match="database is locked"), unit_of_work(impatient_factory):
            pass  # a second writer cannot begin while the first is open
        with unit_of_work(impatient_factory, read_only=True) as reader:  # readers are not blocked …
            assert reader.get_one(CreditLine, line_id).credit_limit == 1_000  # … and see committed data
    with unit_of_work(impatient_factory) as second:  # the first committed: the next writer begins
        assert second.get_one(CreditLine, line_id).credit_limit == 600
    engine.dispose()
    impatient.dispose()


def test_concurrent_drawdowns_cannot_overdraw_a_line(database_url: str) -> None:
    """Six threads each draw 400 from a line with 1,000 available: exactly two succeed."""
    threads, amount = 6, 400
    engine = create_engine(database_url, pool_size=threads)
    factory = create_session_factory(engine)
    line_id = _new_line(factory, credit_limit=1_000)  # here: the available amount
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []

    def draw() -> None:
        barrier.wait(WAIT)
        with unit_of_work(factory) as session:
            line = lock_for_update(session, CreditLine, line_id)
            if line.credit_limit < amount:
                outcomes.append("refused")
                return
            time.sleep(0.01)  # widen the race window between the check and the write
            line.credit_limit -= amount
            outcomes.append("drawn")

    _run_threads(*[draw] * threads)
    with unit_of_work(factory, read_only=True) as session:
        available = session.get_one(CreditLine, line_id).credit_limit
    engine.dispose()
    assert sorted(outcomes) == ["drawn", "drawn"] + ["refused"] * (threads - 2)
    assert available == 200


def test_a_lost_update_is_refused_by_the_version_check(postgres_database_url: str) -> None:
    engine = create_engine(postgres_database_url)
    factory = create_session_factory(engine)
    line_id = _new_line(factory, credit_limit=1_000)
    with pytest.raises(ConflictError) as raised, unit_of_work(factory) as stale:
        stale_line = stale.get_one(CreditLine, line_id)  # read version 1, without a lock
        with unit_of_work(factory) as other:
            other.get_one(CreditLine, line_id).credit_limit = 500  # commits version 2
        stale_line.credit_limit = 900  # UPDATE … WHERE version = 1 matches nothing
    engine.dispose()
    assert raised.value.code == "CONCURRENT_UPDATE"


def test_locking_a_missing_row_is_not_found(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFoundError), unit_of_work(session_factory) as session:
        lock_for_update(session, CreditLine, "cl_missing")
