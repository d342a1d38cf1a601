"""Invariants 2 and 4 per contract run in SQL (servicing.invariants_sql): the database reads the state
figures out of the JSON and compares them with the mirror columns and the ledger; only mismatches
come back. Each kind of tampering is found, with the figures Python's decoding of the state gives,
whatever the partition size, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.ledger import Account
from lendcore.servicing.codecs import state_from_json, terms_from_json
from lendcore.servicing.invariants import check_invariants
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Posting
from tests.batch.books import build_book

SIZES = (1, 2, 3, 1_000)


def _reports(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with unit_of_work(factory, read_only=True) as session:
        return [check_invariants(session, partition=size).to_dict() for size in SIZES]


def _ids(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory, read_only=True) as session:
        return list(session.scalars(select(Contract.id).order_by(Contract.id)).all())


def _edit_state(factory: sessionmaker[Session], cid: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change the stored JSON state behind the mirror columns' back (as a faulty writer would)."""
    with unit_of_work(factory) as session:
        contract = session.get(Contract, cid)
        assert contract is not None
        doc = dict(contract.state)
        doc["rows"] = [dict(r) for r in doc["rows"]]
        edit(doc)
        contract.state = doc


def _principal_outstanding(factory: sessionmaker[Session], cid: str) -> int:
    """What Python's decoding of the stored state says (the old check's figure)."""
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, cid)
        assert contract is not None
        return state_from_json(terms_from_json(contract.terms), contract.state).principal_outstanding


def test_a_consistent_book_has_no_mismatch_in_any_partition(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory, overdue=4)
    for report in _reports(session_factory):
        assert report["ok"] and report["contracts"] == 6
        assert report["subledger_mismatches"] == [] and report["cash_mismatches"] == []


def test_a_tampered_posting_is_found_though_every_entry_still_balances(
    session_factory: sessionmaker[Session],
) -> None:
    """A stray pair of postings (+1 principal on the contract, −1 cash) added to one of its entries:
    the entry and the trial balance still balance, only the per-contract comparison can see it.
    (Postings are append-only: a faulty writer can only add.)"""
    build_book(session_factory, overdue=4)
    ids = _ids(session_factory)
    targets = (ids[0], ids[2], ids[-1])
    with unit_of_work(session_factory) as session:
        for cid in targets:
            entry_id = session.scalars(
                select(Posting.entry_id).where(Posting.contract_id == cid).order_by(Posting.id).limit(1)
            ).one()
            session.add_all(
                [
                    Posting(entry_id=entry_id, account_code=Account.LOAN_PRINCIPAL.value, contract_id=cid,
                            debit=1, credit=0),
                    Posting(entry_id=entry_id, account_code=Account.CASH.value, contract_id=cid, debit=0,
                            credit=1),
                ]
            )  # fmt: skip
    expected = [
        f"{cid} LOAN_PRINCIPAL: ledger {_principal_outstanding(session_factory, cid) + 1}, "
        f"sub-ledger {_principal_outstanding(session_factory, cid)}"
        for cid in targets
    ]
    for report in _reports(session_factory):
        assert report["trial_balance_balanced"] and report["unbalanced_entries"] == []
        assert not report["ok"]
        assert report["subledger_mismatches"] == sorted(expected)


def test_a_tampered_mirror_column_is_found(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory, overdue=4)
    cid = _ids(session_factory)[1]
    owed = _principal_outstanding(session_factory, cid)
    with unit_of_work(session_factory) as session:
        session.execute(update(Contract).where(Contract.id == cid).values(outstanding_principal=owed - 3))
    for report in _reports(session_factory):
        assert report["subledger_mismatches"] == [f"{cid} LOAN_PRINCIPAL: mirror {owed - 3}, state {owed}"]


def test_a_tampered_json_figure_is_found_against_the_mirror_and_the_ledger(
    session_factory: sessionmaker[Session],
) -> None:
    """The state says 5 fen more principal was paid than the ledger and the mirror column say."""
    build_book(session_factory, overdue=4)
    cid = _ids(session_factory)[-1]
    owed = _principal_outstanding(session_factory, cid)

    def pay_more(doc: dict[str, Any]) -> None:
        doc["rows"][0]["principal_paid"] += 5

    _edit_state(session_factory, cid, pay_more)
    assert _principal_outstanding(session_factory, cid) == owed - 5
    for report in _reports(session_factory):
        found = report["subledger_mismatches"]
        assert f"{cid} LOAN_PRINCIPAL: ledger {owed}, sub-ledger {owed - 5}" in found
        assert f"{cid} LOAN_PRINCIPAL: mirror {owed}, state {owed - 5}" in found
        # paid 5 more from the same cash in: allocated now exceeds what came in
        assert len(report["cash_mismatches"]) == 1 and report["cash_mismatches"][0].startswith(
            f"{cid}: cash in"
        )


def test_tampered_cash_suspense_and_status_in_the_json_are_found(
    session_factory: sessionmaker[Session],
) -> None:
    build_book(session_factory, overdue=2)
    ids = _ids(session_factory)

    def more_cash(doc: dict[str, Any]) -> None:
        doc["cash_in"] += 7

    def negative_suspense(doc: dict[str, Any]) -> None:
        doc["suspense"] = -1
        doc["cash_in"] -= doc.get("suspense", 0)  # keep the cash equation out of the picture

    def closed(doc: dict[str, Any]) -> None:
        doc["status"] = "closed"

    _edit_state(session_factory, ids[0], more_cash)
    _edit_state(session_factory, ids[1], closed)
    for report in _reports(session_factory):
        cash = report["cash_mismatches"]
        assert any(c.startswith(f"{ids[0]}: cash in ") for c in cash)
        assert any(c.startswith("inbound payments ") for c in cash)  # Σ cash in ≠ Σ inbound
        assert f"{ids[1]}: status active, state closed" in report["subledger_mismatches"]
    _edit_state(session_factory, ids[-1], negative_suspense)
    for report in _reports(session_factory):
        found = report["subledger_mismatches"]
        assert any(m.startswith(f"{ids[-1]}: negative balance (suspense -1") for m in found)
        assert any(m.startswith(f"{ids[-1]} SUSPENSE: ledger ") for m in found)
