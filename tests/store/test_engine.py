"""Engine, settings, ids and the unit of work."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.store.engine import ReadOnlyWriteError, create_engine, create_session_factory, unit_of_work
from lendcore.store.ids import ID_LENGTH, check_id, new_id
from lendcore.store.models import Customer
from lendcore.store.settings import DATABASE_URL_ENV, database_url, mask_url, normalize_url
from tests.store.builders import add_customer

# --- settings --------------------------------------------------------------------------------------


def test_default_database_is_a_sqlite_file_in_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = database_url()
    assert url.drivername == "sqlite"
    assert url.database == str(tmp_path / "data" / "lendcore" / "lendcore.db")
    assert (tmp_path / "data" / "lendcore").is_dir()  # created on first use


def test_the_environment_names_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://app:s3cret@db.internal:5432/lendcore")
    url = database_url()
    assert url.drivername == "postgresql+psycopg"  # plain postgresql:// means psycopg 3
    assert (url.host, url.database, url.password) == ("db.internal", "lendcore", "s3cret")


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "not a url"])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        normalize_url(url)
    assert raised.value.code == "INVALID_DATABASE_URL"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("postgresql+psycopg://u@127.0.0.1:notaport/x", "INVALID_DATABASE_URL"),
        ("sqlite:///x.db?timeout=abc", "INVALID_DATABASE_URL"),
        ("sqlite:////no/such/directory/lendcore.db", "DATABASE_DIRECTORY_MISSING"),
    ],
)
def test_a_url_that_cannot_work_is_refused_before_any_connection(url: str, code: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        create_engine(url)
    assert raised.value.code == code


def test_printed_urls_hide_the_password() -> None:
    masked = mask_url("postgresql+psycopg://app:s3cret@db:5432/lendcore")
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://app:***@db:5432/lendcore"


# --- ids ---------------------------------------------------------------------------------------------


def test_ids_are_prefixed_unique_and_roughly_time_ordered() -> None:
    ids = [new_id("ln") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"ln_[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert len(new_id("card")) <= ID_LENGTH
    earlier = new_id("pay")
    started_ms = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == started_ms:  # into the next millisecond
        pass
    assert earlier < new_id("pay")  # the first 10 characters are the creation millisecond


def test_check_id_accepts_only_its_own_prefix() -> None:
    good = new_id("cus")
    assert check_id(good, "cus") == good
    for bad in (new_id("ln"), "cus_short", "cus_" + "I" * 26, 42):
        with pytest.raises(ValidationError):
            check_id(bad, "cus")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        new_id("Bad-Prefix")


# --- the unit of work --------------------------------------------------------------------------------


def _customers(session_factory: sessionmaker[Session]) -> int:
    with unit_of_work(session_factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Customer)) or 0


def test_unit_of_work_commits_when_the_block_completes(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        add_customer(session)
    assert _customers(session_factory) == 1


def test_unit_of_work_rolls_back_on_any_exception(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(KeyboardInterrupt), unit_of_work(session_factory) as session:
        add_customer(session)
        raise KeyboardInterrupt
    assert _customers(session_factory) == 0


def test_a_read_only_unit_of_work_refuses_to_write(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ReadOnlyWriteError), unit_of_work(session_factory, read_only=True) as session:
        add_customer(session)
        session.flush()
    assert _customers(session_factory) == 0


def _transaction_status(session: Session) -> TransactionStatus:
    dbapi_connection = session.connection().connection.dbapi_connection
    assert dbapi_connection is not None
    return TransactionStatus(dbapi_connection.info.transaction_status)


def test_on_postgres_a_read_holds_no_transaction_and_a_write_does(postgres_database_url: str) -> None:
    """A read-only unit of work sends no BEGIN and no ROLLBACK: each statement is its own (READ
    COMMITTED gives every statement of a transaction its own snapshot anyway)."""
    engine = create_engine(postgres_database_url)
    factory = create_session_factory(engine)
    try:
        with unit_of_work(factory, read_only=True) as session:
            session.scalar(select(func.count()).select_from(Customer))
            assert _transaction_status(session) is TransactionStatus.IDLE
        with unit_of_work(factory) as session:
            session.scalar(select(func.count()).select_from(Customer))
            assert _transaction_status(session) is TransactionStatus.INTRANS
        with unit_of_work(factory, read_only=True) as session:  # the pool reset the connection
            session.scalar(select(func.count()).select_from(Customer))
            assert _transaction_status(session) is TransactionStatus.IDLE
    finally:
        engine.dispose()


def _kill_pooled_connection(factory: sessionmaker[Session], server_url: str) -> None:
    """Terminate the server process of the one connection in ``factory``'s pool."""
    with unit_of_work(factory, read_only=True) as session:
        pid = session.scalar(text("SELECT pg_backend_pid()"))
    admin = create_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    time.sleep(0.05)  # the backend exits asynchronously


