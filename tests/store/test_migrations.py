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


def test_0003_backfills_the_worst_dpd_of_existing_contracts(empty_database_url: str) -> None:
    """Contracts that predate ``max_days_past_due`` start from their current DPD (the worst known);
    the column then refuses negative values, and the downgrade removes it."""
    from datetime import UTC, date, datetime

    from sqlalchemy import MetaData, Table, select, update
    from sqlalchemy.exc import IntegrityError

    url = empty_database_url
    upgrade_database(url, "0002_origination")
    now = datetime(2026, 4, 8, tzinfo=UTC)
    engine = create_engine(url)
    try:
        meta = MetaData()
        customers, lines, contracts = (
            Table(t, meta, autoload_with=engine) for t in ("customers", "credit_lines", "contracts")
        )
        stamps = {"created_at": now, "updated_at": now}
        loan = {
            "credit_line_id": "cl_1", "customer_id": "cus_1", "product_code": "quick", "principal": 100_000,
            "method": "bullet", "term": 1, "daily_rate_ppm": 300, "start_date": date(2026, 3, 1),
            "first_due_date": date(2026, 4, 1), "status": "active", "terms": {}, "state": {},
            "outstanding_principal": 100_000, "interest_receivable": 0, "penalty_receivable": 0,
            "fee_receivable": 0, "last_replayed_seq": 1, "schedule_version": 1, "version": 1, **stamps,
        }  # fmt: skip
        with engine.begin() as connection:
            connection.execute(customers.insert().values(id="cus_1", status="active", **stamps))
            connection.execute(
                lines.insert().values(
                    id="cl_1",
                    customer_id="cus_1",
                    product_code="quick",
                    credit_limit=500_000,
                    pricing_grade="C",
                    status="active",
                    opened_on=date(2026, 3, 1),
                    version=1,
                    **stamps,
                )
            )
            connection.execute(
                contracts.insert(),
                [loan | {"id": "ln_late", "days_past_due": 7}, loan | {"id": "ln_ok", "days_past_due": 0}],
            )
    finally:
        engine.dispose()

    upgrade_database(url)
    engine = create_engine(url)
    try:
        contracts = Table("contracts", MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            rows = dict(connection.execute(select(contracts.c.id, contracts.c.max_days_past_due)).all())
        assert rows == {"ln_late": 7, "ln_ok": 0}
        with engine.connect() as connection, connection.begin():
            try:
                connection.execute(update(contracts).values(max_days_past_due=-1))
                raise AssertionError("a negative max_days_past_due was accepted")
            except IntegrityError:
                pass
    finally:
        engine.dispose()
    downgrade_database(url, "0002_origination")
    engine = create_engine(url)
    try:
        assert "max_days_past_due" not in {c["name"] for c in inspect(engine).get_columns("contracts")}
    finally:
        engine.dispose()
    upgrade_database(url)
    assert _schema_diff(url) == []
