"""The daily statement resolves what is still open and raises every difference, once."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow, write_statement
from lendcore.payments.suspense import open_suspense_total, suspense_account_balance
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Customer, Payment
from lendcore.store.models_payments import ChannelSuspense, ReconciliationRun
from tests.payments.support import NOW, TODAY, events, issues, payment, recorded_payment

ROOT = Path(__file__).resolve().parents[2]


def settle(factory: sessionmaker[Session], payment_id: str, state: PaymentState) -> None:
    with unit_of_work(factory) as session:
        observation = Observation(
            EventSource.CALLBACK, state, f"ref_{payment_id}", failure_code="X", occurred_at=NOW
        )
        apply_observation(session, lock_payment(session, payment_id), observation, NOW)


def row(payment_id: str, amount: int = 10_000, state: PaymentState = PaymentState.SUCCEEDED) -> StatementRow:
    return StatementRow(f"ref_{payment_id}", payment_id, PaymentDirection.INBOUND, amount, state, NOW)


def test_reconciliation_resolves_open_payments_and_raises_missing_extra_and_mismatched_rows(
    session_factory: sessionmaker[Session],
) -> None:
    matched, still_open, mismatched, missing = (recorded_payment(session_factory) for _ in range(4))
    for payment_id in (matched, mismatched, missing):
        settle(session_factory, payment_id, PaymentState.SUCCEEDED)
    statement = Statement(
        "simulator", TODAY, (row(matched), row(still_open), row(mismatched, amount=10_001), row("pay_EXTRA"))
    )
    report = reconcile_statement(session_factory, statement, now=NOW + timedelta(days=1))
    assert (report.matched, report.resolved, report.discrepancies) == (1, 1, 3)
    assert payment(session_factory, still_open).state == "succeeded"
    assert events(session_factory, still_open)[-1] == ("statement", "transition", "succeeded")
    assert sorted(issues(session_factory), key=str) == sorted(
        [
            ("statement_amount_mismatch", mismatched),
            ("statement_extra", None),
            ("statement_missing", missing),
        ],
        key=str,
    )
    again = reconcile_statement(session_factory, statement, now=NOW + timedelta(days=1))
    assert again.resolved == 0 and len(issues(session_factory)) == 3  # idempotent


def test_a_statement_of_seventy_thousand_rows_is_read_in_bounded_lists_and_all_matched(
    session_factory: sessionmaker[Session],
) -> None:
    """One IN list of every row's id passed PostgreSQL's 65,535 parameters ("number of parameters
    must be between 0 and 65535") from about that many payments a day."""
    count = 70_000
    settled = NOW - timedelta(hours=1)
    with unit_of_work(session_factory) as session:
        customer = Customer(status="active")
        session.add(customer)
        session.flush()
        ids = [new_id("pay") for _ in range(count)]
        session.execute(
            insert(Payment),
            [
                {
                    "id": pid, "direction": "inbound", "customer_id": customer.id, "purpose": "repayment",
                    "amount": 10_000, "state": "succeeded", "channel": "simulator", "requested_at": settled,
                    "value_date": TODAY, "settled_at": settled, "channel_reference": f"ref_{pid}",
                    "attempts": 1, "query_attempts": 0,
                }
                for pid in ids
            ],
        )  # fmt: skip
    rows = tuple(
        StatementRow(f"ref_{pid}", pid, PaymentDirection.INBOUND, 10_000, PaymentState.SUCCEEDED, settled)
        for pid in ids
    )
    report = reconcile_statement(session_factory, Statement("simulator", TODAY, rows), now=NOW)
    assert (report.matched, report.resolved, report.discrepancies) == (count, 0, 0)
    assert report.matched_amount == report.total == count * 10_000


def test_two_runs_of_one_statement_at_once_resolve_each_payment_once_and_both_count(
    session_factory: sessionmaker[Session],
) -> None:
    """The CLI by hand while the job runs: both finish, each payment moves once (its row lock and the
    one-transition-per-state index), each issue is raised once (its dedupe key), and the day's report
    counts two runs (written with ON CONFLICT, so two first runs cannot both insert)."""
    ids = [recorded_payment(session_factory) for _ in range(5)]
    statement = Statement("simulator", TODAY, (*(row(p) for p in ids), row("pay_EXTRA")))
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            reconcile_statement(session_factory, statement, now=NOW)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    for payment_id in ids:
        moves = [e for e in events(session_factory, payment_id) if e[1] == "transition"]
        assert [e[2] for e in moves].count("succeeded") == 1
    assert len(issues(session_factory)) == 1
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(ReconciliationRun.runs)).all() == [2]


def test_a_reconciliation_killed_inside_a_chunk_loses_nothing_and_the_rerun_does_nothing_twice(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A real process, killed with its second chunk's transaction open: the first chunk's
    resolutions and suspense stand, the second's left nothing, no report was stored; run again, every
    payment is resolved once, every issue and suspense item is there once, and 2241.03 is its items."""
    ids = [recorded_payment(session_factory) for _ in range(6)]
    extras = (
        StatementRow(
            f"ref_x{n}", f"pay_UNKNOWN{n}", PaymentDirection.INBOUND, 700, PaymentState.SUCCEEDED, NOW
        )
        for n in (1, 2)
    )
    statement = Statement("simulator", TODAY, (*(row(p) for p in ids), *extras))
    file = tmp_path / "statement.csv"
    file.write_text(write_statement(statement), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "tests.payments.reconcile_until_killed",
        database_url,
        str(file),
        "2",
        "2",
    ]
    child = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        child.kill()
        child.wait()
    states = [payment(session_factory, p).state for p in ids]
    assert states == ["succeeded"] * 2 + ["created"] * 4  # chunk 1 committed, chunk 2 died whole
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(ReconciliationRun)).all() == []
        assert len(session.scalars(select(ChannelSuspense)).all()) == 2  # the extras, in chunk 1

    report = reconcile_statement(session_factory, statement, now=NOW + timedelta(days=1))
    assert (report.matched, report.resolved, report.discrepancies, report.suspense_amount) == (2, 4, 2, 1_400)
    for payment_id in ids:
        moves = [e for e in events(session_factory, payment_id) if e[1] == "transition"]
        assert [e[2] for e in moves].count("succeeded") == 1
    assert len(issues(session_factory)) == 2
    with unit_of_work(session_factory, read_only=True) as session:
        assert len(session.scalars(select(ChannelSuspense)).all()) == 2
        assert session.scalars(select(ReconciliationRun.runs)).all() == [1]
        held = (suspense_account_balance(session), open_suspense_total(session))
    assert held == (1_400, 1_400)  # 2241.03 is its items: nothing posted twice or lost
