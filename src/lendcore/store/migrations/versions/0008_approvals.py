"""Maker-checker proposals: ``approval_proposals``.

Revision ID: 0008_approvals
Revises: 0007_payments_jobs
Create Date: 2026-12-02

Written by hand. One new table (no change to existing ones); the decision columns are nullable until
a second member of staff approves or rejects. It follows ``0007_payments_jobs``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_approvals"
down_revision: str | None = "0007_payments_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "approval_proposals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposer", sa.String(length=64), nullable=False),
        sa.Column("proposer_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_ip", sa.String(length=64), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("result", JSON_DOCUMENT, nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'executed', 'expired')",
            name=op.f("ck_approval_proposals_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_proposals")),
    )
    op.create_index(
        op.f("ix_approval_proposals_status_id"), "approval_proposals", ["status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_approval_proposals_status_id"), table_name="approval_proposals")
    op.drop_table("approval_proposals")
