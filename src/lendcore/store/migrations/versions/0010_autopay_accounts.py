"""Official repayment accounts: ``official_accounts``.

Revision ID: 0010_autopay_accounts
Revises: 0009_payment_features
Create Date: 2026-12-02

Written by hand. One new table (no change to existing ones): the registry of the accounts the lender
collects repayments into, which anyone may check a number against ("official / not official - do not
pay"). Numbers are stored normalised (digits only) and indexed for the check. It follows
``0009_payment_features``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_autopay_accounts"
down_revision: str | None = "0009_payment_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "official_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_official_accounts_validity_ordered")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_accounts")),
    )
    op.create_index(op.f("ix_official_accounts_number"), "official_accounts", ["number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_official_accounts_number"), table_name="official_accounts")
    op.drop_table("official_accounts")
