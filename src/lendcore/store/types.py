"""Column types shared by the models.

* :class:`UTCDateTime`: timezone-aware timestamps, always UTC. PostgreSQL stores ``timestamptz``;
  SQLite has no time zones, so the value is stored as naive UTC and read back with ``tzinfo=UTC``.
  Naive datetimes are refused on the way in (a naive "now" is a bug).
* :data:`JSONDocument`: ``JSON`` on SQLite, ``JSONB`` on PostgreSQL.
* :data:`BigIntPK`: 64-bit autoincrement key (``INTEGER PRIMARY KEY`` on SQLite, where only that
  spelling is an auto-assigned rowid).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware ``datetime`` stored in UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
BigIntPK: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    """The current instant, aware, in UTC (the shell's clock; never called from ``core``)."""
    return datetime.now(UTC)
