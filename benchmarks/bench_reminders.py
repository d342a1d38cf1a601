"""The reminder run for N contracts due on one day, on SQLite and PostgreSQL, beside a plain-SQL reference.

    python benchmarks/bench_reminders.py [--contracts 10000] [--skip-postgres] [--senders 1]

The book: N clones of one quick 3-month contract (``lendcore.batch.seed``), so every contract has its
first installment due on the same day; the run is for three days before it (offset -3: one push message
per contract). Phases, each timed:

* queue: :func:`lendcore.batch.reminders.queue_reminders` in one transaction (select the installments,
  compute what will be due, write one message per contract);
* send: :func:`lendcore.notify.delivery.send_queued` through the seeded simulated provider (one
  transaction per message: the previous answer and the next claim);
* sweep: one :func:`~lendcore.notify.delivery.sweep_notifications` that records every receipt.

Reference, in the same database: one ``INSERT … SELECT`` writing N message rows (the floor of the queue
phase), then N one-row ``UPDATE``s each in its own transaction (the floor of sending at most once with
the claim committed first). Reported: seconds, messages/s, and the ratio to the reference.
SQLite: a fresh file. PostgreSQL: a database of this run's own on ``LENDCORE_BENCH_SERVER_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.reminders import queue_reminders
from lendcore.batch.seed import Template, seed_book
from lendcore.core.notices import ReminderPolicy
from lendcore.core.schedule import Method
from lendcore.notify.delivery import CustomerAddresses, DeliveryPolicy, send_queued, sweep_notifications
from lendcore.notify.simulated import SimulatedProvider
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import ScheduleRow
from lendcore.store.models_notify import Notification
from pg_scratch import scratch_database

ONE_DUE_DATE = (Template("quick", 300_000, 3, Method.EQUAL_INSTALLMENT, 10),)


def _reference(factory: sessionmaker[Session], now: datetime) -> tuple[float, float, int]:
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        session.execute(
            text(
                "INSERT INTO notifications (id, customer_id, channel, template, dedupe_key, text,"
                " state, send_attempts, polls, queued_at) SELECT 'ref_' || id, customer_id, 'push',"
                " 'reminder_before', 'ref:' || id, 'text', 'queued', 0, 0, :now FROM contracts"
            ),
            {"now": now},
        )
    queued = time.perf_counter() - started
    with unit_of_work(factory, read_only=True) as session:
        ids = list(session.scalars(select(Notification.id).where(Notification.id.like("ref_%"))))
    started = time.perf_counter()
    for message_id in ids:
        with unit_of_work(factory) as session:
            session.execute(
                text("UPDATE notifications SET state = 'sent' WHERE id = :id"), {"id": message_id}
            )
    return queued, time.perf_counter() - started, len(ids)


def run(url: str, contracts: int, label: str, senders: int) -> dict[str, Any]:
    engine = create_engine(url)
    upgrade_database(engine)
    factory = create_session_factory(engine)
    seed_book(factory, contracts, templates=ONE_DUE_DATE)
    with unit_of_work(factory, read_only=True) as session:
        due = session.scalar(select(func.min(ScheduleRow.due_date)).where(ScheduleRow.period == 1))
    assert due is not None
    day = due - timedelta(days=3)
    now = datetime.combine(day, clock_time(2, 0), tzinfo=UTC)
    provider = SimulatedProvider(seed=1, clock=lambda: now)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        queued = queue_reminders(
            session, day, now=now, policy=ReminderPolicy(), addresses=CustomerAddresses()
        )
    t_queue = time.perf_counter() - started
    started = time.perf_counter()
    handed = send_queued(factory, provider, queued.ids, now=now, policy=DeliveryPolicy(senders=senders))
    t_send = time.perf_counter() - started
    later = now + timedelta(minutes=1)
    provider.clock = lambda: later
    started = time.perf_counter()
    swept = sweep_notifications(factory, provider, now=later)
    t_sweep = time.perf_counter() - started
    ref_queue, ref_send, ref_n = _reference(factory, now)
    engine.dispose()
    n = len(queued.ids)
    return {
        "database": label, "senders": senders, "contracts": contracts, "messages": n, "handed": handed,
        "receipts": swept.receipts,
        "queue_s": round(t_queue, 2), "queue_msgs_per_s": round(n / t_queue), "send_s": round(t_send, 2),
        "send_msgs_per_s": round(n / t_send), "sweep_s": round(t_sweep, 2),
        "end_to_end_msgs_per_s": round(n / (t_queue + t_send)), "ref_queue_s": round(ref_queue, 3),
        "ref_send_s": round(ref_send, 2), "queue_vs_ref": round(t_queue / ref_queue, 1),
        "send_vs_ref": round(t_send / ref_send, 2), "ref_messages": ref_n,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--senders", type=int, default=1, help="sending threads (DeliveryPolicy.senders)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.contracts, "sqlite", args.senders)))
    if not args.skip_postgres:
        with scratch_database("remind") as url:
            print(json.dumps(run(url, args.contracts, "postgresql", args.senders)))


if __name__ == "__main__":
    main()
