"""A contract's ledger postings and DPD history for the back office, on SQLite and PostgreSQL: the
postings are the general ledger's own rows, the history comes from the replay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.delinquency import Bucket
from lendcore.core.errors import NotFoundError
from lendcore.queries.contract_ledger import DpdPoint, contract_postings, dpd_history
from lendcore.store.engine import unit_of_work
from lendcore.store.models import JournalEntry, Posting
from tests.servicing.support import D0, do_draw, do_repay, open_line

DUE = date(2026, 4, 1)  # a one-month bullet drawn on D0 (2026-03-01)


def _late_bullet(factory: sessionmaker[Session]) -> str:
    """¥10,000 bullet due 04-01, closed to 04-04 unpaid (DPD 3), paid off on 04-05."""
    customer_id, line = open_line(factory)
    contract_id = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    run_daily_close(factory, D0)  # the first close sets the business date; the next catches up day by day
    run_daily_close(factory, DUE + timedelta(days=3))
    do_repay(factory, customer_id, None, DUE + timedelta(days=4), CustomerMode.PAY_OFF_ALL)
    return contract_id


def test_the_dpd_history_lists_each_day_the_dpd_changed(session_factory: sessionmaker[Session]) -> None:
    contract_id = _late_bullet(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        history = dpd_history(session, contract_id)
    assert history == (
        DpdPoint(D0, 0, Bucket.CURRENT),
        DpdPoint(DUE + timedelta(days=1), 1, Bucket.M1),
        DpdPoint(DUE + timedelta(days=2), 2, Bucket.M1),
        DpdPoint(DUE + timedelta(days=3), 3, Bucket.M1),
        DpdPoint(DUE + timedelta(days=4), 0, Bucket.CURRENT),
    )


def test_the_postings_are_the_ledgers_rows_of_the_contract(session_factory: sessionmaker[Session]) -> None:
    contract_id = _late_bullet(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        postings = contract_postings(session, contract_id)
        in_ledger = session.scalar(
            select(func.count())
            .select_from(Posting)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.contract_id == contract_id)
        )
        assert len(postings) == in_ledger
        assert sum(p.debit for p in postings) == sum(p.credit for p in postings)
        assert postings[0].value_date == D0 and postings[-1].value_date == DUE + timedelta(days=4)
        assert len(contract_postings(session, contract_id, limit=3)) == 3


def test_an_unknown_contract_is_not_found(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        for query in (contract_postings, dpd_history):
            with pytest.raises(NotFoundError) as error:
                query(session, "ln_01M8VB42BTBWQQ0AK67MQQB2FR")
            assert error.value.code == "CONTRACT_NOT_FOUND"
