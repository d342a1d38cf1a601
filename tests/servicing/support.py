"""Helpers for servicing tests: customers, lines, drawdowns, repayments and the invariant check."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.core.schedule import Method
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.drawdown_quote import DEFAULT_PURPOSE
from lendcore.servicing.invariants import InvariantReport, check_invariants
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.repay import RepayRequest, repay
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import (
    AuditRecord,
    Contract,
    Customer,
    JournalEntry,
    LoanTransaction,
    Payment,
    Posting,
    ScheduleRow,
    UnappliedFunds,
)

D0 = date(2026, 3, 1)
#: Overpayment margin for tests that build customer credit on purpose (the default refuses > ¥1,000).
AMPLE_CREDIT = 10_000_000
#: No velocity limit in tests that draw many times a day.
RELAXED = DrawdownConfig(max_drawdowns_per_window=1000, max_failed_repayments=1000)
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def new_customer(session: Session) -> str:
    customer = Customer(status="active")
    session.add(customer)
    session.flush()
    return customer.id


def open_line(
    factory: sessionmaker[Session],
    product: str = "quick",
    limit: int = 5_000_000,
    grade: str = "C",
    on: date = D0,
    customer_id: str | None = None,
) -> tuple[str, str]:
    with unit_of_work(factory) as session:
        cid = customer_id or new_customer(session)
        line = open_credit_line(
            session,
            customer_id=cid,
            product_code=product,
            credit_limit=limit,
            pricing_grade=grade,
            business_date=on,
            actor="test",
        )
        return cid, line.id


def do_draw(
    factory: sessionmaker[Session],
    line_id: str,
    amount: int,
    term: int,
    on: date = D0,
    *,
    method: Method | str | None = None,
    purpose: str = DEFAULT_PURPOSE,
    merchant_id: str | None = None,
    account_token: str | None = None,
    idempotency_key: str | None = None,
    drawdown_config: DrawdownConfig = RELAXED,
    **collaborators: Any,
) -> dict[str, Any]:
    """A drawdown through the use case (origination's gate, relaxed); returns its JSON form."""
    request = DrawRequest(
        line_id=line_id,
        amount=amount,
        term=term,
        business_date=on,
        idempotency_key=idempotency_key or key("draw"),
        method=Method(method) if method else None,
        purpose=purpose,
        merchant_id=merchant_id,
        account_token=account_token,
    )
    with unit_of_work(factory) as session:
        return draw(session, request, gate=drawdown_gate(drawdown_config), **collaborators).to_json()


def do_repay(
    factory: sessionmaker[Session],
    customer_id: str,
    amount: int | None,
    on: date,
    mode: CustomerMode = CustomerMode.BY_AMOUNT,
    *,
    contract_ids: Sequence[str] | None = None,
    value_date: date | None = None,
    account_token: str | None = None,
    idempotency_key: str | None = None,
    **collaborators: Any,
) -> dict[str, Any]:
    """A repayment through the use case; returns its JSON form (what the CLI and API show)."""
    request = RepayRequest(
        customer_id=customer_id,
        business_date=on,
        idempotency_key=idempotency_key or key("repay"),
        amount=amount,
        mode=mode,
        contract_ids=tuple(contract_ids) if contract_ids is not None else None,
        value_date=value_date,
        account_token=account_token,
    )
    with unit_of_work(factory) as session:
        return repay(session, request, **collaborators).to_json()


def assert_invariants(factory: sessionmaker[Session]) -> InvariantReport:
    with unit_of_work(factory, read_only=True) as session:
        report = check_invariants(session, replay_contracts=True)
    assert report.ok, report.to_dict()
    return report


TABLES = (Contract, LoanTransaction, JournalEntry, Posting, Payment, ScheduleRow, UnappliedFunds, AuditRecord)


def snapshot(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Row counts of the money tables and the contracts' balances (to prove nothing changed)."""
    with unit_of_work(factory, read_only=True) as session:
        counts = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in TABLES}
        balances = session.execute(
            select(
                Contract.id,
                Contract.status,
                Contract.outstanding_principal,
                Contract.interest_receivable,
                Contract.penalty_receivable,
                Contract.last_replayed_seq,
            ).order_by(Contract.id)
        ).all()
        return {"counts": counts, "balances": [tuple(b) for b in balances]}


_copies = itertools.count()


@contextmanager
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A database of its own for one hypothesis example: a copy of the migrated SQLite template, or
    the run's PostgreSQL database emptied (function-scoped fixtures are shared by the examples)."""
    if request.node.callspec.params["database_url"] == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / f"p{next(_copies)}.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database_url")
        engine = create_engine(url)
        with engine.begin() as c:
            tables = c.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).all()
            c.exec_driver_sql(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
        engine.dispose()
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        engine.dispose()


def fault_notices(factory: sessionmaker[Session], customer_id: str) -> list[str]:
    """What the customer is to be told of the lender-fault windows opened for them: the texts of their
    ``customer.notify`` jobs that name a fault, rendered as the sink would send them."""
    from lendcore.core.notices import render
    from lendcore.store.models_jobs import Job

    with unit_of_work(factory, read_only=True) as session:
        jobs = session.scalars(select(Job).where(Job.kind == "customer.notify").order_by(Job.id)).all()
        return [
            render(str(j.payload["template"]), j.payload)
            for j in jobs
            if j.payload.get("customer_id") == customer_id and j.payload.get("fault_id")
        ]
