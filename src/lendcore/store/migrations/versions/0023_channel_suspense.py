"""Channel suspense: money a channel took that no payment of ours books.

Revision ID: 0023_channel_suspense
Revises: 0022_reconciliations
Create Date: 2026-12-03

Written by hand. ``channel_suspense``: one item per statement issue whose money the channel took and
no payment of ours books (see ``lendcore.store.models_payments.ChannelSuspense``), held in ledger
account 2241.03 until an approved action applies it or has it returned. ``reconciliations`` gains
``suspense_amount``: the fen of a day's unexplained that went to suspense.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_channel_suspense"
down_revision: str | None = "0022_reconciliations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_suspense",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("named_payment_id", sa.String(length=64), nullable=False),
        sa.Column("channel_reference", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("raised_at", TIMESTAMP, nullable=False),
        sa.Column("cleared_at", TIMESTAMP, nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.Column("clearing_reason", sa.Text(), nullable=True),
        sa.Column("clearing_reference", sa.String(length=64), nullable=True),
        sa.Column("applied_payment_id", sa.String(length=40), nullable=True),
        sa.Column("clearing_entry_id", sa.String(length=40), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_channel_suspense_amount_positive")),
        sa.CheckConstraint(
            "status IN ('open', 'applied', 'returned')", name=op.f("ck_channel_suspense_status")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (cleared_at IS NULL)",
            name=op.f("ck_channel_suspense_cleared_when_not_open"),
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["payment_issues.id"], name=op.f("fk_channel_suspense_issue_id_payment_issues")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_channel_suspense_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_channel_suspense_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_channel_suspense_entry_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["applied_payment_id"],
            ["payments.id"],
            name=op.f("fk_channel_suspense_applied_payment_id_payments"),
        ),
        sa.ForeignKeyConstraint(
            ["clearing_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_channel_suspense_clearing_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_suspense")),
        sa.UniqueConstraint("issue_id", name=op.f("uq_channel_suspense_issue_id")),
    )
    op.create_index(op.f("ix_channel_suspense_payment_id"), "channel_suspense", ["payment_id"])
    op.create_index(op.f("ix_channel_suspense_customer_id"), "channel_suspense", ["customer_id"])
    op.create_index(op.f("ix_channel_suspense_status_raised_at"), "channel_suspense", ["status", "raised_at"])
    with op.batch_alter_table("reconciliations") as batch:
        batch.add_column(
            sa.Column("suspense_amount", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("reconciliations") as batch:
        batch.drop_column("suspense_amount")
    op.drop_table("channel_suspense")
