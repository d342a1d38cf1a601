"""Engines, sessions and the unit of work.

One use case = one :func:`unit_of_work`: a session inside one database transaction that commits when
the block ends normally and rolls back on any exception.

SQLite (embedded default) is configured so that it behaves like a proper transactional database:

* ``PRAGMA foreign_keys=ON`` on every connection (SQLite ignores foreign keys otherwise);
* ``journal_mode=WAL`` so readers never block the writer, and a 30 s busy timeout so a writer waits
  for the lock instead of failing at once with "database is locked";
* transaction control taken away from the ``sqlite3`` driver (its legacy mode does not emit BEGIN
  before SELECT or DDL, which breaks SERIALIZABLE reads, SAVEPOINTs and transactional DDL) and done by
  SQLAlchemy instead, per the SQLAlchemy SQLite documentation "Enabling Non-Legacy SQLite
  Transactional Modes": the driver's ``isolation_level`` is set to ``None`` and the engine's
  ``begin`` event emits ``BEGIN IMMEDIATE``. IMMEDIATE takes the database's write lock at the start of
  the transaction, so two writing use cases serialise: the second waits (busy timeout) until the
  first commits, and then reads what the first wrote. That is SQLite's equivalent of the row locks
  (``SELECT … FOR UPDATE``) used on PostgreSQL. Read-only units of work use a plain (deferred)
  ``BEGIN`` and run concurrently with the writer.

PostgreSQL runs through psycopg 3 at READ COMMITTED; use cases that check and then change a balance
(a limit check before a drawdown, a repayment on a contract) lock the row first with
:func:`lock_for_update` / :func:`for_update`. Round trips saved there (a read: 3 of 4; a write: 1):

* a read-only unit of work runs in autocommit, without BEGIN and ROLLBACK. At READ COMMITTED every
  statement of a transaction takes its own snapshot anyway, so what a read sees is unchanged; a
  read-only session refuses to flush (:class:`ReadOnlyWriteError`), so nothing can be written by
  one either;
* a pooled connection is pinged (``SELECT 1``) only when it comes back after more than
  :data:`PING_AFTER_IDLE_SECONDS` in the pool (PgBouncer's ``server_check_delay``), not at every
  checkout as ``pool_pre_ping`` would. A dead connection found by the ping is replaced before use; one
  that died inside the window fails its statement once, and SQLAlchemy then invalidates the pool
  (its "optimistic" disconnect handling), so the next unit of work reconnects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, Select, event, select
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from lendcore.core.errors import ConfigurationError, ConflictError, NotFoundError
from lendcore.store.settings import database_url, normalize_url

#: Seconds a SQLite writer waits for the database lock before failing.
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 30.0

#: Execution option read by the SQLite ``begin`` hook: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN_OPTION: Final = "lendcore_sqlite_begin"

#: A pooled PostgreSQL connection idle in the pool longer than this is pinged before it is used.
PING_AFTER_IDLE_SECONDS: Final = 10.0

_IDLE_SINCE: Final = "lendcore_idle_since"
_READ_ONLY: Final = "lendcore_read_only"

_T = TypeVar("_T")
_M = TypeVar("_M")


class ReadOnlyWriteError(RuntimeError):
    """A read-only unit of work tried to write (a programming error: use a writing unit of work)."""


def create_engine(
    url: str | URL | None = None,
    *,
    echo: bool = False,
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url`` (default: :func:`~lendcore.store.settings.database_url`), set up per dialect.
    ``ping_after_idle``: PostgreSQL, the pool's ping threshold in seconds (module docstring)."""
    parsed = normalize_url(url) if url is not None else database_url()
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, echo=echo, **kwargs)
        engine = sa_create_engine(parsed, echo=echo, **kwargs)
    except (ArgumentError, ValueError, TypeError) as error:  # e.g. ?timeout=abc in the URL's query
        raise ConfigurationError(
            f"invalid database URL {parsed.render_as_string(hide_password=True)}: {error}",
            code="INVALID_DATABASE_URL",
        ) from None
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, threshold: float) -> None:
    """Ping a connection at checkout when it has been idle in the pool for more than ``threshold``
    seconds; a failed ping makes the pool replace it (``DisconnectionError``: up to three tries)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since <= threshold:
            return  # a new connection, or one in use moments ago
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # the driver began a transaction for the ping: end it
        except Exception as error:  # any failure: the connection is not usable
            raise DisconnectionError("a pooled connection failed its ping") from error


def _check_sqlite_directory(url: URL) -> None:
    """``DATABASE_DIRECTORY_MISSING`` for a SQLite file in a directory that does not exist (SQLite
    would fail at the first connection with "unable to open database file")."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or "mode=memory" in str(url):
        return
    directory = Path(database).expanduser().parent
    if not directory.is_dir():
        raise ConfigurationError(
            f"the directory of the SQLite database does not exist: {directory}",
            code="DATABASE_DIRECTORY_MISSING",
        )


