"""The business day: a singleton business date, a lease on the daily close, one accrual per day.

Revision ID: 0004_business_day
Revises: 0003_performance_window
Create Date: 2026-12-01

Written by hand.

* ``business_dates`` (created by 0001, unused until now) becomes the store of the open business date:
  a CHECK keeps it to the one row ``name = 'default'``. Nothing ever wrote the table, so no row is
  lost; a row under another name makes the upgrade stop rather than guess.
  A database closed before this revision starts on the day after its last successful daily close
  (so no closed date is reopened); one never closed stays unset until its first dated operation.
* ``job_runs`` gets ``lease_owner`` and ``lease_expires_at`` (nullable: a job row from before has no
  lease, which counts as expired).
* ``loan_transactions`` gets the partial unique index ``ix_loan_transactions_one_daily_accrual``
  (contract, value date) for the daily accrual type, on both databases (SQLite has partial indexes).
  A database that the double-booking bug already hit holds duplicates the index cannot be built over:
  the upgrade stops with the count instead of deleting ledger history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0004_business_day"
down_revision: str | None = "0003_performance_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ACCRUAL_INDEX = "ix_loan_transactions_one_daily_accrual"
ACCRUAL_TYPE = "penalty-accrual"
SINGLETON_CHECK = "ck_business_dates_singleton"


def _refuse_if(count_sql: str, message: str) -> None:
    count = op.get_bind().execute(sa.text(count_sql)).scalar_one()
    if count:
        raise RuntimeError(message.format(count=count))


def _open_after_last_close() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM business_dates")).scalar_one():
        return
    last = bind.execute(
        sa.text("SELECT max(business_date) FROM job_runs WHERE job = 'daily-close' AND status = 'succeeded'")
    ).scalar_one()
    if last is None:
        return
    closed = last if isinstance(last, date) else date.fromisoformat(str(last))
    now = datetime.now(UTC)
    bind.execute(
        sa.text("INSERT INTO business_dates (name, business_date, updated_at) VALUES ('default', :d, :at)"),
        {
            "d": closed + timedelta(days=1),
            "at": now if bind.dialect.name != "sqlite" else now.replace(tzinfo=None),
        },
    )


def upgrade() -> None:
    _refuse_if(
        "SELECT count(*) FROM (SELECT contract_id, value_date FROM loan_transactions "
        f"WHERE type = '{ACCRUAL_TYPE}' GROUP BY contract_id, value_date HAVING count(*) > 1) AS d",
        "{count} (contract, date) pair(s) have more than one daily accrual (two closes ran at once): "
        "reverse the extra accruals before upgrading to 0004_business_day",
    )
    _refuse_if(
        "SELECT count(*) FROM business_dates WHERE name <> 'default'",
        "business_dates has {count} row(s) other than 'default': 0004_business_day keeps one row",
    )
    where = sa.text(f"type = '{ACCRUAL_TYPE}'")
    op.create_index(
        op.f(ACCRUAL_INDEX),
        "loan_transactions",
        ["contract_id", "value_date"],
        unique=True,
        postgresql_where=where,
        sqlite_where=where,
    )
    op.add_column("job_runs", sa.Column("lease_owner", sa.String(length=64), nullable=True))
    op.add_column("job_runs", sa.Column("lease_expires_at", TIMESTAMP, nullable=True))
    # SQLite cannot add a constraint with ALTER: batch mode rebuilds the table (nothing references it)
    with op.batch_alter_table("business_dates") as batch:
        batch.create_check_constraint(op.f(SINGLETON_CHECK), sa.text("name = 'default'"))
    _open_after_last_close()


def downgrade() -> None:
    with op.batch_alter_table("business_dates") as batch:
        batch.drop_constraint(op.f(SINGLETON_CHECK), type_="check")
    op.drop_column("job_runs", "lease_expires_at")
    op.drop_column("job_runs", "lease_owner")
    op.drop_index(op.f(ACCRUAL_INDEX), "loan_transactions")
