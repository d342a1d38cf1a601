"""The business date is stored and advancing: the shell's operations run on the open business date,
which the first dated operation establishes and only the daily close moves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import LendcoreError
from lendcore.servicing.business_day import (
    EARLIEST_BUSINESS_DATE,
    advance_business_date,
    enter_business_date,
    enter_open_business_date,
    next_business_date,
    open_business_date,
    resolve_business_date,
    resolve_close_date,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BusinessDate
from tests.statements import sent_statements

TODAY = date(2026, 3, 10)


def _stored(factory: sessionmaker[Session]) -> date | None:
    with unit_of_work(factory, read_only=True) as session:
        return open_business_date(session)


def _code(error: pytest.ExceptionInfo[LendcoreError]) -> str:
    return error.value.code


def test_a_fresh_database_has_no_business_date_until_the_first_dated_operation(
    session_factory: sessionmaker[Session],
) -> None:
    assert _stored(session_factory) is None
    with unit_of_work(session_factory, read_only=True) as session:
        # no --date on a fresh database: today (the shell's wall clock), nothing stored by resolving
        assert resolve_business_date(session, None, today=TODAY) == TODAY
        assert resolve_business_date(session, date(2026, 3, 2), today=TODAY) == date(2026, 3, 2)
    assert _stored(session_factory) is None
    with unit_of_work(session_factory) as session:
        enter_business_date(session, date(2026, 3, 2))
    assert _stored(session_factory) == date(2026, 3, 2)


def test_an_operation_that_fails_does_not_establish_the_business_date(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        enter_business_date(session, date(2026, 3, 2))
        raise RuntimeError("the use case refused")
    assert _stored(session_factory) is None
    with unit_of_work(session_factory, read_only=True) as session:
        enter_business_date(session, date(2026, 3, 2), establish=False)  # a query stores nothing
    assert _stored(session_factory) is None


def test_an_operation_runs_on_the_open_business_date_only(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        enter_business_date(session, date(2026, 3, 2))
    with unit_of_work(session_factory, read_only=True) as session:
        assert resolve_business_date(session, None, today=TODAY) == date(2026, 3, 2)  # not the clock
        with pytest.raises(LendcoreError) as later:
            resolve_business_date(session, date(2026, 3, 5), today=TODAY)
        with pytest.raises(LendcoreError) as earlier:
            resolve_business_date(session, date(2026, 3, 1), today=TODAY)
    assert _code(later) == _code(earlier) == "BUSINESS_DATE_MISMATCH"
    assert "run `lendcore eod run --date 2026-03-04` to close the days before 2026-03-05" in str(later.value)
    assert "2026-03-01 is closed" in str(earlier.value)
    # inside a unit of work too: the date is re-checked under the row lock
    with pytest.raises(LendcoreError) as inside, unit_of_work(session_factory) as session:
        enter_business_date(session, date(2026, 3, 3))
    assert _code(inside) == "BUSINESS_DATE_MISMATCH"


def test_only_the_close_of_the_open_date_advances_it_by_one_day(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        enter_business_date(session, date(2026, 3, 2))
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        advance_business_date(session, date(2026, 3, 3))
    assert _code(error) == "CLOSE_OUT_OF_ORDER"
    with unit_of_work(session_factory) as session:
        assert advance_business_date(session, date(2026, 3, 2)) == date(2026, 3, 3)
    assert _stored(session_factory) == date(2026, 3, 3)
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(BusinessDate)) == 1  # a singleton


@pytest.mark.parametrize(
    ("requested", "code"),
    [
        (TODAY + timedelta(days=1), "BUSINESS_DATE_IN_FUTURE"),
        (date(2099, 1, 1), "BUSINESS_DATE_IN_FUTURE"),
        (date.max, "BUSINESS_DATE_OUT_OF_RANGE"),
        (EARLIEST_BUSINESS_DATE - timedelta(days=1), "BUSINESS_DATE_OUT_OF_RANGE"),
        (date.min, "BUSINESS_DATE_OUT_OF_RANGE"),
    ],
)
def test_the_shell_refuses_future_and_absurd_business_dates(
    session_factory: sessionmaker[Session], requested: date, code: str
) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        for resolve in (resolve_business_date, resolve_close_date):
            with pytest.raises(LendcoreError) as error:
                resolve(session, requested, today=TODAY)
            assert _code(error) == code


def test_a_closed_today_leaves_no_open_day_until_tomorrow(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        enter_business_date(session, TODAY)
        advance_business_date(session, TODAY)
    with unit_of_work(session_factory, read_only=True) as session, pytest.raises(LendcoreError) as error:
        resolve_business_date(session, None, today=TODAY)
    assert _code(error) == "BUSINESS_DATE_IN_FUTURE"


def test_the_last_representable_date_has_no_next_day() -> None:
    with pytest.raises(LendcoreError) as error:
        next_business_date(date.max)
    assert _code(error) == "BUSINESS_DATE_OUT_OF_RANGE"
    assert next_business_date(date(2026, 2, 28)) == date(2026, 3, 1)


def test_entering_the_open_business_date_is_resolving_it_then_entering_it_in_one_read(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:  # fresh: the clock's date, stored
        assert enter_open_business_date(session, today=TODAY) == TODAY
    assert _stored(session_factory) == TODAY
    with unit_of_work(session_factory) as session:
        advance_business_date(session, TODAY)
    with sent_statements(engine) as seen, unit_of_work(session_factory) as session:
        on = enter_open_business_date(session, today=TODAY + timedelta(days=3))  # stored, not the clock's
    assert on == TODAY + timedelta(days=1)
    assert len([s for s in seen if "FROM business_dates" in s]) == 1
    with pytest.raises(LendcoreError) as refused, unit_of_work(session_factory) as session:
        enter_open_business_date(session, today=TODAY)  # the open date is after the clock's
    assert _code(refused) == "BUSINESS_DATE_IN_FUTURE"
