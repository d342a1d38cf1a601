"""The stored open business date, read (one row, ``business_dates``): the one query every layer that
must date a booking uses. Its rules (how it moves, what a request may ask for) are in
:mod:`lendcore.servicing.business_day`."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.store.models import BUSINESS_CALENDAR, BusinessDate


def read_business_date(session: Session) -> date | None:
    """The open business date; ``None`` on a fresh database."""
    return session.scalar(select(BusinessDate.business_date).where(BusinessDate.name == BUSINESS_CALENDAR))
