"""Sharding by customer (lendcore.store.shards): a customer's rows live on one shard, every business
transaction touches one database, the close runs per shard and merges, and the back office reads the
same numbers from the shards as from one database holding the whole book.

Shown on two kinds of shards: SQLite files, and PostgreSQL clusters of their own on loopback ports,
created with Debian's ``pg_createcluster`` for this module and dropped after it (skipped where the
tool or root is missing, except under ``CI=true``, where that is a failure).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.sharded_close import close_shards
from lendcore.core.errors import ConfigurationError
from lendcore.queries.fanout import dpd_distribution_across, outstanding_by_product_across
from lendcore.queries.portfolio import dpd_distribution, outstanding_by_product
from lendcore.servicing.invariants import check_invariants, trial_balance_from_db
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Contract, Customer, LoanTransaction
from lendcore.store.shards import ShardMap, ShardRouter, new_customer_id
from tests.db_fixtures import skip_unless_ci
from tests.servicing.support import D0, do_draw, do_repay, open_line

SHARDS = 2
#: (amount fen, term, method, days after D0 on which the customer pays the first installment or None)
LOANS = [
    (300_000, 3, "equal-installment", 31),
    (500_000, 6, "equal-principal", 35),
    (200_000, 1, "bullet", None),
    (800_000, 6, "equal-installment", 30),
    (1_000_000, 12, "equal-installment", 45),
    (400_000, 2, "bullet", 31),
    (600_000, 3, "equal-principal", None),
    (250_000, 1, "bullet", 40),
    (900_000, 6, "equal-installment", 28),
    (350_000, 3, "equal-installment", 33),
    (700_000, 6, "equal-principal", 50),
    (150_000, 1, "bullet", 31),
]
MILESTONES = [D0 + timedelta(days=n) for n in (20, 36, 60)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_clusters() -> Iterator[list[str]]:
    """Two PostgreSQL clusters of this module's own (trust auth on loopback), dropped after it."""
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        skip_unless_ci("pg_createcluster (Debian postgresql-common) and root are needed")
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]
    names, urls = [], []
    try:
        for n in range(SHARDS):
            name, port = f"lcshard{uuid.uuid4().hex[:8]}{n}", _free_port()
            subprocess.run(
                ["pg_createcluster", version, name, "-p", str(port), "--start", "--",
                 "--auth-host=trust", "--auth-local=trust"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            names.append(name)
            urls.append(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        yield urls
    finally:
        for name in names:
            subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=120)


@pytest.fixture(params=["sqlite-files", "postgresql-clusters"])
def shard_urls(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "sqlite-files":
        urls = [f"sqlite:///{tmp_path / f'shard{n}.db'}" for n in range(SHARDS)]
    else:
        clusters: list[str] = request.getfixturevalue("pg_clusters")
        urls = clusters
    for url in urls:
        upgrade_database(url)
    return urls


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """One database holding the whole book, for comparison."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    engine.dispose()


def _customer(factory: sessionmaker[Session], customer_id: str) -> None:
    with unit_of_work(factory) as session:
        session.add(Customer(id=customer_id, status="active"))


def _lend(factory: sessionmaker[Session], customer_id: str, loan: tuple[int, int, str, int | None]) -> None:
    amount, term, method, _ = loan
    _customer(factory, customer_id)
    _, line = open_line(factory, customer_id=customer_id)
    do_draw(factory, line, amount, term, method=method, idempotency_key=f"draw-{customer_id}")


def _pay(factory: sessionmaker[Session], customer_id: str, on: date) -> None:
    do_repay(factory, customer_id, 50_000, on, idempotency_key=f"pay-{customer_id}")


def test_placement_is_a_stable_function_of_the_customer_id() -> None:
    shard_map = ShardMap(("a", "b", "c"))
    ids = [new_customer_id() for _ in range(3_000)]
    placed = Counter(shard_map.shard_of(i) for i in ids)
    assert [shard_map.shard_of(i) for i in ids] == [ShardMap(("a", "b", "c")).shard_of(i) for i in ids]
    assert set(placed) == {0, 1, 2} and min(placed.values()) > 850  # an even spread (1,000 expected)


@pytest.mark.parametrize("urls", [(), ("x", "x")])
def test_a_shard_map_needs_distinct_databases(urls: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError) as error:
        ShardMap(urls)
    assert error.value.code == "SHARD_MAP_INVALID"


def test_a_sharded_book_closes_per_shard_and_reads_as_one_database(
    shard_urls: list[str], reference: sessionmaker[Session]
) -> None:
    shard_map = ShardMap(tuple(shard_urls))
    router = ShardRouter(shard_map)
    try:
        customers = [new_customer_id() for _ in LOANS]
        assert len({router.shard_of(c) for c in customers}) == SHARDS  # both shards hold customers
        for customer_id, loan in zip(customers, LOANS, strict=True):
            _lend(router.for_customer(customer_id), customer_id, loan)
            _lend(reference, customer_id, loan)
        previous = D0
        for milestone in MILESTONES:
            payments = sorted(
                (D0 + timedelta(days=loan[3]), customer_id)
                for customer_id, loan in zip(customers, LOANS, strict=True)
                if loan[3] is not None and previous < D0 + timedelta(days=loan[3]) <= milestone
            )
            for on, customer_id in payments:  # in date order: a business date only moves forward
                for factory in (router.for_customer(customer_id), reference):
                    run_daily_close(factory, on - timedelta(days=1))
                    _pay(factory, customer_id, on)
            previous = milestone
            merged = close_shards(shard_map, milestone)
            one = run_daily_close(reference, milestone)
            assert merged.ok and one.ok
            assert (merged.total("contracts"), merged.total("penalty_accrued")) == (
                one.contracts,
                one.penalty_accrued,
            )
            assert merged.counts("buckets") == dict(sorted(one.buckets.items()))
        # every customer's rows are on their shard and nowhere else
        for customer_id in customers:
            home = router.shard_of(customer_id)
            counts = router.fan_out(
                lambda s, c=customer_id: s.scalar(
                    select(func.count())
                    .select_from(LoanTransaction)
                    .join(Contract)
                    .where(Contract.customer_id == c)
                )
            )
            assert all((n > 0) == (i == home) for i, n in enumerate(counts))
        # the back office reads the same book
        with unit_of_work(reference, read_only=True) as session:
            assert outstanding_by_product_across(router) == outstanding_by_product(session)
            assert dpd_distribution_across(router) == dpd_distribution(session)
            expected = {line.account: line.balance for line in trial_balance_from_db(session).lines}
        merged_tb: Counter[object] = Counter()
        for tb in router.fan_out(trial_balance_from_db):
            merged_tb.update({line.account: line.balance for line in tb.lines})
        assert {a: b for a, b in merged_tb.items() if b} == {a: b for a, b in expected.items() if b}
        assert all(report.ok for report in router.fan_out(check_invariants))
        again = close_shards(shard_map, MILESTONES[-1])  # a rerun closes nothing twice
        assert [r.status for r in again.shards] == ["skipped"] * SHARDS
    finally:
        router.dispose()
