"""``bench seed``: a synthetic book of exactly N contracts, cloned from templates built through the use
cases, whose books balance (every invariant, replay included) and which the close closes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.seed import TEMPLATES, seed_book
from lendcore.core.errors import ConflictError, ValidationError
from lendcore.servicing.invariants import check_invariants
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import check_id
from lendcore.store.models import Contract, Customer, JournalEntry, LoanTransaction, Payment

AS_OF = date(2026, 6, 1)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_seeded_book_has_n_contracts_and_balances(session_factory: sessionmaker[Session]) -> None:
    """35 contracts: the 14 templates, then clones a batch of 8 at a time (the last batch partial)."""
    seen: list[int] = []
    report = seed_book(session_factory, 35, as_of=AS_OF, batch=8, progress=seen.append)
    assert report.contracts == 35 and report.templates == len(TEMPLATES)
    assert seen == [14, 22, 30, 35]
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, Contract) == 35 and _count(session, Customer) == 35
        ids = session.scalars(select(Contract.id)).all()
        assert all(check_id(i, "ln") == i for i in ids) and len(set(ids)) == 35
        statuses = dict(
            session.execute(select(Contract.status, func.count()).group_by(Contract.status)).all()
        )
        assert statuses.get("active", 0) > 0 and statuses.get("closed", 0) > 0
        assert _count(session, LoanTransaction) > 35 and _count(session, Payment) > 35
        # a clone's journal entries point at its own contract, never a template's
        pairs = session.execute(
            select(JournalEntry.contract_id, LoanTransaction.contract_id).join(
                LoanTransaction, LoanTransaction.id == JournalEntry.source_txn_id
            )
        ).all()
        assert pairs and all(a == b for a, b in pairs)
        report_check = check_invariants(session, replay_contracts=True, partition=7)
    assert report_check.ok, report_check.to_dict()
    assert report_check.contracts == 35


def test_the_close_closes_a_seeded_book(session_factory: sessionmaker[Session]) -> None:
    """The overdue templates' clones become overdue at the first close, each clone like its template."""
    seed_book(session_factory, 28, as_of=AS_OF)
    close = run_daily_close(session_factory, AS_OF)
    assert close.ok
    with unit_of_work(session_factory, read_only=True) as session:
        late = session.scalars(select(Contract.days_past_due).where(Contract.days_past_due > 0)).all()
    overdue_templates = sum(t.behaviour == "overdue" for t in TEMPLATES)
    assert len(late) == 2 * overdue_templates  # 28 = every template and one clone of each


def test_seed_refuses_a_book_that_has_contracts(session_factory: sessionmaker[Session]) -> None:
    seed_book(session_factory, 1, as_of=AS_OF)
    with pytest.raises(ConflictError) as refused:
        seed_book(session_factory, 5, as_of=AS_OF)
    assert refused.value.code == "SEED_DATABASE_NOT_EMPTY"
    with pytest.raises(ValidationError) as invalid:
        seed_book(session_factory, 0, as_of=AS_OF)
    assert invalid.value.code == "INVALID_CONTRACT_COUNT"


def test_clone_codes_never_reuse_a_template_suffix() -> None:
    from lendcore.batch.seed import _codes

    forbidden = frozenset({"000000", "000002"})
    codes = _codes(forbidden)
    assert [next(codes) for _ in range(3)] == ["000001", "000003", "000004"]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{6}", c) for c in ["000001"])
