"""HTTP throughput and latency of ``lendcore serve`` (uvicorn, a real process) on PostgreSQL, beside
pgbench TPC-B on the same server in the same run, reported as ratios.

Run: ``python benchmarks/bench_http.py [SECONDS_PER_STEP] [CONTRACTS] [--workers N]`` (defaults 5, 50
and 1 uvicorn worker) with a PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth;
``LENDCORE_BENCH_PG`` overrides the server
URL, e.g. ``postgresql://postgres@127.0.0.1:5432``). It creates two throwaway databases (one for the
API, one for ``pgbench -i -s 10``) and drops them at the end.

The API database is migrated and seeded through the use cases (customers, credit lines, drawdowns,
staff users); access tokens are minted with the server's JWT secret. Then, for every entry of
:data:`ENDPOINTS` and 1, 8 and 32 concurrent clients, a bounded asyncio ``httpx`` load runs for
``SECONDS_PER_STEP``: throughput (2xx per second), p50 and p99 latency, errors. The reference is
``pgbench -c N -j min(N, 2) -T SECONDS_PER_STEP`` on the TPC-B database at the same client counts. The
ratio printed is (endpoint throughput) / (pgbench TPS) at the same concurrency: a write endpoint is
one HTTP request and one database transaction of several statements, as a TPC-B transaction is.

Adding an endpoint is one entry in :data:`ENDPOINTS` (a name, who calls it and how to build the
request). The customer-facing quote, repayment and contract endpoints go there when they exist.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from http_wire import WireConnection
from lendcore.auth.principal import Principal, StaffRole
from lendcore.auth.staff import create_staff_user
from lendcore.auth.tokens import AccessTokens
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.payments.sim.process import free_port
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.lines import open_credit_line
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Customer

CONCURRENCY = (1, 8, 32)
SERVER = os.environ.get("LENDCORE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
TOKEN_TTL = timedelta(hours=2)


@dataclass(frozen=True)
class World:
    tokens: dict[str, str]  # role → bearer token
    line_ids: list[str]
    contract_ids: list[str]
    customer_tokens: list[str]  # the owner of line_ids[i] and contract_ids[i]

    def token(self, role: str, i: int) -> str:
        """The bearer token of request ``i``: a customer request acts as the owner of item ``i``."""
        if role == "customer":
            return self.customer_tokens[i % len(self.customer_tokens)]
        return self.tokens[role]


@dataclass(frozen=True)
class Endpoint:
    """One load target: ``request(i, world)`` → (method, path, JSON body or None); ``role`` calls it."""

    name: str
    role: str
    request: Callable[[int, World], tuple[str, str, dict[str, Any] | None]]
    writes: bool = False  # a write (takes an Idempotency-Key): compared with pgbench


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "quote (customer)",
        "customer",
        lambda i, w: ("POST", "/api/v1/quotes", {"line_id": w.line_ids[i % len(w.line_ids)], "amount": 300_000, "term": 6}),  # noqa: E501
    ),
    Endpoint(
        "repayment ¥1 (write)",
        "customer",
        lambda i, w: ("POST", "/api/v1/repayments", {"mode": "by-contract", "amount": 100, "contract_ids": [w.contract_ids[i % len(w.contract_ids)]]}),  # noqa: E501
        writes=True,
    ),
    Endpoint(
        "contract-read (customer)",
        "customer",
        lambda i, w: ("GET", f"/api/v1/contracts/{w.contract_ids[i % len(w.contract_ids)]}", None),
    ),
    Endpoint(
        "proposal-create (write)",
        "operator",
        lambda i, w: (
            "POST",
            "/api/v1/staff/proposals",
            {"kind": "line-freeze", "target_id": w.line_ids[i % len(w.line_ids)], "reason": "bench"},
        ),
        writes=True,
    ),
    Endpoint(
        "journal-read (page of 20)",
        "finance",
        lambda i, w: ("GET", f"/api/v1/staff/ledger/journal?limit=20&contract_id={w.contract_ids[i % len(w.contract_ids)]}", None),  # noqa: E501
    ),
    Endpoint("trial-balance (aggregate)", "finance", lambda i, w: ("GET", "/api/v1/staff/ledger/trial-balance", None)),  # noqa: E501
)  # fmt: skip


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


def seed(url: str, contracts: int, secret: str) -> World:
    upgrade_database(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    on = date.today()
    gate = drawdown_gate(DrawdownConfig(max_drawdowns_per_window=10**6, max_failed_repayments=10**6))
    lines, drawn, owners = [], [], []
    for n in range(contracts):
        with unit_of_work(factory) as session:
            customer = Customer(status="active")
            session.add(customer)
            session.flush()
            owners.append(customer.id)
            line = open_credit_line(
                session, customer_id=customer.id, product_code="quick", credit_limit=5_000_000,
                pricing_grade="C", business_date=on, actor="bench",
            )  # fmt: skip
            lines.append(line.id)
        request = DrawRequest(
            line_id=line.id, amount=1_000_000, term=3, business_date=on, idempotency_key=f"d{n}"
        )
        with unit_of_work(factory) as session:
            contract_id = draw(session, request, gate=gate).contract_id
            assert contract_id is not None, "the seed drawdown did not book a contract"
            drawn.append(contract_id)
    tokens = {}
    issuer = AccessTokens(secret.encode(), TOKEN_TTL)
    for role in ("operator", "finance"):
        with unit_of_work(factory) as session:
            user = create_staff_user(
                session, username=f"bench.{role}", password=secrets.token_urlsafe(16),
                roles=[StaffRole(role)], actor="bench",
            )  # fmt: skip
            principal = Principal("staff", user.id, frozenset({StaffRole(role)}), user.username)
        tokens[role] = issuer.issue(principal, datetime.now(UTC))
    customer_tokens = [issuer.issue(Principal("customer", owner), datetime.now(UTC)) for owner in owners]
    engine.dispose()
    return World(tokens, lines, drawn, customer_tokens)


@contextmanager
def served(url: str, secret: str, workers: int = 1) -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "LENDCORE_DATABASE_URL": url,
        "LENDCORE_JWT_SECRET": secret,
        "LENDCORE_API_RATE_LIMITS": "off",
    }
    lendcore = str(Path(sys.executable).with_name("lendcore"))  # the console script beside this Python
    command = [lendcore, "serve", "--port", str(port), "--no-migrate", "--workers", str(workers)]
    log = tempfile.TemporaryFile()  # noqa: SIM115  the server's logs (an unread pipe would block it)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"lendcore serve did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@dataclass(frozen=True)
class Measured:
    ok: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


Send = Callable[[str, str, dict[str, Any] | None, dict[str, str]], Awaitable[int]]


async def load(
    base: str, endpoint: Endpoint, world: World, clients: int, seconds: float, client: str = "wire"
) -> Measured:
    """``clients`` concurrent callers of ``endpoint`` for ``seconds``, each on its own keep-alive
    connection: a :class:`~http_wire.WireConnection` (``client="wire"``) or an httpx pool."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as pool:

        async def through_httpx(
            method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
        ) -> int:
            return (await pool.request(method, path, json=body, headers=headers)).status_code

        async def worker() -> None:
            nonlocal errors
            wire = WireConnection(base)
            send: Send = wire.request if client == "wire" else through_httpx
            try:
                while time.monotonic() < stop:
                    i = next(counter)
                    method, path, body = endpoint.request(i, world)
                    extra = {"Authorization": f"Bearer {world.token(endpoint.role, i)}"}
                    if endpoint.writes:
                        extra["Idempotency-Key"] = uuid.uuid4().hex
                    started = time.perf_counter()
                    status = await send(method, path, body, extra)
                    elapsed = time.perf_counter() - started
                    if 200 <= status < 300:
                        latencies.append(elapsed)
                    else:
                        errors += 1
            finally:
                await wire.close()

        stop = time.monotonic() + seconds
        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(clients)))
        spent = time.monotonic() - began
    return Measured(len(latencies), errors, spent, latencies)


