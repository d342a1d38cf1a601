"""Reconciliation reports, and the ``scheduled_missed`` lender fault.

Revision ID: 0022_reconciliations
Revises: 0021_quiet_overdue
Create Date: 2026-12-03

Written by hand. ``reconciliations``: one row per channel and statement day with what reconciling it
found, in fen (see ``lendcore.store.models_payments.ReconciliationRun``; a check states that every fen
of the statement is matched, resolved or unexplained). ``lender_faults.kind`` gains
``scheduled_missed``: a booked repayment (预约还款) we never took before its due date. An index on
``payments.settled_at``: reconciliation reads the payments finished on the statement's day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022_reconciliations"
down_revision: str | None = "0021_quiet_overdue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_FAULT_KINDS = ("autopay_missed", "reminder_undelivered", "payment_past_sla", "channel_outage", "manual")
_FAULT_KIND = "ck_lender_faults_kind"


def _fault_kinds(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("lender_faults") as batch:
        batch.drop_constraint(op.f(_FAULT_KIND), type_="check")
        batch.create_check_constraint(
            op.f(_FAULT_KIND), sa.text(f"kind IN ({', '.join(repr(k) for k in kinds)})")
        )


def upgrade() -> None:
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("matched_amount", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("resolved_amount", sa.BigInteger(), nullable=False),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("unexplained_amount", sa.BigInteger(), nullable=False),
        sa.Column("issues", JSON_DOCUMENT, nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("first_run_at", TIMESTAMP, nullable=False),
        sa.Column("last_run_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "total = matched_amount + resolved_amount + unexplained_amount",
            name=op.f("ck_reconciliations_every_fen"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliations")),
        sa.UniqueConstraint(
            "channel", "statement_date", name=op.f("uq_reconciliations_channel_statement_date")
        ),
    )
    op.create_index(op.f("ix_payments_settled_at"), "payments", ["settled_at"])
    _fault_kinds((*_FAULT_KINDS, "scheduled_missed"))


def downgrade() -> None:
    op.execute("DELETE FROM lender_faults WHERE kind = 'scheduled_missed'")
    _fault_kinds(_FAULT_KINDS)
    op.drop_index(op.f("ix_payments_settled_at"), table_name="payments")
    op.drop_table("reconciliations")
