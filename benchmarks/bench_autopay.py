"""The autopay run for N contracts due on one day with autopay mandates, then their submission to the
channel simulator as a real process; SQLite and PostgreSQL.

    python benchmarks/bench_autopay.py [--contracts 2000] [--chunk 1000] [--submit-limit N]
                                       [--threads 4] [--skip-postgres] [--database-url URL]

The book: ``lendcore bench seed`` clones of two templates built through the use cases (a quick
3-month and a quick 6-month loan drawn on the same day, each customer with a bound card, the
``autopay_debit`` consent and a primary mandate), so every contract has its first installment due on
the same day. The run: :func:`lendcore.batch.autopay.run_autopay_chunked` (what the ``autopay.run``
job does: ``--chunk`` contracts per transaction) for that day, attempt 1, at 09:30 Shanghai, in a child
process of its own so its peak RSS is the run's alone: contracts/s, SQL statements per contract, peak
RSS. Then the worker's ``payment.submit`` jobs (``--threads`` worker threads) send the requested
payments to ``lendcore channel-sim`` on loopback through :class:`~lendcore.payments.http_channel.HttpChannel`:
submits/s (``--submit-limit``: only the first N, to keep a 100,000 run short; 0: none).

SQLite: a fresh file. PostgreSQL: a scratch database on ``LENDCORE_BENCH_SERVER_URL`` (default the local
server), dropped at the end. ``--database-url`` runs on that (migrated, empty) database only.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select

from lendcore.batch.autopay import DEFAULT_CHUNK, run_autopay_chunked
from lendcore.batch.jobs import default_registry
from lendcore.batch.seed import Template, seed_book
from lendcore.core.schedule import Method
from lendcore.jobs.registry import Registry
from lendcore.jobs.worker import Worker
from lendcore.notify.sinks import DevelopmentSink
from lendcore.payments.http_channel import HttpChannel
from lendcore.payments.sim.process import channel_sim_process
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Payment, ScheduleRow
from lendcore.store.models_jobs import Job
from pg_scratch import scratch_database

#: Drawn on the same day: their first installments fall due on the same day.
AUTOPAY_BOOK = (
    Template("quick", 300_000, 3, Method.EQUAL_INSTALLMENT, 10, autopay=True),
    Template("quick", 800_000, 6, Method.EQUAL_PRINCIPAL, 10, autopay=True),
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def child(url: str, day: date, chunk: int) -> None:
    """The run alone, in this process: prints its figures as JSON."""
    engine = create_engine(url)
    factory = create_session_factory(engine)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    now = datetime.combine(day, clock_time(9, 30), SHANGHAI).astimezone(UTC)
    event.listen(engine, "before_cursor_execute", count)
    started = time.perf_counter()
    report = run_autopay_chunked(factory, day, 1, now=now, chunk=chunk)
    seconds = time.perf_counter() - started
    engine.dispose()
    figures = {
        "seconds": seconds, "requested": len(report.requested), "skipped": len(report.skipped),
        "statements": statements[0], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip
    print(json.dumps(figures))


def run_in_child(url: str, day: date, chunk: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, "--day", day.isoformat(), "--chunk", str(chunk)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the autopay run failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def submit(factory, sim: str, limit: int, threads: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Run up to ``limit`` ``payment.submit`` jobs against the simulator; (submitted, seconds)."""
    channel = HttpChannel(sim, name="simulator")
    handler = default_registry(channel, sink=DevelopmentSink()).get("payment.submit")
    assert handler is not None
    registry = Registry({"payment.submit": handler})
    worker = Worker(factory, registry)
    lock = threading.Lock()
    ran = [0]

    def loop() -> None:
        while True:
            with lock:
                if ran[0] >= limit:
                    return
                ran[0] += 1
            job = worker.claim()
            if job is None:
                return
            worker.run_job(job)

    started = time.perf_counter()
    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    channel.close()
    return worker.stats.succeeded, seconds


def run(url: str, label: str, contracts: int, chunk: int, submit_limit: int | None, threads: int) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        seeded = seed_book(factory, contracts, templates=AUTOPAY_BOOK)
        with unit_of_work(factory, read_only=True) as session:
            day = session.scalar(select(func.min(ScheduleRow.due_date)).where(ScheduleRow.period == 1))
        assert day is not None
        figures = run_in_child(url, day, chunk)
        with unit_of_work(factory, read_only=True) as session:
            payments = session.scalar(
                select(func.count()).select_from(Payment).where(Payment.purpose == "repayment")
            )
            queued = session.scalar(select(func.count()).where(Job.kind == "payment.submit"))
        limit = figures["requested"] if submit_limit is None else min(submit_limit, figures["requested"])
        submitted, submit_seconds = 0, 0.0
        if limit:
            with channel_sim_process("--seed", "7") as sim:
                submitted, submit_seconds = submit(factory, sim, limit, threads)
    finally:
        engine.dispose()
    rate = figures["requested"] / figures["seconds"] if figures["seconds"] else 0.0
    per_contract = figures["statements"] / max(contracts, 1)
    submits = (
        f"{submitted / submit_seconds:6,.0f} submits/s ({submitted:,} by {threads} threads)"
        if submitted
        else "-"
    )
    print(
        f"{label:10} N={contracts:,} (seed {seeded.seconds:.1f} s) due {day} | autopay run chunk {chunk:,}: "
        f"{figures['seconds']:7.1f} s {rate:6,.0f} contracts/s, requested {figures['requested']:,} "
        f"skipped {figures['skipped']:,}, payments {payments:,} submit jobs {queued:,}, "
        f"statements/contract {per_contract:.1f}, peak RSS {figures['peak_mb']:.0f} MB | simulator: {submits}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    parser.add_argument("--submit-limit", type=int, default=None, help="submit only the first N (0: none)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads for the submit jobs")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--database-url", help="run on this migrated, empty database only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--day", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, date.fromisoformat(args.day), args.chunk)
        return
    options = (args.contracts, args.chunk, args.submit_limit, args.threads)
    if args.database_url:
        run(args.database_url, args.database_url.split(":")[0].split("+")[0], *options)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'autopay.db'}", "sqlite", *options)
    if not args.skip_postgres:
        with scratch_database("autopay") as url:
            run(url, "postgresql", *options)


if __name__ == "__main__":
    main()
