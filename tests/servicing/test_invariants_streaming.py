"""The invariant check streams: contracts a partition at a time, ledger-wide checks as SQL aggregates.
Its verdict does not depend on the partition size, and a mismatch is found wherever it sits (first,
last or middle partition, or on postings with no contract)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.servicing.invariants import check_invariants
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Posting, UnappliedFunds
from tests.batch.books import CLOSE_ON, build_book


def _reports(factory: sessionmaker[Session], *, replay: bool = False) -> list[dict[str, object]]:
    with unit_of_work(factory, read_only=True) as session:
        return [
            check_invariants(session, replay_contracts=replay, partition=size).to_dict()
            for size in (1, 2, 3, 1_000)
        ]


def test_the_verdict_does_not_depend_on_the_partition_size(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory, overdue=4)
    assert run_daily_close(session_factory, CLOSE_ON).ok
    reports = _reports(session_factory, replay=True)
    assert reports[0]["ok"] and reports[0]["contracts"] == 6 and reports[0]["replay_checked"]
    assert all(r == reports[0] for r in reports)


def test_a_broken_mirror_is_found_in_any_partition(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory, overdue=4)
    with unit_of_work(session_factory) as session:
        ids = session.scalars(select(Contract.id).order_by(Contract.id)).all()
        for cid in (ids[0], ids[3], ids[-1]):  # first, a middle and the last partition
            session.execute(
                update(Contract)
                .where(Contract.id == cid)
                .values(penalty_receivable=Contract.penalty_receivable + 1)
            )
    for report in _reports(session_factory):
        assert not report["ok"]
        found = report["subledger_mismatches"]
        assert isinstance(found, list)
        assert sorted(m.split()[0] for m in found) == sorted([ids[0], ids[3], ids[-1]])


def test_ledger_rows_of_no_contract_and_unapplied_funds_mismatches(
    session_factory: sessionmaker[Session],
) -> None:
    """Postings on a control account with no contract, and unapplied funds that differ from the
    suspense booked, are reported with every partition size (both come from SQL, not from a loop)."""
    build_book(session_factory, overdue=2)
    with unit_of_work(session_factory) as session:
        posting = session.scalars(
            select(Posting).where(Posting.account_code == "1303.01").order_by(Posting.id).limit(1)
        ).first()
        assert posting is not None
        session.add(
            Posting(entry_id=posting.entry_id, account_code="1303.01", contract_id=None, debit=7, credit=0)
        )
        funds = session.scalars(select(UnappliedFunds).where(UnappliedFunds.balance > 0)).first()
        assert funds is not None
        funds.balance += 5
    for report in _reports(session_factory):
        mismatches = report["subledger_mismatches"]
        cash = report["cash_mismatches"]
        assert isinstance(mismatches, list) and isinstance(cash, list)
        assert "None LOAN_PRINCIPAL: ledger 7 with no contract" in mismatches
        assert any("unapplied funds" in c and "suspense booked" in c for c in cash)
        assert report["unbalanced_entries"]  # the extra posting unbalances its entry too


def test_an_empty_book_is_consistent(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        report = check_invariants(session, partition=1)
    assert report.ok and report.contracts == 0 and report.entries == 0
