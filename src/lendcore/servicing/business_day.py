"""The business date (营业日): one stored, advancing value, not whatever a caller's ``--date`` says.

The open business date is the date every operation of the shell (the CLI today, the HTTP API later)
runs on. It lives in one row (``business_dates``, name ``default``). On a fresh database it is unset:
the first dated operation (or the first daily close) stores it. The daily close of the open date
advances it by one day (:mod:`lendcore.batch.close`); nothing else moves it. So dates go forward one
at a time, each closed once, in order, as Apache Fineract's close of business does.

The rules, for the shell:

* :func:`resolve_business_date` ``(session, requested, today=)``: the date an operation runs on. No
  ``--date``: the open business date (on a fresh database: ``today``, the Asia/Shanghai wall clock the
  shell reads). ``--date X`` must *be* the open business date: any other date is refused
  (``BUSINESS_DATE_MISMATCH``, with the command that closes the days in between).
* :func:`resolve_close_date` ``(session, requested, today=)``: the last date ``eod run`` closes (no
  ``--date``: the open business date). Earlier dates are already closed, later ones are caught up
  date by date by the close.
* Both refuse a date after ``today`` (``BUSINESS_DATE_IN_FUTURE``) and absurd dates: before
  :data:`EARLIEST_BUSINESS_DATE` or without a next day (``BUSINESS_DATE_OUT_OF_RANGE``), so no date
  arithmetic overflows further in.
* :func:`enter_business_date` ``(session, on)``, first thing in the operation's unit of work: holds the
  row (a shared lock on PostgreSQL) and checks it is still ``on``, or stores ``on`` on a fresh
  database. The close's advance takes the row exclusively, so it waits for operations in flight on
  the date, and an operation that starts after it sees the new date and is refused: no operation is
  booked on a date already closed. A refused operation rolls back, so it never establishes a date.

Use cases (``servicing/``) keep taking the business date as an argument (library callers and tests
pass explicit dates); they refuse dates before the objects they act on, with their own codes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final, Literal, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from lendcore.core.errors import BusinessRuleError, ConflictError, ValidationError
from lendcore.store.business_date import read_business_date
from lendcore.store.models import BUSINESS_CALENDAR, BusinessDate
from lendcore.store.types import utc_now

#: No business date before this one is plausible (a typo such as 0206-03-01 would otherwise start a
#: book whose catch-up closes run for centuries).
EARLIEST_BUSINESS_DATE: Final = date(2000, 1, 1)

Lock = Literal["share", "update"] | None


def next_business_date(day: date) -> date:
    """The day after ``day`` (``BUSINESS_DATE_OUT_OF_RANGE`` for the last representable date)."""
    if day >= date.max:
        raise ValidationError(
            f"{day} has no next day: not a business date", code="BUSINESS_DATE_OUT_OF_RANGE", value=str(day)
        )
    return day + timedelta(days=1)


def _row(session: Session, lock: Lock = None) -> BusinessDate | None:
    stmt = select(BusinessDate).where(BusinessDate.name == BUSINESS_CALENDAR)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share").execution_options(populate_existing=True)
    return session.scalars(stmt).one_or_none()


def open_business_date(session: Session) -> date | None:
    """The stored open business date; ``None`` on a fresh database."""
    return read_business_date(session)


def _establish(session: Session, on: date, lock: Literal["share", "update"]) -> BusinessDate:
    """Store ``on`` unless a concurrent first operation stored its own date first; the stored row."""
    dialect = session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, BusinessDate.__table__)
    values = {"name": BUSINESS_CALENDAR, "business_date": on, "updated_at": utc_now()}
    session.execute(make_insert(table).values(values).on_conflict_do_nothing(index_elements=["name"]))
    row = _row(session, lock)
    assert row is not None  # inserted, or inserted by the winner of the race
    return row


def check_business_date(on: date, *, today: date) -> date:
    """The shell's bounds on a business date (module docstring): ``on`` if plausible."""
    if on < EARLIEST_BUSINESS_DATE or on >= date.max:
        raise ValidationError(
            f"{on} is not a plausible business date (from {EARLIEST_BUSINESS_DATE} to today)",
            code="BUSINESS_DATE_OUT_OF_RANGE",
            value=on.isoformat(),
        )
    if on > today:
        raise ValidationError(
            f"business date {on} is after today ({today}): a day is booked and closed once it has come",
            code="BUSINESS_DATE_IN_FUTURE",
            business_date=on.isoformat(),
            today=today.isoformat(),
        )
    return on


