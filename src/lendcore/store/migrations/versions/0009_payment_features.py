"""Payments booked by their settlement: the allocation request on ``payments``, exactly-once booking.

Revision ID: 0009_payment_features
Revises: 0008_approvals
Create Date: 2026-12-02

Written by hand. A repayment is now recorded, committed and submitted before it is booked; the
``payment.settled`` job books it. So the payment carries the allocation request it was made with
(``payments.allocation``: mode, contracts, business date; nullable, added in place: no table rebuild)
and the database makes "a payment is booked once" a rule: at most one loan transaction of each type
per payment and contract (partial unique index, where ``payment_id`` is set). It also creates
``lender_faults``: the lender-fault windows (``lendcore.core.faults``) inside which nobody in scope is
charged penalty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_payment_features"
down_revision: str | None = "0008_approvals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ONCE = "uq_loan_transactions_one_per_payment"
_FAULT_KINDS = ("autopay_missed", "reminder_undelivered", "payment_past_sla", "channel_outage", "manual")


def upgrade() -> None:
    op.add_column("payments", sa.Column("allocation", JSON_DOCUMENT, nullable=True))
    op.create_index(
        _ONCE,
        "loan_transactions",
        ["payment_id", "contract_id", "type"],
        unique=True,
        postgresql_where=sa.text("payment_id IS NOT NULL"),
        sqlite_where=sa.text("payment_id IS NOT NULL"),
    )
    kinds = ", ".join(f"'{k}'" for k in _FAULT_KINDS)
    op.create_table(
        "lender_faults",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_lender_faults_kind")),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_lender_faults_window_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_lender_faults_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_lender_faults_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_lender_faults_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lender_faults")),
    )
    op.create_index(op.f("ix_lender_faults_starts_on"), "lender_faults", ["starts_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lender_faults_starts_on"), table_name="lender_faults")
    op.drop_table("lender_faults")
    op.drop_index(_ONCE, table_name="loan_transactions")
    op.drop_column("payments", "allocation")
