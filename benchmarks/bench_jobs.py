"""Jobs per second through the worker, and callbacks per second through ``handle_callback``, on SQLite
and PostgreSQL.

    python benchmarks/bench_jobs.py [--jobs 1000] [--callbacks 300]

Jobs: a transactional handler that writes one audit row (claim transaction + handler transaction with
the fenced acknowledgement), run by one worker with 1 and with 4 threads. Callbacks: verify the
signature, lock the payment, apply, record the event, enqueue ``payment.settled``, commit.
SQLite: a fresh file. PostgreSQL: a database of this run's own on ``LENDCORE_BENCH_SERVER_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

from lendcore.jobs.outbox import enqueue
from lendcore.jobs.registry import JobContext, Registry
from lendcore.jobs.worker import Worker
from lendcore.payments.callbacks import Callback, callback_to_json, sign
from lendcore.payments.inbound import handle_callback
from lendcore.payments.records import create_payment
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import AuditRecord, Customer
from pg_scratch import scratch_database


def write_audit(ctx: JobContext) -> None:
    ctx.db().add(
        AuditRecord(actor="bench", action="job", target_type="job", target_id=str(ctx.job_id), details={})
    )


def bench_jobs(factory, count: int, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        for n in range(count):
            enqueue(session, "bench.audit", {"n": n})
    registry = Registry()
    registry.register("bench.audit", write_audit)
    started = time.perf_counter()
    stats = Worker(factory, registry).run(threading.Event(), concurrency=concurrency, once=True)
    seconds = time.perf_counter() - started
    assert stats.succeeded == count, stats
    return count / seconds


def bench_callbacks(factory, count: int) -> float:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        customer = Customer(status="active")
        session.add(customer)
        session.flush()
        options = {"customer_id": customer.id, "value_date": date.today(), "now": now, "submit": False}
        ids = [
            create_payment(session, direction=PaymentDirection.INBOUND, amount=10_000, purpose="repayment",
                           channel="bench", account_token="t", **options).id  # type: ignore[arg-type]
            for _ in range(count)
        ]  # fmt: skip
    bodies = [
        json.dumps(
            callback_to_json(Callback(f"evt_{i}", pid, f"ref_{i}", PaymentState.SUCCEEDED, 10_000))
        ).encode()
        for i, pid in enumerate(ids)
    ]
    started = time.perf_counter()
    for body in bodies:
        ack = handle_callback(factory, sign(["s"], body, now), body, secrets=["s"], now=now)
        assert ack.status == 200 and ack.body["verdict"] == "apply", ack
    return count / (time.perf_counter() - started)


def run(name: str, url: str, jobs: int, callbacks: int) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        one = bench_jobs(factory, jobs, 1)
        four = bench_jobs(factory, jobs, 4)
        acks = bench_callbacks(factory, callbacks)
    finally:
        engine.dispose()
    print(f"{name:10s} jobs/s 1 thread {one:7.0f}   4 threads {four:7.0f}   callbacks/s {acks:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--callbacks", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.jobs, args.callbacks)
    with scratch_database("jobs") as url:
        run("postgresql", url, args.jobs, args.callbacks)


if __name__ == "__main__":
    main()
