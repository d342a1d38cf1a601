"""Sharding by customer: several databases, one customer's rows on one of them.

The unit of placement is the **customer**: their consents, lines, contracts, schedule, transactions,
journal entries, postings, payments and unapplied funds all live on the customer's shard, so every
business transaction (a drawdown, a repayment, a close chunk, a waiver) touches exactly one
database and keeps its ACID guarantees; nothing needs two-phase commit. What spans shards is only
read (the back office's portfolio views fan out and merge: :mod:`lendcore.queries.fanout`) or is run
per shard and merged (the daily close: :mod:`lendcore.batch.sharded_close`).

Invariants:

1. **Placement is a pure function of the customer id** (:meth:`ShardMap.shard_of`: CRC-32 of the id,
   modulo the number of shards): every process routes a customer to the same shard with no lookup
   table to keep consistent. Changing the number of shards moves customers, which is a migration
   (copy a customer's rows, flip, delete), never a side effect of configuration — so
   :class:`ShardMap` refuses an empty or repeated shard list, and the order of the URLs is part of the
   map.
2. **A customer id is chosen before its first row is written** (:func:`new_customer_id`), because the
   id decides the database the row goes to.
3. **Each shard is a whole lendcore database** (same migrations, its own business date, its own close
   lease and job queue): a shard is never a partial schema. The business date advances per shard; the
   sharded close closes every shard for the same date.

The same layout maps onto Citus (docs/sharding.md): ``customer_id`` as the distribution column of
every customer-owned table, reference tables (products, official accounts) replicated.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConfigurationError
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Base

_T = TypeVar("_T")


def new_customer_id() -> str:
    """A customer id, to route by before anything of the customer is written (invariant 2)."""
    return new_id("cus")


@dataclass(frozen=True, slots=True)
class ShardMap:
    """The ordered database URLs of the shards (invariant 1)."""

    urls: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.urls:
            raise ConfigurationError("a shard map needs at least one database", code="SHARD_MAP_INVALID")
        if len(set(self.urls)) != len(self.urls):
            raise ConfigurationError("a database appears twice in the shard map", code="SHARD_MAP_INVALID")

    @classmethod
    def parse(cls, text: str) -> ShardMap:
        """``url1,url2,…`` (e.g. ``LENDCORE_SHARD_URLS``)."""
        return cls(tuple(u.strip() for u in text.split(",") if u.strip()))

    def shard_of(self, customer_id: str) -> int:
        if not customer_id:
            raise ConfigurationError("no customer id to route by", code="SHARD_KEY_MISSING")
        return zlib.crc32(customer_id.encode()) % len(self.urls)


@dataclass
class ShardRouter:
    """Engines and session factories for every shard of ``shard_map``; routes by customer."""

    shard_map: ShardMap
    engines: list[Engine] = field(init=False)
    factories: list[sessionmaker[Session]] = field(init=False)

    def __post_init__(self) -> None:
        self.engines = [create_engine(url) for url in self.shard_map.urls]
        self.factories = [create_session_factory(engine) for engine in self.engines]

    def __len__(self) -> int:
        return len(self.factories)

    def shard_of(self, customer_id: str) -> int:
        return self.shard_map.shard_of(customer_id)

    def for_customer(self, customer_id: str) -> sessionmaker[Session]:
        """The session factory of the customer's shard: every unit of work about them goes there."""
        return self.factories[self.shard_of(customer_id)]

    def locate(self, model: type[Base], key: str) -> int | None:
        """The shard holding the row ``key`` of ``model`` (a contract, a payment …): asked of every
        shard, for the back office's look-ups by id; customer-facing paths route by customer."""
        for index, factory in enumerate(self.factories):
            with unit_of_work(factory, read_only=True) as session:
                if session.get(model, key) is not None:
                    return index
        return None

    def fan_out(self, query: Callable[[Session], _T]) -> list[_T]:
        """``query`` on every shard (read only), in shard order."""
        results = []
        for factory in self.factories:
            with unit_of_work(factory, read_only=True) as session:
                results.append(query(session))
        return results

    def __iter__(self) -> Iterator[sessionmaker[Session]]:
        return iter(self.factories)

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()
