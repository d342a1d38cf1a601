"""The migrations build exactly the schema the models describe, on both databases, and unwind."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lendcore.store.engine import create_engine
from lendcore.store.migrate import current_revision, downgrade_database, head_revision, upgrade_database
from lendcore.store.models import Base
from lendcore.store.types import utc_now


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


def _at_0003_with_two_accruals_on_one_day(url: str, *, duplicate: bool) -> None:
    """A 0003 database with a closed book: a contract, its daily accrual for 2026-03-02 (twice if
    ``duplicate``: the double-booking bug), and succeeded closes of 03-01 and 03-02."""
    from datetime import UTC, date, datetime

    from sqlalchemy import MetaData, Table

    upgrade_database(url, "0003_performance_window")
    now = datetime(2026, 3, 3, tzinfo=UTC)
    engine = create_engine(url)
    try:
        meta = MetaData()
        customers, lines, contracts, txns, jobs = (
            Table(t, meta, autoload_with=engine)
            for t in ("customers", "credit_lines", "contracts", "loan_transactions", "job_runs")
        )
        stamps = {"created_at": now, "updated_at": now}
        loan = {
            "id": "ln_1", "credit_line_id": "cl_1", "customer_id": "cus_1", "product_code": "quick",
            "principal": 100_000, "method": "bullet", "term": 1, "daily_rate_ppm": 300,
            "start_date": date(2026, 3, 1), "first_due_date": date(2026, 4, 1), "status": "active",
            "terms": {}, "state": {}, "outstanding_principal": 100_000, "interest_receivable": 0,
            "penalty_receivable": 0, "fee_receivable": 0, "days_past_due": 0, "last_replayed_seq": 1,
            "schedule_version": 1, "version": 1, **stamps,
        }  # fmt: skip
        accrual = {"contract_id": "ln_1", "type": "penalty-accrual", "amount": 0,
                   "value_date": date(2026, 3, 2), "business_date": date(2026, 3, 2), "payload": {},
                   "created_at": now}  # fmt: skip
        with engine.begin() as connection:
            connection.execute(customers.insert().values(id="cus_1", status="active", **stamps))
            connection.execute(
                lines.insert().values(id="cl_1", customer_id="cus_1", product_code="quick",
                                      credit_limit=500_000, pricing_grade="C", status="active",
                                      opened_on=date(2026, 3, 1), version=1, **stamps)
            )  # fmt: skip
            connection.execute(contracts.insert().values(loan))
            rows = [accrual | {"id": "txn_1", "seq": 1}] + (
                [accrual | {"id": "txn_2", "seq": 2}] if duplicate else []
            )
            connection.execute(txns.insert(), rows)
            connection.execute(
                jobs.insert(),
                [{"job": "daily-close", "business_date": date(2026, 3, d), "status": "succeeded",
                  "started_at": now, "details": {}} for d in (1, 2)],
            )  # fmt: skip
    finally:
        engine.dispose()


def test_0004_opens_the_day_after_the_last_close_and_the_index_refuses_a_second_accrual(
    empty_database_url: str,
) -> None:
    from datetime import date

    from sqlalchemy import MetaData, Table, select
    from sqlalchemy.exc import IntegrityError

    url = empty_database_url
    _at_0003_with_two_accruals_on_one_day(url, duplicate=False)
    upgrade_database(url)
    engine = create_engine(url)
    try:
        meta = MetaData()
        days, txns = (Table(t, meta, autoload_with=engine) for t in ("business_dates", "loan_transactions"))
        with engine.connect() as connection:
            assert connection.execute(select(days.c.name, days.c.business_date)).all() == [
                ("default", date(2026, 3, 3))
            ]
        with engine.connect() as connection, connection.begin():
            try:
                connection.execute(
                    txns.insert().values(id="txn_9", contract_id="ln_1", seq=9, type="penalty-accrual",
                                         amount=0, value_date=date(2026, 3, 2),
                                         business_date=date(2026, 3, 3), payload={}, created_at=utc_now())
                )  # fmt: skip
                raise AssertionError("a second accrual for the same contract and date was accepted")
            except IntegrityError:
                pass
    finally:
        engine.dispose()
    downgrade_database(url, "0003_performance_window")
    upgrade_database(url)
    assert _schema_diff(url) == []


def test_0004_stops_on_a_book_that_was_double_booked(empty_database_url: str) -> None:
    import pytest

    _at_0003_with_two_accruals_on_one_day(empty_database_url, duplicate=True)
    with pytest.raises(RuntimeError, match="more than one daily accrual"):
        upgrade_database(empty_database_url)
    assert current_revision(empty_database_url) == "0003_performance_window"
