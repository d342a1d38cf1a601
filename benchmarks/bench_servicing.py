"""Repayments per second through the use case, and end-of-day close throughput, on SQLite and PostgreSQL.

    python benchmarks/bench_servicing.py [--repayments 300] [--contracts 300] [--days 1] [--chunk-size 500]

Single process. SQLite: a fresh file in a temp dir. PostgreSQL: ``LENDCORE_BENCH_DATABASE_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/lendcore_bench``), created if missing and reset.
Each repayment is one unit of work: lock the customer's contracts and unapplied funds, payment record,
allocation, transaction + journal entry + postings, state snapshot, idempotency key.
The close: the first business day (accrual only, "contracts/s" = accrual throughput), then after the
repayments ``--days`` further closes (each reported as accrual contracts/s and total seconds with the
invariant check).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from lendcore.batch.close import run_daily_close
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.repay import RepayRequest, repay
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Customer
from pg_scratch import emptied_database

D0 = date(2026, 3, 1)
RELAXED = DrawdownConfig(max_drawdowns_per_window=10**6, max_failed_repayments=10**6)


def _setup(factory, contracts: int) -> list[str]:  # type: ignore[no-untyped-def]
    customers = []
    for i in range(contracts):
        with unit_of_work(factory) as s:
            cus = Customer(status="active")
            s.add(cus)
            s.flush()
            line = open_credit_line(
                s, customer_id=cus.id, product_code="quick", credit_limit=5_000_000, pricing_grade="C",
                business_date=D0, actor="bench",
            )  # fmt: skip
            draw(s, DrawRequest(line.id, 2_000_000, 12, D0, f"d{i}"), gate=drawdown_gate(RELAXED))
            customers.append(cus.id)
    return customers


def bench(name: str, url: str, repayments: int, contracts: int, days: int, chunk_size: int) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    customers = _setup(factory, contracts)
    on = D0 + timedelta(days=1)
    t = time.perf_counter()
    report = run_daily_close(factory, on, chunk_size=chunk_size)
    eod = time.perf_counter() - t
    assert report.ok, report.invariants
    t = time.perf_counter()
    for i in range(repayments):
        with unit_of_work(factory) as s:
            repay(s, RepayRequest(customers[i % len(customers)], on, f"r{i}", amount=1_000))
    rep = time.perf_counter() - t
    later = []
    for day in range(days):
        t = time.perf_counter()
        r = run_daily_close(factory, on + timedelta(days=1 + day), chunk_size=chunk_size)
        assert r.ok, r.invariants
        later.append((r.to_dict()["contracts_per_second"], time.perf_counter() - t))
    print(
        f"{name:10s} repayments: {repayments / rep:7.1f}/s ({rep / repayments * 1000:.2f} ms each); "
        f"EOD close of {contracts} contracts: {eod:.2f} s incl. invariant check "
        f"({report.to_dict()['contracts_per_second']} contracts/s accrual only); next {days} day(s): "
        + ", ".join(f"{cps} contracts/s ({secs:.2f} s)" for cps, secs in later)
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repayments", type=int, default=300)
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--days", type=int, default=1, help="further daily closes after the repayments")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    run = (args.repayments, args.contracts, args.days, args.chunk_size)
    if args.only != "postgresql":
        bench("sqlite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", *run)
    if args.only != "sqlite":
        bench("postgresql", emptied_database(), *run)


if __name__ == "__main__":
    main()
