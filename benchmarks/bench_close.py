"""The daily close at portfolio scale, side by side in one run, on SQLite and PostgreSQL (issue 12).

    python benchmarks/bench_close.py [--contracts 10000] [--sample 10000] [--partition 10000]
                                     [--workers 1] [--days 2] [--quiet-overdue] [--fault-customers 0]
                                     [--skip-sqlite] [--skip-postgres]

For each database: seed a book of ``--contracts`` contracts (``lendcore bench seed``,
:mod:`lendcore.batch.seed`), then time, each step in its own process (so its peak RSS is its own):

(a) **per-contract**: today's close (one ``PenaltyAccrual`` folded, written and posted per contract)
    on the first ``--sample`` active contracts, in one transaction rolled back at the end;
(b) **reference**: a plain set-based close over every active contract, one ``UPDATE`` of the
    receivable mirror and one ``INSERT … SELECT`` of two postings per contract, rolled back;
(c) **aggregate**: the new close (``--engine aggregate``) of ``--days`` consecutive business dates
    from the seed date, committed, with its per-step timings (the first date also catches up the
    seed's templates, whose snapshots are as old as their last payment). With ``--fault-customers
    N``, the first N customers (by id) each have an open lender-fault window (an undelivered
    reminder) from the seed date, as a real book always has somewhere: their contracts are folded,
    the others stay quiet.

Each line: contracts, seconds, contracts/s, peak RSS; then the ratios of (c) to (a) and (b).
PostgreSQL: ``LENDCORE_BENCH_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/lendcore_bench``), created if missing and reset.
The machine is shared: compare ratios within one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch import close
from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.batch.seed import DEFAULT_AS_OF, seed_book
from lendcore.core.faults import FaultKind
from lendcore.servicing.faults import record_fault
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Customer
from pg_scratch import emptied_database


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _seed(url: str, contracts: int) -> dict[str, Any]:
    upgrade_database(url)
    factory = create_session_factory(create_engine(url))
    report = seed_book(factory, contracts)
    with factory.kw["bind"].connect() as c:  # fresh planner statistics after the bulk load
        c.exec_driver_sql("ANALYZE")
        c.commit()
    return {"contracts": report.contracts, "seconds": report.seconds, "peak_mb": _peak_mb()}


def _per_contract(url: str, sample: int) -> dict[str, Any]:
    """(a): today's per-contract accrual of the first ``sample`` active contracts, rolled back."""
    factory = create_session_factory(create_engine(url))
    day, done = DEFAULT_AS_OF, 0
    session = factory()
    try:
        ids = [
            r[0]
            for r in session.execute(
                text(
                    "SELECT id FROM contracts WHERE status = 'active' AND start_date <= :d "
                    "ORDER BY id LIMIT :n"
                ),
                {"d": day, "n": sample},
            )
        ]
        started = time.perf_counter()
        for i in range(0, len(ids), close.DEFAULT_CHUNK):
            done += close._accrue_chunk(session, day, ids[i : i + close.DEFAULT_CHUNK])[0]
        session.flush()
        seconds = time.perf_counter() - started
    finally:
        session.rollback()
        session.close()
    return {"contracts": done, "seconds": seconds, "peak_mb": _peak_mb()}


_REFERENCE = (
    "UPDATE contracts SET interest_receivable = interest_receivable "
    "+ outstanding_principal * daily_rate_ppm / 1000000 WHERE status = 'active' AND start_date <= :d",
    "INSERT INTO journal_entries (id, business_date, value_date, description, created_at) "
    "VALUES ('je_reference', :d, :d, 'reference close', CURRENT_TIMESTAMP)",
    "INSERT INTO postings (entry_id, account_code, contract_id, customer_id, debit, credit) "
    "SELECT 'je_reference', a.code, c.id, c.customer_id, "
    "CASE WHEN a.code = '1132.01' THEN c.outstanding_principal * c.daily_rate_ppm / 1000000 ELSE 0 END, "
    "CASE WHEN a.code = '6011.01' THEN c.outstanding_principal * c.daily_rate_ppm / 1000000 ELSE 0 END "
    "FROM contracts c CROSS JOIN (SELECT '1132.01' AS code UNION ALL SELECT '6011.01') a "
    "WHERE c.status = 'active' AND c.start_date <= :d "
    "AND c.outstanding_principal * c.daily_rate_ppm >= 1000000",
)