def _mismatch(requested: date, stored: date) -> BusinessRuleError:
    if requested > stored:
        before = requested - timedelta(days=1)
        message = (
            f"the open business date is {stored}; run `lendcore eod run --date {before}` to close the "
            f"days before {requested}"
        )
    else:
        message = f"{requested} is closed: the open business date is {stored}"
    return BusinessRuleError(
        message,
        code="BUSINESS_DATE_MISMATCH",
        requested=requested.isoformat(),
        open_business_date=stored.isoformat(),
    )


def stored_business_date() -> ScalarSelect[date]:
    """The stored open business date as a scalar subquery (``NULL`` on a fresh database), for a read
    that fetches it beside its own rows in one statement; then :func:`decide_business_date`."""
    return select(BusinessDate.business_date).where(BusinessDate.name == BUSINESS_CALENDAR).scalar_subquery()


def resolve_business_date(session: Session, requested: date | None, *, today: date) -> date:
    """The business date an operation runs on (module docstring). Reads only."""
    return decide_business_date(open_business_date(session), requested, today=today)


def decide_business_date(stored: date | None, requested: date | None, *, today: date) -> date:
    """:func:`resolve_business_date` given the stored open business date (``None``: fresh database)."""
    on = requested if requested is not None else (stored or today)
    check_business_date(on, today=today)
    if stored is not None and on != stored:
        raise _mismatch(on, stored)
    return on


def resolve_close_date(session: Session, requested: date | None, *, today: date) -> date:
    """The last date a daily close run closes: ``requested``, or the open business date. Reads only."""
    stored = open_business_date(session)
    return check_business_date(requested if requested is not None else (stored or today), today=today)


def enter_business_date(session: Session, on: date, *, establish: bool = True) -> None:
    """In an operation's unit of work: hold the open business date and check it is ``on`` (module
    docstring); on a fresh database store ``on`` (unless ``establish`` is false: a read-only query)."""
    row = _row(session, "share")
    if row is None:
        if not establish:
            return
        row = _establish(session, on, "share")
    if row.business_date != on:
        raise _mismatch(on, row.business_date)


def enter_open_business_date(session: Session, *, today: date) -> date:
    """:func:`resolve_business_date` with no requested date, then :func:`enter_business_date`, in one
    read: the open business date under the shared lock (stored as ``today`` on a fresh database)."""
    row = _row(session, "share")
    if row is None:
        on = decide_business_date(None, None, today=today)
        row = _establish(session, on, "share")
        if row.business_date != on:  # a concurrent first operation stored its own date
            raise _mismatch(on, row.business_date)
        return on
    return decide_business_date(row.business_date, None, today=today)


def hold_for_close(session: Session, day: date) -> date:
    """For the close's claim of ``day``: the open business date under a shared lock, stored as ``day``
    on a fresh database (the first close establishes it)."""
    row = _row(session, "share")
    if row is None:
        row = _establish(session, day, "share")
    return row.business_date


def advance_business_date(session: Session, closed: date) -> date:
    """After the close of ``closed``: the open business date becomes the next day (exclusive lock,
    taken after every operation in flight on ``closed`` has committed). Returns the new date."""
    following = next_business_date(closed)
    row = _row(session, "update")
    if row is None:
        row = _establish(session, closed, "update")
    if row.business_date != closed:
        raise ConflictError(
            f"the open business date is {row.business_date}, not {closed}: closes run in date order",
            code="CLOSE_OUT_OF_ORDER",
            open_business_date=row.business_date.isoformat(),
        )
    row.business_date = following
    session.flush()
    return following
