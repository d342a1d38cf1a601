"""The seeded simulation (lendcore.simulation) at scale: simulated operations per second and the
invariant checks run, on SQLite and PostgreSQL, over a set of seeds.

    python benchmarks/bench_vopr.py [--customers 1000] [--days 90] [--seeds 1] [--target 1000000]
                                    [--first-seed 1] [--databases sqlite,postgresql]

An operation is one thing the world did: a repayment request, a replayed or reused key, a job run, a
callback delivered, a channel query, a statement row reconciled, a worker killed, a contract closed
for a day. Seeds run one after another (seed 1, 2, …) until ``--seeds`` are done and, with
``--target``, until that many operations have been simulated; ``--first-seed`` starts elsewhere,
so two processes (one per core) can share a target over disjoint seeds. Every violation is printed;
the exit status is 1 if there was one. PostgreSQL: a database of this run's own on
``LENDCORE_BENCH_SERVER_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``),
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lendcore.simulation.world import SimConfig, SimReport, simulate
from lendcore.store.engine import create_engine, create_session_factory
from lendcore.store.migrate import upgrade_database
from pg_scratch import scratch_database


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'sim.db'}"
        return
    with scratch_database("vopr") as url:
        yield url


def run_seed(kind: str, config: SimConfig) -> SimReport:
    with database(kind) as url:
        upgrade_database(url)
        engine = create_engine(url)
        try:
            return simulate(create_session_factory(engine), config)
        finally:
            engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--target", type=int, default=0, help="keep adding seeds until this many operations")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the faults make the worker log every retry
    failed = False
    for kind in args.databases.split(","):
        operations = seconds = checks = 0.0
        seed, done = args.first_seed - 1, 0
        while done < args.seeds or operations < args.target:
            seed, done = seed + 1, done + 1
            report = run_seed(kind, SimConfig(seed=seed, customers=args.customers, days=args.days))
            operations += report.total_operations
            seconds += report.seconds
            checks += report.checks
            failed |= bool(report.violations)
            for violation in report.violations:
                print(f"VIOLATION {kind} seed {seed}: {violation}", file=sys.stderr)
            print(json.dumps({"database": kind, **report.to_json(), "violations": len(report.violations)}))
        print(
            json.dumps(
                {
                    "database": kind,
                    "seeds": done,
                    "first_seed": args.first_seed,
                    "operations": int(operations),
                    "seconds": round(seconds, 1),
                    "operations_per_second": round(operations / seconds) if seconds else 0,
                    "daily_checks": int(checks),
                }
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