def _sqlite_engine(url: URL, *, echo: bool, **kwargs: Any) -> Engine:
    _check_sqlite_directory(url)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
    # Connections are used by one thread at a time (pool checkout), never concurrently.
    connect_args.setdefault("check_same_thread", False)
    engine = sa_create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 driver (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        # SQLAlchemy resets the driver to its legacy mode after an AUTOCOMMIT checkout: undo that.
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        mode = str(options.get(SQLITE_BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``. Objects stay readable after commit (``expire_on_commit=False``);
    a read-only unit of work's session refuses to flush (:class:`ReadOnlyWriteError`)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    event.listen(factory, "before_flush", _refuse_writes_when_read_only)
    return factory


def _refuse_writes_when_read_only(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(_READ_ONLY):
        raise ReadOnlyWriteError("a read-only unit of work cannot write: use a writing unit of work")


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit when the block completes, roll back on any exception.

    ``read_only=True`` starts a deferred transaction on SQLite (no write lock, runs alongside the
    writer), runs in autocommit on PostgreSQL (module docstring), refuses to flush, and rolls back at
    the end instead of committing. An optimistic-concurrency failure
    (a row's ``version`` changed under us) is raised as ``ConflictError`` ``CONCURRENT_UPDATE``.
    """
    session = session_factory()
    try:
        if session.get_bind().dialect.name == "sqlite":
            mode = "DEFERRED" if read_only else "IMMEDIATE"
            session.connection(execution_options={SQLITE_BEGIN_OPTION: mode})
        elif read_only:
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        if read_only:
            session.info[_READ_ONLY] = True
        try:
            yield session
            if read_only:
                session.rollback()
            else:
                session.commit()
        except StaleDataError as error:
            session.rollback()
            raise ConflictError(
                "the record was changed by another request; retry", code="CONCURRENT_UPDATE"
            ) from error
        except BaseException:
            session.rollback()
            raise
    finally:
        session.close()


def for_update(statement: Select[_T]) -> Select[_T]:
    """``statement`` with ``FOR UPDATE`` (PostgreSQL row lock) and fresh attribute values.

    On SQLite ``FOR UPDATE`` is not rendered: the unit of work's ``BEGIN IMMEDIATE`` already holds the
    database write lock, which serialises writers. ``populate_existing`` makes the ORM overwrite any
    copy of the row already in the session with the values read under the lock.
    """
    return statement.with_for_update().execution_options(populate_existing=True)


def lock_for_update(session: Session, model: type[_M], key: Any) -> _M:
    """Load one row by primary key under a row lock; ``NotFoundError`` if it does not exist."""
    mapper_pk = model.__mapper__.primary_key  # type: ignore[attr-defined]
    if len(mapper_pk) != 1:
        raise TypeError(f"{model.__name__} has a composite primary key")
    row = session.scalars(for_update(select(model).where(mapper_pk[0] == key))).one_or_none()
    if row is None:
        raise NotFoundError(f"{model.__name__} {key} not found", code="NOT_FOUND", id=str(key))
    return row
