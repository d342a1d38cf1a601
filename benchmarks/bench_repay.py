"""The repayment use case on PostgreSQL beside pgbench TPC-B, in one run (issue 12: the hot path).

Run: ``.venv/bin/python benchmarks/bench_repay.py [--seconds 20] [--contracts 200] [--clients 1 8]``
with a PostgreSQL on 127.0.0.1:5432 (user postgres, trust; ``LENDCORE_BENCH_PG`` overrides the server
URL). It creates two throwaway databases and drops them at the end:

* ``pgbench -i -s 10`` then ``pgbench -n -c N -j min(N, 2) -T SECONDS`` at each client count (TPC-B:
  five statements in one transaction, with contention on its 10 branch rows);
* a lendcore database migrated and seeded through the use cases (one customer, quick credit line and
  12-month drawdown each), then N worker *processes*, each with its own engine and connection, run
  :func:`lendcore.servicing.repay.repay` of ¥1 (by amount, on the business date: the on-time path) in
  its own unit of work, on customers drawn at random, for SECONDS. No HTTP: the use case itself.

Printed per client count: transactions per second, p50 / p99 latency (ms), the ratio to pgbench's TPS
at the same client count, and the SQL statements one repayment issues (counted with a SQLAlchemy
``before_cursor_execute`` listener, BEGIN and COMMIT excluded). Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import secrets
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.repay import RepayRequest, repay
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Customer

SERVER = os.environ.get("LENDCORE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
D0 = date(2026, 3, 1)
ON = D0 + timedelta(days=3)
RELAXED = DrawdownConfig(max_drawdowns_per_window=10**6, max_failed_repayments=10**6)


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pgbench(target: str, seconds: int, clients: int) -> float:
    run = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), target],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    match = re.search(r"tps = ([0-9.]+)", run.stdout)
    return float(match[1]) if match else float("nan")


def seed(url: str, contracts: int) -> list[str]:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    customers = []
    for i in range(contracts):
        with unit_of_work(factory) as s:
            customer = Customer(status="active")
            s.add(customer)
            s.flush()
            line = open_credit_line(
                s, customer_id=customer.id, product_code="quick", credit_limit=5_000_000, pricing_grade="C",
                business_date=D0, actor="bench",
            )  # fmt: skip
            draw(s, DrawRequest(line.id, 2_000_000, 12, D0, f"d{i}"), gate=drawdown_gate(RELAXED))
            customers.append(customer.id)
    engine.dispose()
    return customers


def one_repayment(factory: Any, customer_id: str) -> None:
    with unit_of_work(factory) as s:
        repay(s, RepayRequest(customer_id, ON, uuid.uuid4().hex, amount=100))


def statements_per_repayment(url: str, customer_id: str) -> list[str]:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    one_repayment(factory, customer_id)  # warm: the unapplied-funds row exists from now on
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, st, p, ctx, many: seen.append(st))
    one_repayment(factory, customer_id)
    engine.dispose()
    return [" ".join(s.split())[:90] for s in seen if s.split()[0].upper() not in ("BEGIN", "COMMIT")]


def _worker(url: str, customers: list[str], seconds: int, seed_: int, ready: Any, out: Any) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    factory = create_session_factory(engine)
    one_repayment(factory, customers[seed_ % len(customers)])  # connect and warm before the clock
    rng = random.Random(seed_)
    latencies: list[float] = []
    errors = 0
    ready.wait()  # every worker imported, connected and warm: start together
    stop = time.perf_counter() + seconds
    while (began := time.perf_counter()) < stop:
        try:
            one_repayment(factory, rng.choice(customers))
            latencies.append(time.perf_counter() - began)
        except Exception:  # a benchmark counts failures, it does not stop on them
            errors += 1
    engine.dispose()
    out.put((latencies, errors))


def lendcore_load(url: str, customers: list[str], clients: int, seconds: int) -> tuple[list[float], int]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    ready = context.Barrier(clients)
    workers = [
        context.Process(target=_worker, args=(url, customers, seconds, 1000 + k, ready, queue))
        for k in range(clients)
    ]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    return [x for lat, _ in results for x in lat], sum(e for _, e in results)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--contracts", type=int, default=200)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    with throwaway_database("lendcore_bench_repay") as name:
        url = f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        t = time.perf_counter()
        customers = seed(url, args.contracts)
        print(f"seeded {len(customers)} contracts in {time.perf_counter() - t:.1f} s")
        statements = statements_per_repayment(url, customers[0])
        print(f"one repayment = {len(statements)} statements:")
        for s in statements:
            print(f"  {s}")
        with throwaway_database("lendcore_bench_tpcb") as tpcb:
            target = f"{SERVER}/{tpcb}"
            subprocess.run(["pgbench", "-i", "-s", "10", "-q", target], check=True, capture_output=True)
            print("clients  pgbench TPS  repay TPS  ratio  p50 ms  p99 ms  (errors, mean ms)")
            for n in args.clients:  # side by side: pgbench, then the use case, at each client count
                tps = pgbench(target, args.seconds, n)
                latencies, errors = lendcore_load(url, customers, n, args.seconds)
                rate = len(latencies) / args.seconds
                mean = statistics.fmean(latencies) * 1e3 if latencies else float("nan")
                print(
                    f"{n:>7} {tps:>12.0f} {rate:>10.1f} {rate / tps:>6.3f} {_pct(latencies, 0.5):>7.1f} "
                    f"{_pct(latencies, 0.99):>7.1f}  errors {errors}, mean {mean:.1f}"
                )


if __name__ == "__main__":
    main()
