"""Contracts: ``max_days_past_due``, the worst DPD a contract has reached (credit performance).

Revision ID: 0003_performance_window
Revises: 0002_origination
Create Date: 2026-11-30

Written by hand. The column is added in place (no table rebuild: other tables reference
``contracts`` and SQLite's batch rebuild would trip their foreign keys on a populated database), with
a server default of 0 so existing rows get a value, then back-filled from ``days_past_due`` (the worst
DPD known for a contract that predates the column). SQLite cannot add a named table constraint with
ALTER, so there the check is part of the column definition; PostgreSQL gets the same named constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_performance_window"
down_revision: str | None = "0002_origination"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_NAME = "ck_contracts_max_days_past_due_non_negative"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE contracts ADD COLUMN max_days_past_due INTEGER DEFAULT 0 NOT NULL "
            f"CONSTRAINT {CHECK_NAME} CHECK (max_days_past_due >= 0)"
        )
    else:
        op.add_column(
            "contracts",
            sa.Column("max_days_past_due", sa.Integer(), server_default=sa.text("0"), nullable=False),
        )
        op.create_check_constraint(op.f(CHECK_NAME), "contracts", "max_days_past_due >= 0")
    op.execute("UPDATE contracts SET max_days_past_due = days_past_due WHERE days_past_due > 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(CHECK_NAME), "contracts", type_="check")
    op.drop_column("contracts", "max_days_past_due")
