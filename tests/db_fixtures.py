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
* PostgreSQL: every test run creates databases of its own, named ``<name>_<run>_<worker>``
  (``<name>`` from ``LENDCORE_TEST_DATABASE_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:
  5432/lendcore_test``; ``<run>`` a fresh random id shared by the xdist workers of one run; ``<worker>``
  ``gw0``, ``gw1`` … or ``main``), through the ``postgres`` maintenance database, migrated once, and
  dropped when the worker finishes. Only databases this run created are ever dropped: the configured
  database itself is never touched, and two runs on one machine cannot see each other's rows. Before
  each test every table that holds rows is TRUNCATEd.
* PostgreSQL unreachable: its tests are skipped, except when ``CI=true``, where they fail.

Single-database fixtures: ``sqlite_database_url`` and ``postgres_database_url`` (a test using the latter
is marked ``postgres`` automatically); ``empty_database_url`` (both databases, *no* schema: for
migration tests).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


def skip_unless_ci(message: str) -> NoReturn:
    """Skip a test whose real component is missing here, but fail it under ``CI=true``: CI must run it."""
    if _in_ci():
        pytest.fail(f"{message}. CI=true: this test must run.", pytrace=False)
    pytest.skip(message)


def _postgres_unavailable(reason: str) -> NoReturn:
    skip_unless_ci(f"PostgreSQL is not available ({reason}); set {TEST_DATABASE_URL_ENV}")


#: This run's id when pytest runs without xdist (the xdist controller hands its own to the workers).
_SOLO_RUN_ID = uuid.uuid4().hex[:10]


def _run_suffix(config: pytest.Config) -> str:
    """``_<run>_<worker>``: unique to this test run and worker (PostgreSQL names are at most 63 bytes)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return f"_{_SOLO_RUN_ID}_main"
    return f"_{str(workerinput['testrunuid'])[:10]}_{workerinput['workerid']}"


def _admin_engine(server_url: URL) -> Engine:
    """Autocommit engine on the ``postgres`` maintenance database (CREATE DATABASE needs it)."""
    return create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _create_database(server_url: URL, name: str) -> URL:
    """Create the run's own database ``name`` (it must not exist: a clash is an error, not a reuse)."""
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return server_url.set(database=name)


def _drop_database(server_url: URL, name: str) -> None:
    """Drop a database this run created (never any other)."""
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def _own_database(server_url: URL, name: str) -> Iterator[URL]:
    url = _create_database(server_url, name)
    try:
        yield url
    finally:
        _drop_database(server_url, name)


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
def _postgres_worker_database(
    postgres_server_url: URL, pytestconfig: pytest.Config
) -> Iterator[tuple[URL, Engine, str]]:
    """This worker's own database, migrated to head once; with an engine and a query naming the
    tables that hold rows. Dropped when the worker finishes."""
    name = f"{postgres_server_url.database}{_run_suffix(pytestconfig)}"
    with _own_database(postgres_server_url, name) as url:
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
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests): SQLite, then PostgreSQL (a database
    of this test's own, dropped after it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: URL = request.getfixturevalue("postgres_server_url")
    name = f"{server.database}{_run_suffix(request.config)}_e{uuid.uuid4().hex[:6]}"
    with _own_database(server, name) as url:
        yield url.render_as_string(hide_password=False)


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
