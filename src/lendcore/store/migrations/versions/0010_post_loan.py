"""After the loan: ``collection_contacts``, ``bureau_records`` and ``bureau_disputes``.

Revision ID: 0010_post_loan
Revises: 0009_payment_features
Create Date: 2026-12-02

Written by hand. Three new tables, nothing changed in place (see ``lendcore.store.models_post``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_post_loan"
down_revision: str | None = "0009_payment_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_contacts",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("debtor_id", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("attempted_at", TIMESTAMP, nullable=False),
        sa.Column("shanghai_day", sa.Date(), nullable=False),
        sa.Column("to_debtor", sa.Boolean(), nullable=False),
        sa.Column("quiet_hours_agreed", sa.Boolean(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("refusal", sa.String(length=32), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "channel IN ('call', 'sms', 'letter')", name=op.f("ck_collection_contacts_channel")
        ),
        sa.CheckConstraint("outcome IN ('allowed', 'refused')", name=op.f("ck_collection_contacts_outcome")),
        sa.CheckConstraint(
            "(outcome = 'refused') = (refusal IS NOT NULL)",
            name=op.f("ck_collection_contacts_refusal_iff_refused"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_contacts")),
    )
    op.create_index(
        op.f("ix_collection_contacts_debtor_id_attempted_at"),
        "collection_contacts",
        ["debtor_id", "attempted_at"],
        unique=False,
    )
    op.create_table(
        "bureau_records",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=2), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("batch_date", sa.Date(), nullable=False),
        sa.Column("segments", JSON_DOCUMENT, nullable=False),
        sa.Column("built_from", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('month_end', 'event', 'correction', 'deletion')", name=op.f("ck_bureau_records_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_records")),
    )
    op.create_index(
        op.f("ix_bureau_records_contract_id_report_date"),
        "bureau_records",
        ["contract_id", "report_date"],
        unique=False,
    )
    op.create_index(op.f("ix_bureau_records_batch_date"), "bureau_records", ["batch_date"], unique=False)
    _create_bureau_disputes()


def _create_bureau_disputes() -> None:
    op.create_table(
        "bureau_disputes",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("record_id", BIGINT_PK, nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("reported_in", sa.Date(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered')", name=op.f("ck_bureau_disputes_status")),
        sa.CheckConstraint(
            "action IN ('none', 'correction', 'deletion')", name=op.f("ck_bureau_disputes_action")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["bureau_records.id"], name=op.f("fk_bureau_disputes_record_id_bureau_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_disputes")),
    )
    op.create_index(op.f("ix_bureau_disputes_record_id"), "bureau_disputes", ["record_id"], unique=False)
    op.create_index(
        op.f("ix_bureau_disputes_status_due_on"), "bureau_disputes", ["status", "due_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bureau_disputes_status_due_on"), table_name="bureau_disputes")
    op.drop_index(op.f("ix_bureau_disputes_record_id"), table_name="bureau_disputes")
    op.drop_table("bureau_disputes")
    op.drop_index(op.f("ix_bureau_records_batch_date"), table_name="bureau_records")
    op.drop_index(op.f("ix_bureau_records_contract_id_report_date"), table_name="bureau_records")
    op.drop_table("bureau_records")
    op.drop_index(op.f("ix_collection_contacts_debtor_id_attempted_at"), table_name="collection_contacts")
    op.drop_table("collection_contacts")
