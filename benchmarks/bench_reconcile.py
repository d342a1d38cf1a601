"""Reconciling one day's statement of N rows against N payments, beside a plain-SQL reference; SQLite
and PostgreSQL.

    python benchmarks/bench_reconcile.py [--payments 20000] [--skip-postgres] [--database-url URL]

Per database: N ``processing`` payments (the sweeper benchmark's seed) and the channel's statement of
the day for them: 90 % succeeded at our amount, 5 % failed, 3 % another amount, 2 % left out, plus 1 %
rows we never sent. The reference: the same rows bulk-inserted into a scratch table and applied with
one ``UPDATE … FROM`` (rolled back): what the database needs at least to learn each row's fate. Then
:func:`lendcore.payments.reconcile.reconcile_statement` (read the named payments in bounded ``IN``
lists, compare, resolve and raise 1,000 rows per transaction, store the report), then the same file
again (a rerun: nothing new to apply). Reported: rows/s of each, the SQL statements per row, the
ratio to the reference, the report's figures (every fen accounted) and peak RSS.

SQLite: a fresh file. PostgreSQL: a scratch database on ``LENDCORE_BENCH_SERVER_URL`` (default the local
server), dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select, text

from bench_sweeper import seed_payments
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.sim.engine import BUSINESS_TZ
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Payment
from lendcore.store.types import utc_now
from pg_scratch import scratch_database


def statement_of(factory, seed: int = 7) -> Statement:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    now = utc_now()
    with unit_of_work(factory, read_only=True) as session:
        ours = session.execute(select(Payment.id, Payment.amount).order_by(Payment.id)).all()
    rows = []
    for n, (pid, amount) in enumerate(ours):
        draw = rng.random()
        if draw < 0.02:
            continue  # left out
        state, code = (
            (PaymentState.FAILED, "INSUFFICIENT_FUNDS") if draw < 0.07 else (PaymentState.SUCCEEDED, None)
        )
        fen = amount + 1 if 0.07 <= draw < 0.10 else amount
        rows.append(StatementRow(f"ref_{n}", pid, PaymentDirection.INBOUND, fen, state, now, code))
    for n in range(len(ours) // 100):
        rows.append(
            StatementRow(
                f"ext_{n}", f"pay_EXTRA{n:08d}", PaymentDirection.INBOUND, 5_000, PaymentState.SUCCEEDED, now
            )
        )
    return Statement("simulator", now.astimezone(BUSINESS_TZ).date(), tuple(rows))


def reference(engine, statement: Statement) -> float:  # type: ignore[no-untyped-def]
    """Bulk-load the rows into a scratch table and apply their states in one UPDATE (rolled back)."""
    started = time.perf_counter()
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text(
                "CREATE TEMPORARY TABLE statement_rows "
                "(payment_id VARCHAR(40), state VARCHAR(16), amount BIGINT)"
            )
        )
        connection.execute(
            text("INSERT INTO statement_rows VALUES (:p, :s, :a)"),
            [{"p": r.payment_id, "s": r.state.value, "a": r.amount} for r in statement.rows],
        )
        connection.execute(
            text(
                "UPDATE payments SET state = statement_rows.state FROM statement_rows "
                "WHERE payments.id = statement_rows.payment_id AND payments.amount = statement_rows.amount"
            )
        )
        transaction.rollback()  # the scratch table with it (DDL is transactional on both databases)
    return time.perf_counter() - started


def run(url: str, label: str, payments: int) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    try:
        seed_payments(factory, payments)
        statement = statement_of(factory)
        rows = len(statement.rows)
        plain = reference(engine, statement)
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        report = reconcile_statement(factory, statement, now=utc_now())
        first = time.perf_counter() - started
        first_statements = statements[0]
        started = time.perf_counter()
        again = reconcile_statement(factory, statement, now=utc_now())
        rerun = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
    finally:
        engine.dispose()
    assert report.total == report.matched_amount + report.resolved_amount + report.unexplained_amount
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:10} N={payments:,} rows {rows:,} | plain SQL {plain:6.2f} s {rows / plain:9,.0f} rows/s | "
        f"reconcile {first:6.2f} s {rows / first:7,.0f} rows/s, "
        f"{first_statements / rows:.1f} statements/row, "
        f"ratio {plain / first:.3f} | rerun {rerun:6.2f} s {rows / rerun:7,.0f} rows/s | resolved "
        f"{report.resolved:,}, raised {report.discrepancies:,} ({report.unexplained_amount:,} fen), "
        f"rerun resolved {again.resolved} | peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--database-url", help="run on this migrated, empty database only")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.database_url.split(":")[0].split("+")[0], args.payments)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'reconcile.db'}", "sqlite", args.payments)
    if not args.skip_postgres:
        with scratch_database("reconcile") as url:
            run(url, "postgresql", args.payments)


if __name__ == "__main__":
    main()
