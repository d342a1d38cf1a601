"""Payments booked by their settlement: the allocation request on ``payments``, exactly-once booking.

Revision ID: 0009_payment_features
Revises: 0007_payments_jobs
Create Date: 2026-12-02

Written by hand. A repayment is now recorded, committed and submitted before it is booked; the
``payment.settled`` job books it. So the payment carries the allocation request it was made with
(``payments.allocation``: mode, contracts, business date; nullable, added in place: no table rebuild)
and the database makes "a payment is booked once" a rule: at most one loan transaction of each type
per payment and contract (partial unique index, where ``payment_id`` is set).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_payment_features"
down_revision: str | None = "0007_payments_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ONCE = "uq_loan_transactions_one_per_payment"


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


def downgrade() -> None:
    op.drop_index(_ONCE, table_name="loan_transactions")
    op.drop_column("payments", "allocation")
