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
``before_cursor_execute`` listener, BEGIN and COMMIT excluded). Then the CPU each side spends per
transaction, in its client processes (pgbench; the workers, warm-up included) and in the PostgreSQL
server's processes (``/proc``), and the ratio those allow when both are CPU-bound on the same cores:
pgbench's (client + server) ÷ the use case's. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
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


def _postgres_stats() -> dict[str, list[str]]:
    """pid → the fields after the name in ``/proc/<pid>/stat``, for every process named postgres."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(") ")
        except OSError:  # the process ended meanwhile
            continue
        if name.endswith("(postgres"):
            stats[stat.parent.name] = rest.split()
    return stats


def server_cpu_seconds() -> float:
    """CPU seconds used so far by the PostgreSQL server on this machine (``/proc``): its live processes
    (utime + stime), plus what the postmaster (the one whose parent is not a postgres) has reaped from
    backends that ended (cutime + cstime). Deltas around a load are the server's CPU for it; other
    databases' work on the same server counts too."""
    stats = _postgres_stats()
    ticks = sum(int(f[11]) + int(f[12]) for f in stats.values())
    ticks += sum(int(f[13]) + int(f[14]) for f in stats.values() if f[1] not in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_cpu(into: dict[str, float]) -> Iterator[None]:
    """The server's CPU seconds during the block, into ``into["server"]``."""
    began = server_cpu_seconds()
    yield
    into["server"] = server_cpu_seconds() - began


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (pgbench)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    cpu = time.process_time()
    stop = time.perf_counter() + seconds
    while (began := time.perf_counter()) < stop:
        try:
            one_repayment(factory, rng.choice(customers))
            latencies.append(time.perf_counter() - began)
        except Exception:  # a benchmark counts failures, it does not stop on them
            errors += 1
    cpu = time.process_time() - cpu
    engine.dispose()
    out.put((latencies, errors, cpu))


def lendcore_load(
    url: str, customers: list[str], clients: int, seconds: int
) -> tuple[list[float], int, float]:
    """Every latency, the errors and the workers' CPU seconds of ``clients`` processes for ``seconds``."""
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
    return (
        [x for lat, _, _ in results for x in lat],
        sum(e for _, e, _ in results),
        sum(c for _, _, c in results),
    )


def print_cpu_costs(costs: list[tuple[int, float, float, dict[str, float], dict[str, float]]]) -> None:
    """CPU milliseconds per transaction, client and server, of pgbench and of the use case, and the
    ratio their sums allow when both are CPU-bound on the same cores (this machine's ceiling)."""
    print("CPU ms per transaction: clients  pgbench client+server  repay client+server  CPU-bound ratio")
    for n, reference_txns, repay_txns, reference, ours in costs:
        ref = [reference[k] / reference_txns * 1e3 for k in ("client", "server")]
        own = [ours[k] / repay_txns * 1e3 for k in ("client", "server")]
        ceiling = sum(ref) / sum(own)
        print(f"{n:>30} {ref[0]:>8.3f} + {ref[1]:.3f} {own[0]:>10.3f} + {own[1]:.3f} {ceiling:>10.3f}")


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
            costs: list[tuple[int, float, float, dict[str, float], dict[str, float]]] = []
            for n in args.clients:  # side by side: pgbench, then the use case, at each client count
                reference_cpu: dict[str, float] = {}
                client = children_cpu_seconds()
                with server_cpu(reference_cpu):
                    tps = pgbench(target, args.seconds, n)
                reference_cpu["client"] = children_cpu_seconds() - client
                repay_cpu: dict[str, float] = {}
                with server_cpu(repay_cpu):
                    latencies, errors, repay_cpu["client"] = lendcore_load(url, customers, n, args.seconds)
                rate = len(latencies) / args.seconds
                mean = statistics.fmean(latencies) * 1e3 if latencies else float("nan")
                print(
                    f"{n:>7} {tps:>12.0f} {rate:>10.1f} {rate / tps:>6.3f} {_pct(latencies, 0.5):>7.1f} "
                    f"{_pct(latencies, 0.99):>7.1f}  errors {errors}, mean {mean:.1f}"
                )
                costs.append((n, tps * args.seconds, float(len(latencies)), reference_cpu, repay_cpu))
            print_cpu_costs(costs)


if __name__ == "__main__":
    main()
