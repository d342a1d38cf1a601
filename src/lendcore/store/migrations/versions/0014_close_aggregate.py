"""The close at portfolio scale: quiet-day columns on ``contracts``, ``accrual_aggregates``, ``close_ranges``.

Revision ID: 0014_close_aggregate
Revises: 0017_privacy_partners
Create Date: 2026-12-02

Written by hand. ``contracts`` gains the columns of its snapshot that let the daily close accrue a
quiet contract without loading or rewriting it (:mod:`lendcore.core.quiet`): ``accrual_basis``,
``accrual_rate``, ``accrual_exact``, ``accrual_booked``, ``accrued_through``, ``quiet_until``, and
``aggregated_from`` (the first date of the contract's current run of quiet days). All nullable: an
existing contract has ``quiet_until`` NULL, so its next close folds it (the per-contract path), which
fills the columns. ``accrual_aggregates``: one row per business date and product, the aggregate
accrual posted for the product's quiet contracts (unique per date and product). ``close_ranges``: the
contract id ranges whose quiet contracts a date's close has accrued (unique per date and range).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_close_aggregate"
down_revision: str | None = "0017_privacy_partners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COLUMNS = (
    ("accrual_basis", sa.BigInteger()),
    ("accrual_rate", sa.String(length=40)),
    ("accrual_exact", sa.String(length=64)),
    ("accrual_booked", sa.BigInteger()),
    ("accrued_through", sa.Date()),
    ("quiet_until", sa.Date()),
    ("aggregated_from", sa.Date()),
)


def upgrade() -> None:
    # plain ADD COLUMN (nullable, no constraint): no SQLite table rebuild under the contracts' references
    for name, type_ in _COLUMNS:
        op.add_column("contracts", sa.Column(name, type_, nullable=True))
    op.create_table(
        "accrual_aggregates",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("contracts >= 0", name=op.f("ck_accrual_aggregates_contracts_non_negative")),
        sa.CheckConstraint("interest >= 0", name=op.f("ck_accrual_aggregates_interest_non_negative")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_accrual_aggregates_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accrual_aggregates")),
        sa.UniqueConstraint(
            "business_date", "product_code", name=op.f("uq_accrual_aggregates_business_date_product_code")
        ),
    )
    op.create_table(
        "close_ranges",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("after_id", sa.String(length=40), nullable=False),
        sa.Column("upto_id", sa.String(length=40), nullable=False),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_close_ranges")),
        sa.UniqueConstraint("business_date", "after_id", name=op.f("uq_close_ranges_business_date_after_id")),
    )


def downgrade() -> None:
    op.drop_table("close_ranges")
    op.drop_table("accrual_aggregates")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("contracts", name)