def _reference(url: str) -> dict[str, Any]:
    """(b): the plain set-based close over every active contract, in a transaction rolled back."""
    engine = create_engine(url)
    with engine.connect() as c:
        started = time.perf_counter()
        n = c.execute(text(_REFERENCE[0]), {"d": DEFAULT_AS_OF}).rowcount
        c.execute(text(_REFERENCE[1]), {"d": DEFAULT_AS_OF})
        c.execute(text(_REFERENCE[2]), {"d": DEFAULT_AS_OF})
        seconds = time.perf_counter() - started
        c.rollback()
    return {"contracts": n, "seconds": seconds, "peak_mb": _peak_mb()}


def _fault_windows(factory: sessionmaker[Session], customers: int) -> None:
    with unit_of_work(factory) as session:
        ids = session.scalars(select(Customer.id).order_by(Customer.id).limit(customers)).all()
        for customer_id in ids:
            record_fault(
                session,
                kind=FaultKind.REMINDER_UNDELIVERED,
                starts_on=DEFAULT_AS_OF,
                customer_id=customer_id,
                reason="benchmark: reminder not delivered",
            )


def _aggregate(
    url: str, days: int, partition: int, workers: int, overdue: bool, fault_customers: int
) -> dict[str, Any]:
    """(c): the new close of ``days`` business dates from the seed date, committed."""
    factory = create_session_factory(create_engine(url))
    if fault_customers:
        _fault_windows(factory, fault_customers)
    options = CloseOptions(engine="aggregate", partition=partition, workers=workers, quiet_overdue=overdue)
    closes = []
    for t in range(days):
        report = run_daily_close(factory, DEFAULT_AS_OF + timedelta(days=t), options=options)
        assert report.ok, report.invariants
        closes.append(
            {
                "date": report.business_date.isoformat(),
                "contracts": report.contracts,
                "quiet": report.quiet_contracts,
                "seconds": report.accrual_seconds,
                "steps": report.steps,
            }
        )
    return {"closes": closes, "peak_mb": _peak_mb()}


def _in_child(fn: Any, *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _line(label: str, r: dict[str, Any]) -> float:
    rate = r["contracts"] / r["seconds"] if r["seconds"] else 0.0
    print(
        f"  {label:26} {r['contracts']:>10,} contracts {r['seconds']:8.2f} s {rate:11,.0f}/s"
        f"  peak {r['peak_mb']:6.0f} MB"
    )
    return rate


def run(url: str, label: str, args: argparse.Namespace) -> None:
    seeded = _in_child(_seed, url, args.contracts)
    print(f"{label}: seeded {seeded['contracts']:,} contracts in {seeded['seconds']:.1f} s")
    per = _line("(a) per-contract (sample)", _in_child(_per_contract, url, args.sample))
    ref = _line("(b) plain-SQL reference", _in_child(_reference, url))
    new = _in_child(
        _aggregate, url, args.days, args.partition, args.workers, args.quiet_overdue, args.fault_customers
    )
    for c in new["closes"]:
        rate = _line(f"(c) aggregate {c['date']}", c | {"peak_mb": new["peak_mb"]})
        steps = " ".join(f"{k} {v:.2f}" for k, v in c["steps"].items())
        print(f"      quiet {c['quiet']:,} of {c['contracts']:,}; steps (s): {steps}")
        print(
            f"      ratio (c)/(a) {rate / per if per else 0:7.1f}×   (c)/(b) {rate / ref if ref else 0:6.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--partition", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--quiet-overdue", action="store_true", help="CloseOptions.quiet_overdue")
    parser.add_argument("--fault-customers", type=int, default=0, help="customers with an open fault window")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'close.db'}", "sqlite", args)
    if not args.skip_postgres:
        run(emptied_database(), "postgresql", args)


if __name__ == "__main__":
    main()
