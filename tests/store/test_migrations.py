"""The migrations build exactly the schema the models describe, on both databases, and unwind."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lendcore.store.engine import create_engine
from lendcore.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from lendcore.store.models import Base


def _schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_to_head_matches_the_models_exactly(empty_database_url: str) -> None:
    upgrade_database(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    assert _schema_diff(empty_database_url) == []
    assert _tables(empty_database_url) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    upgrade_database(empty_database_url)
    upgrade_database(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(empty_database_url: str) -> None:
    upgrade_database(empty_database_url)
    downgrade_database(empty_database_url, "base")
    assert current_revision(empty_database_url) is None
    assert _tables(empty_database_url) <= {"alembic_version"}
    upgrade_database(empty_database_url)
    assert _schema_diff(empty_database_url) == []


def test_the_test_databases_are_at_head(database_url: str) -> None:
    assert current_revision(database_url) == head_revision()
