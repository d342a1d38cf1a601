"""The close advances the business date one day at a time: a later date catches up the dates in
between, each its own close and job row, in order; a closed date is a no-op; the first close
establishes the business date; a failed close leaves the date open."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch import close
from lendcore.batch.close import JOB, CloseOptions, close_business_days, run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.servicing.business_day import open_business_date
from lendcore.servicing.invariants import InvariantReport
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BusinessDate, JobRun
from tests.batch.books import accruals_per_contract
from tests.servicing.support import D0, do_draw, open_line, snapshot


def _closed(factory: sessionmaker[Session]) -> list[tuple[date, str]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.execute(
            select(JobRun.business_date, JobRun.status).where(JobRun.job == JOB).order_by(JobRun.id)
        ).all()
        return [(d, s) for d, s in rows]


def _open(factory: sessionmaker[Session]) -> date | None:
    with unit_of_work(factory, read_only=True) as session:
        return open_business_date(session)


def test_the_first_close_establishes_the_business_date(session_factory: sessionmaker[Session]) -> None:
    assert _open(session_factory) is None
    assert run_daily_close(session_factory, D0).status == "succeeded"
    assert _open(session_factory) == D0 + timedelta(days=1)


def test_closing_a_later_date_closes_the_gap_date_by_date_in_order(
    session_factory: sessionmaker[Session],
) -> None:
    _, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    run_daily_close(session_factory, D0)
    # the per-contract engine: one accrual per contract and date (the aggregate one writes none for a
    # quiet contract: tests/batch/test_close_aggregate.py)
    folding = CloseOptions(engine="per-contract")
    reports = close_business_days(session_factory, D0 + timedelta(days=5), options=folding)
    days = [D0 + timedelta(days=n) for n in range(1, 6)]
    assert [(r.business_date, r.status, r.contracts) for r in reports] == [(d, "succeeded", 1) for d in days]
    assert [r.open_business_date for r in reports] == [d + timedelta(days=1) for d in days]
    assert _closed(session_factory) == [(d, "succeeded") for d in (D0, *days)]  # one job row per date
    assert _open(session_factory) == D0 + timedelta(days=6)
    for day in (D0, *days):
        assert set(accruals_per_contract(session_factory, day).values()) == {1}
    # 100,000 × 0.03 % = 30 fen a day, booked day by day
    assert [r.interest_accrued for r in reports] == [30] * 5


def test_closing_a_date_already_closed_is_a_no_op(session_factory: sessionmaker[Session]) -> None:
    _, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    run_daily_close(session_factory, D0 + timedelta(days=3))
    before = snapshot(session_factory), _closed(session_factory), _open(session_factory)
    for day in (D0 + timedelta(days=3), D0 + timedelta(days=1), D0 - timedelta(days=30)):
        assert run_daily_close(session_factory, day).status == "skipped"
    assert (snapshot(session_factory), _closed(session_factory), _open(session_factory)) == before
    again = run_daily_close(session_factory, D0 + timedelta(days=3))
    assert (again.contracts, again.interest_accrued) == (1, 90)  # the stored report of that close


def test_the_last_representable_date_is_refused_before_anything_is_written(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(LendcoreError) as error:
        run_daily_close(session_factory, date.max)
    assert error.value.code == "BUSINESS_DATE_OUT_OF_RANGE"
    assert (_closed(session_factory), _open(session_factory)) == ([], None)


def test_a_close_whose_checks_fail_leaves_the_date_open(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    real = close.check_invariants

    def failing(session: Session, **kw: object) -> InvariantReport:
        return dataclasses.replace(real(session, **kw), unbalanced_entries=("je_broken",))  # type: ignore[arg-type]

    monkeypatch.setattr(close, "check_invariants", failing)
    reports = close_business_days(session_factory, D0 + timedelta(days=3))
    assert [(r.business_date, r.status) for r in reports] == [(D0 + timedelta(days=3), "failed")]
    assert _open(session_factory) == D0 + timedelta(days=3)  # the first close established it; not advanced
    monkeypatch.setattr(close, "check_invariants", real)
    rerun = run_daily_close(session_factory, D0 + timedelta(days=3))
    assert (rerun.status, rerun.runs, rerun.contracts) == ("succeeded", 2, 1)
    assert _open(session_factory) == D0 + timedelta(days=4)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_any_sequence_of_requested_closes_leaves_the_closed_dates_contiguous_each_closed_once(
    session_factory: sessionmaker[Session], requests: list[int]
) -> None:
    with unit_of_work(session_factory) as session:  # an empty book: start each example afresh
        session.execute(delete(JobRun))
        session.execute(delete(BusinessDate))
    for offset in requests:
        report = run_daily_close(session_factory, D0 + timedelta(days=offset))
        assert report.status in ("succeeded", "skipped")
    first, last = D0 + timedelta(days=requests[0]), D0 + timedelta(days=max(requests))
    expected = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert _closed(session_factory) == [(d, "succeeded") for d in expected]
    assert _open(session_factory) == last + timedelta(days=1)
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == len(set(expected))