def test_on_postgres_a_connection_idle_past_the_threshold_is_pinged_and_replaced(
    postgres_database_url: str,
) -> None:
    engine = create_engine(postgres_database_url, ping_after_idle=0.0, pool_size=1)
    factory = create_session_factory(engine)
    try:
        _kill_pooled_connection(factory, postgres_database_url)
        assert _customers(factory) == 0  # the ping found the dead connection: a new one was used
    finally:
        engine.dispose()


def test_on_postgres_a_live_connection_pinged_after_idling_is_handed_over_outside_a_transaction(
    postgres_database_url: str,
) -> None:
    """The ping's own statement must not leave the connection in a transaction: a read (autocommit)
    could not start on it, and a write would run inside the ping's transaction."""
    engine = create_engine(postgres_database_url, ping_after_idle=0.0, pool_size=1)
    factory = create_session_factory(engine)
    try:
        for read_only in (True, False, True):
            time.sleep(0.01)  # idle past the threshold: pinged at every checkout
            with unit_of_work(factory, read_only=read_only) as session:
                session.scalar(select(func.count()).select_from(Customer))
                expected = TransactionStatus.IDLE if read_only else TransactionStatus.INTRANS
                assert _transaction_status(session) is expected
    finally:
        engine.dispose()


def test_on_postgres_a_connection_used_within_the_threshold_is_not_pinged(postgres_database_url: str) -> None:
    """Within the threshold a dead connection fails its statement once; the pool is then invalidated
    and the next unit of work reconnects."""
    engine = create_engine(postgres_database_url, ping_after_idle=3600.0, pool_size=1)
    factory = create_session_factory(engine)
    try:
        _kill_pooled_connection(factory, postgres_database_url)
        with pytest.raises(DBAPIError) as failed:
            _customers(factory)
        assert failed.value.connection_invalidated
        assert _customers(factory) == 0
    finally:
        engine.dispose()


def test_savepoints_roll_back_only_their_part(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        add_customer(session)
        nested = session.begin_nested()
        add_customer(session)
        nested.rollback()
    assert _customers(session_factory) == 1


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_database_url: str) -> None:
    engine = create_engine(sqlite_database_url)
    with engine.connect() as connection:
        assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert connection.scalar(text("PRAGMA busy_timeout")) == 30_000
    engine.dispose()


def test_sqlite_ddl_is_transactional(sqlite_database_url: str) -> None:
    engine = create_engine(sqlite_database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        connection.rollback()
        assert connection.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'scratch'")) == 0
    engine.dispose()


def test_sqlite_readers_do_not_wait_for_a_writer(sqlite_database_url: str) -> None:
    """While a writer holds the write lock, a read-only unit of work still reads (the last commit)."""
    engine = create_engine(sqlite_database_url)
    factory = create_session_factory(engine)
    with unit_of_work(factory) as writer:
        add_customer(writer)  # not committed yet
        assert _customers(factory) == 0  # would block for the busy timeout if readers waited
    assert _customers(factory) == 1
    engine.dispose()
