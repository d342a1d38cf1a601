"""Seed throughput (``lendcore bench seed``) and the streaming invariant check on the seeded book, on
SQLite and PostgreSQL.

    python benchmarks/bench_seed.py [--contracts 10000] [--batch 5000] [--skip-postgres]

SQLite: a fresh file in a temp dir. PostgreSQL: ``LENDCORE_BENCH_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/lendcore_bench``), created if missing and reset. Each
line: contracts, rows written, seconds, contracts/s and rows/s of the seed, then the invariant check's
seconds and the process's peak RSS (the check streams: its memory must not grow with N).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from lendcore.batch.seed import seed_book
from lendcore.servicing.invariants import check_invariants
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from pg_scratch import emptied_database


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, label: str, contracts: int, batch: int) -> None:
    upgrade_database(url)
    factory = create_session_factory(create_engine(url))
    report = seed_book(factory, contracts, batch=batch)
    seeded_mb = _peak_mb()
    started = time.perf_counter()
    with unit_of_work(factory, read_only=True) as session:
        check = check_invariants(session)
    seconds = time.perf_counter() - started
    print(
        f"{label:10} N={report.contracts:>9,} rows={report.rows:>11,} seed {report.seconds:7.1f} s "
        f"{report.contracts_per_second:9,.0f} contracts/s {report.rows / report.seconds:10,.0f} rows/s "
        f"peak {seeded_mb:6.0f} MB | check ok={check.ok} {seconds:6.1f} s "
        f"{report.contracts / seconds:8,.0f} contracts/s peak {_peak_mb():6.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'seed.db'}", "sqlite", args.contracts, args.batch)
    if not args.skip_postgres:
        run(emptied_database(), "postgresql", args.contracts, args.batch)


if __name__ == "__main__":
    main()
