"""Hardship offers: ``hardship_offers``.

Revision ID: 0016_hardship_offers
Revises: 0013_reminders_scheduled
Create Date: 2026-12-02

Written by hand. One new table: the hardship plans (展期 / 重新分期) offered to customers after a
maker-checker approval, with the plan shown (JSON), its expiry and the customer's decision; an accepted
offer names the ``restructure`` transaction it booked. One offer per approved proposal (unique).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lendcore.store.types import JSONDocument

revision: str = "0016_hardship_offers"
down_revision: str | None = "0013_reminders_scheduled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hardship_offers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("plan", JSONDocument, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_by", sa.String(length=64), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("txn_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('offered', 'accepted', 'declined')", name=op.f("ck_hardship_offers_status")
        ),
        sa.CheckConstraint("kind IN ('extension', 're-amortisation')", name=op.f("ck_hardship_offers_kind")),
        sa.CheckConstraint("periods >= 1", name=op.f("ck_hardship_offers_periods_positive")),
        sa.CheckConstraint("expires_on >= offered_on", name=op.f("ck_hardship_offers_expiry_after_offer")),
        sa.CheckConstraint(
            "(status = 'accepted') = (txn_id IS NOT NULL)", name=op.f("ck_hardship_offers_txn_iff_accepted")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_hardship_offers_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_hardship_offers_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["approval_proposals.id"],
            name=op.f("fk_hardship_offers_proposal_id_approval_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["txn_id"], ["loan_transactions.id"], name=op.f("fk_hardship_offers_txn_id_loan_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hardship_offers")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_hardship_offers_proposal_id")),
    )
    op.create_index(
        op.f("ix_hardship_offers_customer_id_status"), "hardship_offers", ["customer_id", "status"]
    )
    op.create_index(op.f("ix_hardship_offers_contract_id"), "hardship_offers", ["contract_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hardship_offers_contract_id"), table_name="hardship_offers")
    op.drop_index(op.f("ix_hardship_offers_customer_id_status"), table_name="hardship_offers")
    op.drop_table("hardship_offers")
