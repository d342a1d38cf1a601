"""The business date an API operation runs on, as the CLI's dated commands do
(:mod:`lendcore.servicing.business_day`): the open business date (today on a fresh database), held
under a shared lock for the unit of work so the daily close cannot move it meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy.orm import Session

from lendcore.api.state import AppState
from lendcore.servicing.business_day import (
    decide_business_date,
    enter_open_business_date,
    resolve_business_date,
)


def business_date(session: Session, state: AppState) -> date:
    """The open business date (today, by the application's clock, on a fresh database)."""
    return resolve_business_date(session, None, today=state.clock().date())


def business_date_from(stored: date | None, state: AppState) -> date:
    """:func:`business_date` from the stored open business date a read fetched beside its rows
    (:func:`~lendcore.servicing.business_day.stored_business_date`)."""
    return decide_business_date(stored, None, today=state.clock().date())


@contextmanager
def dated_write(state: AppState) -> Iterator[tuple[Session, date]]:
    """A unit of work on the open business date (established on a fresh database)."""
    with state.database.write() as session:
        on = enter_open_business_date(session, today=state.clock().date())
        yield session, on
