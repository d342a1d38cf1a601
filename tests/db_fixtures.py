"""Database fixtures (a pytest plugin, loaded by tests/conftest.py).

A test that asks for ``session_factory`` (or ``engine``, or ``database_url``) runs twice: once on a
fresh SQLite file and once on PostgreSQL, each with the schema at the current migration head and no
rows::

    def test_something(session_factory: sessionmaker[Session]) -> None:
        with unit_of_work(session_factory) as session:
            ...

How it stays fast and isolated:

* SQLite: the schema is migrated once per test session into a template file; each test gets its own
  copy of that file (a file copy, no migration).
* PostgreSQL: each xdist worker gets its own database, ``<name>_gw0``, ``<name>_gw1`` … (``<name>``
  from ``LENDCORE_TEST_DATABASE_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/
  lendcore_test``), created on demand through the ``postgres`` maintenance database, emptied
  (``DROP SCHEMA public CASCADE``) and migrated once per session; before each test every table that
  holds rows is TRUNCATEd.
* PostgreSQL unreachable: its tests are skipped, except when ``CI=true``, where they fail.

Single-database fixtures: ``sqlite_database_url`` and ``postgres_database_url`` (a test using the latter
is marked ``postgres`` automatically); ``empty_database_url`` (both databases, *no* schema: for
migration tests).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.engine import create_engine, create_session_factory
from lendcore.store.migrate import upgrade_database

TEST_DATABASE_URL_ENV = "LENDCORE_TEST_DATABASE_URL"
DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lendcore_test"
DATABASES = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _postgres_unavailable(reason: str) -> NoReturn:
    message = f"PostgreSQL is not available ({reason}); set {TEST_DATABASE_URL_ENV}"
    if _in_ci():
        pytest.fail(f"{message}. CI=true: PostgreSQL tests must run.", pytrace=False)
    pytest.skip(message)


def _worker_suffix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"_{worker}" if worker else ""


def _admin_engine(server_url: URL) -> Engine:
    """Autocommit engine on the ``postgres`` maintenance database (CREATE DATABASE needs it)."""
    return create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _ensure_database(server_url: URL, name: str) -> URL:
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return server_url.set(database=name)


def _reset_schema(url: URL) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> URL:
    """The configured PostgreSQL test URL, after checking the server answers (skip / fail if not)."""
    url = make_url(os.environ.get(TEST_DATABASE_URL_ENV) or DEFAULT_TEST_DATABASE_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as error:
        _postgres_unavailable(str(error.orig).strip().splitlines()[0] if error.orig else str(error))
    finally:
        admin.dispose()
    return url


@pytest.fixture(scope="session")
def _postgres_worker_database(postgres_server_url: URL) -> Iterator[tuple[URL, Engine, str]]:
    """This worker's database, migrated to head once; with an engine and a query naming the
    tables that hold rows."""
    url = _ensure_database(postgres_server_url, f"{postgres_server_url.database}{_worker_suffix()}")
    _reset_schema(url)
    upgrade_database(url)
    engine = create_engine(url, pool_size=1)
    with engine.connect() as connection:
        tables = connection.scalars(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ).all()
    non_empty = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
    yield url, engine, non_empty
    engine.dispose()


@pytest.fixture
def postgres_database_url(_postgres_worker_database: tuple[URL, Engine, str]) -> str:
    """A migrated PostgreSQL database with every table empty."""
    url, engine, non_empty_query = _postgres_worker_database
    with engine.begin() as connection:
        # TRUNCATE costs ~30 ms even on empty tables: empty only the tables the last test wrote to.
        non_empty = connection.scalars(text(non_empty_query)).all()
        if non_empty:
            # A connection leaked by an earlier test would make TRUNCATE wait forever: fail instead.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            connection.exec_driver_sql(f"TRUNCATE TABLE {', '.join(non_empty)} RESTART IDENTITY CASCADE")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "lendcore.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade_database(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


@pytest.fixture
def sqlite_database_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database file of this test's own."""
    path = tmp_path / "lendcore.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: SQLite, then PostgreSQL."""
    fixture = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all (for migration tests): SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    server: URL = request.getfixturevalue("postgres_server_url")
    url = _ensure_database(server, f"{server.database}{_worker_suffix()}_empty")
    _reset_schema(url)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return create_session_factory(engine)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
