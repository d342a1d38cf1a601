"""The set-based writes of the daily close: one version-checked executemany UPDATE for a chunk's
contracts (:func:`write_contracts`) and multi-row INSERTs for its rows (:class:`RowWriter`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.core.errors import ConflictError
from lendcore.core.loan import PenaltyAccrual
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.repository import RowWriter, write_contracts
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, JournalEntry, LoanTransaction, Posting
from tests.servicing.support import D0, assert_invariants, do_draw, open_line


def _contracts(session_factory: sessionmaker[Session], n: int) -> list[str]:
    ids = []
    for _ in range(n):
        _, line = open_line(session_factory)
        ids.append(do_draw(session_factory, line, 100_000, 3)["contract_id"])
    return sorted(ids)


def test_write_contracts_bumps_version_and_leaves_rows_clean(session_factory: sessionmaker[Session]) -> None:
    ids = _contracts(session_factory, 2)
    on = D0 + timedelta(days=5)
    with unit_of_work(session_factory) as session:
        contracts = list(session.scalars(select(Contract).where(Contract.id.in_(ids)).order_by(Contract.id)))
        versions = [c.version for c in contracts]
        writer = RowWriter()
        for c in contracts:
            post_transaction(
                session, c, lambda t, s: PenaltyAccrual(t, on, s), business_date=on, writer=writer
            )
        assert write_contracts(session, contracts) == 2
        writer.write(session)
        assert [c.version for c in contracts] == [v + 1 for v in versions]
        assert not session.dirty  # nothing left for the ORM to flush
    with unit_of_work(session_factory, read_only=True) as session:
        for cid, v in zip(ids, versions, strict=True):
            row = session.get(Contract, cid)
            assert row is not None and row.version == v + 1 and row.as_of == on
            assert contract_state(row).accrued_through == on and row.interest_receivable == 5 * 30
            n_txn = session.scalar(select(func.count()).where(LoanTransaction.contract_id == cid))
            n_entries = session.scalar(select(func.count()).where(JournalEntry.contract_id == cid))
            n_postings = session.scalar(select(func.count()).where(Posting.contract_id == cid))
            assert (n_txn, n_entries, n_postings) == (2, 2, 4)  # disbursement + accrual
    assert_invariants(session_factory)


def test_write_contracts_refuses_a_row_changed_underneath(session_factory: sessionmaker[Session]) -> None:
    ids = _contracts(session_factory, 3)
    on = D0 + timedelta(days=2)
    with pytest.raises(ConflictError) as caught, unit_of_work(session_factory) as session:
        contracts = list(session.scalars(select(Contract).where(Contract.id.in_(ids)).order_by(Contract.id)))
        writer = RowWriter()
        for c in contracts:
            post_transaction(
                session, c, lambda t, s: PenaltyAccrual(t, on, s), business_date=on, writer=writer
            )
        # another writer bumped one row's version since we read it: 2 of the 3 rows match
        session.connection().execute(
            update(Contract).where(Contract.id == ids[1]).values(version=Contract.version + 1)
        )
        write_contracts(session, contracts)
        writer.write(session)  # pragma: no cover - not reached
    assert caught.value.code == "CONCURRENT_UPDATE"
    with unit_of_work(session_factory, read_only=True) as session:
        # rolled back: only the disbursements
        assert session.scalar(select(func.count()).where(LoanTransaction.contract_id.in_(ids))) == 3


def test_close_over_several_chunks_and_days(session_factory: sessionmaker[Session]) -> None:
    ids = _contracts(session_factory, 5)
    for day in range(1, 4):
        # the per-contract engine folds every contract, in chunks (the aggregate one: test_close_aggregate)
        folding = CloseOptions(engine="per-contract", chunk_size=2)
        report = run_daily_close(session_factory, D0 + timedelta(days=day), options=folding)
        assert report.ok and (report.contracts, report.chunks, report.interest_accrued) == (5, 3, 5 * 30)
    with unit_of_work(session_factory, read_only=True) as session:
        rows = session.execute(
            select(Contract.interest_receivable, Contract.last_replayed_seq).where(Contract.id.in_(ids))
        ).all()
        assert set(rows) == {(90, 4)}
    assert_invariants(session_factory)