def pgbench(seconds: float) -> dict[int, float]:
    tps: dict[int, float] = {}
    with throwaway_database("lendcore_bench_pgbench") as name:
        target = f"{SERVER}/{name}"
        subprocess.run(["pgbench", "-i", "-s", "10", "-q", target], check=True, capture_output=True)
        for clients in CONCURRENCY:
            run = subprocess.run(
                ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(int(seconds)),
                 target],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            match = re.search(r"tps = ([0-9.]+)", run.stdout)
            tps[clients] = float(match[1]) if match else float("nan")
    return tps


def main(
    seconds: float = 5.0,
    contracts: int = 50,
    workers: int = 1,
    client: str = "wire",
    only: tuple[str, ...] = (),
) -> None:
    """``only``: the endpoints whose name starts with one of these (all when empty)."""
    endpoints = [e for e in ENDPOINTS if not only or e.name.startswith(only)]
    if not endpoints:
        raise SystemExit(f"no endpoint starts with {', '.join(only)}: {', '.join(e.name for e in ENDPOINTS)}")
    secret = secrets.token_hex(32)
    results: dict[tuple[str, int], Measured] = {}
    with throwaway_database("lendcore_bench_http") as name:
        url = f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        started = time.perf_counter()
        world = seed(url, contracts, secret)
        print(f"seeded {contracts} customers, lines and contracts in {time.perf_counter() - started:.1f} s")
        with served(url, secret, workers) as base:
            print(f"lendcore serve --workers {workers}; load client: {client}")
            for endpoint in endpoints:
                asyncio.run(load(base, endpoint, world, 1, 1.0, client))  # warm-up
                for clients in CONCURRENCY:
                    results[endpoint.name, clients] = asyncio.run(
                        load(base, endpoint, world, clients, seconds, client)
                    )
    reference = pgbench(seconds)
    print(
        f"\n{'endpoint':28} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'÷ pgbench':>9}"
    )
    for endpoint in endpoints:
        for clients in CONCURRENCY:
            m = results[endpoint.name, clients]
            ratio = m.throughput / reference[clients] if reference[clients] else float("nan")
            print(
                f"{endpoint.name:28} {clients:7d} {m.throughput:9.1f} {m.percentile(0.50):8.2f} "
                f"{m.percentile(0.99):8.2f} {m.errors:6d} {ratio:9.3f}"
            )
    print("\npgbench TPC-B (scale 10), same server, same run:")
    for clients in CONCURRENCY:
        print(f"  {clients:2d} clients: {reference[clients]:9.1f} tps")
    writes = [e for e in endpoints if e.writes]
    for endpoint in writes:
        ratios = [results[endpoint.name, c].throughput / reference[c] for c in CONCURRENCY]
        print(
            f"{endpoint.name} TPS / pgbench TPS at 1/8/32 clients: " + " / ".join(f"{r:.3f}" for r in ratios)
        )
    if any(m.errors for m in results.values()):
        print("note: some requests failed (see the errors column)")
    print(f"median of the p50s: {statistics.median(m.percentile(0.5) for m in results.values()):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=5.0, help="seconds per step")
    parser.add_argument("contracts", nargs="?", type=int, default=50, help="customers seeded")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (lendcore serve --workers)"
    )
    parser.add_argument(
        "--client", choices=("wire", "httpx"), default="wire", help="load client (http_wire.py: lean; httpx)"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="only endpoints whose name starts with this (repeatable)"
    )
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.contracts, arguments.workers, arguments.client, tuple(arguments.only))
