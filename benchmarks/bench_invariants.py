"""The invariant check alone on an already seeded book (``lendcore bench seed``): seconds, contracts/s
and the process's peak RSS (a fresh process, so the peak is the check's, not the seed's).

    python benchmarks/bench_invariants.py --url sqlite:////tmp/book.db [--partition 2000] [--replay]
    python benchmarks/bench_invariants.py [--contracts 2000]   # seeds a temporary SQLite book first

Run it with ``PYTHONPATH=<another checkout>/src`` to measure another version of the check on the same
book (before/after tables in docs/performance.md).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from lendcore.batch.seed import seed_book
from lendcore.servicing.invariants import DEFAULT_PARTITION, check_invariants
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check(url: str, partition: int, replay: bool) -> None:
    """One check; CPU seconds are this process's (all of SQLite's work, none of PostgreSQL's server)."""
    factory = create_session_factory(create_engine(url))
    baseline = _peak_mb()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with unit_of_work(factory, read_only=True) as session:
        report = check_invariants(session, replay_contracts=replay, partition=partition)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    print(
        f"N={report.contracts:,} ok={report.ok} {seconds:.1f} s (cpu {cpu:.1f} s) "
        f"{report.contracts / seconds:,.0f} contracts/s peak {_peak_mb():.0f} MB (baseline {baseline:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a seeded book; without it a temporary SQLite book is seeded")
    parser.add_argument("--contracts", type=int, default=2_000, help="the temporary book's size")
    parser.add_argument("--partition", type=int, default=DEFAULT_PARTITION)
    parser.add_argument("--replay", action="store_true")
    args = parser.parse_args()
    if args.url:
        check(args.url, args.partition, args.replay)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'book.db'}"
        upgrade_database(url)
        seed_book(create_session_factory(create_engine(url)), args.contracts)
        check(url, args.partition, args.replay)


if __name__ == "__main__":
    main()
