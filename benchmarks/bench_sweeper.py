"""The stuck-payment sweeper over N processing payments past their query deadline, against the channel
simulator as a real process, beside the simulator alone answering the same queries; SQLite and
PostgreSQL.

    python benchmarks/bench_sweeper.py [--payments 2000] [--batch 500] [--faults SPEC]
                                       [--concurrency 1] [--skip-postgres] [--database-url URL]

Per database: N ``processing`` payments (their submit timed out, no callback came: the backlog after
an outage) are written in bulk, ``next_query_at`` an hour ago; ``lendcore channel-sim`` is started on
loopback and told about each payment (``POST /v1/payments``, untimed). Then the reference: a plain
sequential httpx client asks the simulator ``GET /v1/payments/{id}`` once per payment (queries/s,
p50/p99). Then the real sweeper (:func:`lendcore.payments.sweeper.sweep_stuck_payments` through
:class:`~lendcore.payments.http_channel.HttpChannel`, the limits the ``payments.sweep`` job uses: a run
stops at its time budget and the next goes on; ``--concurrency`` query threads) runs until no payment
is left open: payments/s, the query round trip through the adapter (p50/p99), the SQL statements per
payment, and the ratio of the sweeper's rate to the reference's. ``--faults`` is passed to the
simulator (failure codes only, e.g. ``insufficient_funds=0.1``: a fault that keeps a payment
processing never lets the loop end).

SQLite: a fresh file. PostgreSQL: a scratch database on ``LENDCORE_BENCH_SERVER_URL`` (default the local
server), dropped at the end. ``--database-url`` runs on that (migrated, empty) database only.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select

from lendcore.payments import wire
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.http_channel import HttpChannel
from lendcore.payments.sim.process import channel_sim_process
from lendcore.payments.state import PaymentDirection
from lendcore.payments.sweeper import DEFAULT_LIMITS, OPEN_STATES, SweepLimits, sweep_stuck_payments
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Customer, Payment
from lendcore.store.types import utc_now
from pg_scratch import scratch_database
from sim_process import Latencies, query_all, submit_all

PER_CUSTOMER = 20  # payments per customer (the sweeper does not care; the table needs owners)
WRITE_BATCH = 5_000


class TimedChannel(HttpChannel):
    """The HTTP channel, timing each query round trip."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, name="simulator")
        self.samples: list[float] = []

    def query(self, payment_id: str):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().query(payment_id)
        finally:
            self.samples.append(time.perf_counter() - started)


def seed_payments(factory, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` processing payments, submitted two hours ago, due for a query an hour ago."""
    now = utc_now()
    submitted = now - timedelta(hours=2)
    ids = [new_id("pay") for _ in range(count)]
    customers = [new_id("cus") for _ in range(0, count, PER_CUSTOMER)]
    with unit_of_work(factory) as session:
        session.execute(insert(Customer), [{"id": c, "status": "active"} for c in customers])
    for start in range(0, count, WRITE_BATCH):
        rows: list[dict[str, Any]] = [
            {
                "id": pid, "direction": "inbound", "customer_id": customers[n // PER_CUSTOMER],
                "purpose": "repayment", "amount": 10_000 + n % 50_000, "state": "processing",
                "channel": "simulator", "requested_at": submitted, "value_date": date.today(),
                "submitted_at": submitted, "timeout_at": submitted + timedelta(minutes=2), "attempts": 1,
                "next_query_at": now - timedelta(hours=1), "sla_at": now + timedelta(days=1),
                "query_attempts": 0,
            }
            for n, pid in enumerate(ids[start : start + WRITE_BATCH], start)
        ]  # fmt: skip
        with unit_of_work(factory) as session:
            session.execute(insert(Payment), rows)
    return ids


def instructions(factory) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory, read_only=True) as session:
        rows = session.execute(select(Payment.id, Payment.amount).order_by(Payment.id)).all()
    return [
        wire.instruction_to_json(
            PaymentInstruction(pid, PaymentDirection.INBOUND, amount, f"card:{pid}"), None
        )
        for pid, amount in rows
    ]


def open_count(factory) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).where(Payment.state.in_(OPEN_STATES))) or 0)


def sweep_until_done(factory, channel: TimedChannel, limits: SweepLimits) -> dict[str, float]:  # type: ignore[no-untyped-def]
    runs = batches = queried = 0
    started = time.perf_counter()
    while True:
        report = sweep_stuck_payments(factory, channel, now=utc_now(), limits=limits)
        runs += 1
        batches += report.batches
        queried += report.queried
        if not report.more:  # everything due went through (the job would run again in a minute)
            break
    seconds = time.perf_counter() - started
    return {"runs": runs, "batches": batches, "queried": queried, "seconds": seconds}


def run(url: str, label: str, payments: int, limits: SweepLimits, faults: str) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    try:
        started = time.perf_counter()
        ids = seed_payments(factory, payments)
        seeded = time.perf_counter() - started
        with channel_sim_process("--seed", "7", "--faults", faults) as sim:
            loaded = submit_all(sim, instructions(factory))
            reference: Latencies = query_all(sim, ids)
            channel = TimedChannel(sim)
            event.listen(engine, "before_cursor_execute", count)
            try:
                swept = sweep_until_done(factory, channel, limits)
            finally:
                event.remove(engine, "before_cursor_execute", count)
                channel.close()
        left = open_count(factory)
    finally:
        engine.dispose()
    trips = Latencies(len(channel.samples), sum(channel.samples), channel.samples)
    rate = swept["queried"] / swept["seconds"] if swept["seconds"] else 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:10} N={payments:,} threads {limits.concurrency} (seed {seeded:.1f} s, simulator told "
        f"{loaded:.1f} s) | sweeper "
        f"{swept['seconds']:7.1f} s {rate:7,.0f} payments/s, {swept['runs']:.0f} run(s) "
        f"{swept['batches']:.0f} batches, left open {left} | query round trip p50 {trips.quantile(50):.2f} "
        f"ms p99 {trips.quantile(99):.2f} ms | statements/payment {statements[0] / max(payments, 1):.1f} | "
        f"simulator alone {reference.per_second:7,.0f} queries/s p50 {reference.quantile(50):.2f} ms p99 "
        f"{reference.quantile(99):.2f} ms | ratio {rate / reference.per_second:.2f} | peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=DEFAULT_LIMITS.batch)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_LIMITS.concurrency, help="query threads")
    parser.add_argument("--faults", default="")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--database-url", help="run on this migrated, empty database only")
    args = parser.parse_args()
    limits = SweepLimits(
        batch=args.batch, time_budget=DEFAULT_LIMITS.time_budget, concurrency=args.concurrency
    )
    if args.database_url:
        run(
            args.database_url,
            args.database_url.split(":")[0].split("+")[0],
            args.payments,
            limits,
            args.faults,
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'sweeper.db'}", "sqlite", args.payments, limits, args.faults)
    if not args.skip_postgres:
        with scratch_database("sweeper") as url:
            run(url, "postgresql", args.payments, limits, args.faults)


if __name__ == "__main__":
    main()
