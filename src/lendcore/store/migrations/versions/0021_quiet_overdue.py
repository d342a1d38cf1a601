"""Quiet overdue contracts: penalty columns on ``contracts``, the penalty of ``accrual_aggregates``.

Revision ID: 0021_quiet_overdue
Revises: 0020_notification_business_date
Create Date: 2026-12-03

Written by hand; chained after 0020 (which landed on 0018 first). ``contracts`` gains
``accrual_penalty`` (an overdue snapshot's penalty rate and its rows' penalty base, exact and
booked penalty, :mod:`lendcore.core.quiet_overdue`) and
``overdue_since`` (its oldest overdue row's due date: DPD on D is D − overdue_since). Both nullable:
an existing contract has them NULL, and its next fold fills them. ``accrual_aggregates.penalty``: the
penalty posted in aggregate for a date and product (0 for the dates before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_quiet_overdue"
down_revision: str | None = "0020_notification_business_date"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable or with a default, no constraint): no SQLite table rebuild
    op.add_column("contracts", sa.Column("accrual_penalty", sa.Text(), nullable=True))
    op.add_column("contracts", sa.Column("overdue_since", sa.Date(), nullable=True))
    op.add_column(
        "accrual_aggregates",
        sa.Column("penalty", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("accrual_aggregates", "penalty")
    op.drop_column("contracts", "overdue_since")
    op.drop_column("contracts", "accrual_penalty")
