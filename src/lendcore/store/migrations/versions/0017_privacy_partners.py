"""Privacy rights and funding partners: ``privacy_requests``, ``processing_restrictions``,
``funding_partners``, ``contract_funding``, ``partner_postings``.

Revision ID: 0017_privacy_partners
Revises: 0016_hardship_offers
Create Date: 2026-12-02

Written by hand. Five new tables, nothing existing changed (see ``lendcore.store.models_privacy``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_privacy_partners"
down_revision: str | None = "0016_hardship_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.String(length=40)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _money_lines(table: str) -> tuple[sa.CheckConstraint, ...]:
    return (
        sa.CheckConstraint("debit >= 0", name=op.f(f"ck_{table}_debit_non_negative")),
        sa.CheckConstraint("credit >= 0", name=op.f(f"ck_{table}_credit_non_negative")),
        sa.CheckConstraint(
            "(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)",
            name=op.f(f"ck_{table}_exactly_one_side"),
        ),
    )


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.CheckConstraint("kind IN ('export', 'deletion')", name=op.f("ck_privacy_requests_kind")),
        _fk("privacy_requests", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(op.f("ix_privacy_requests_customer_id_kind"), "privacy_requests", ["customer_id", "kind"])
    op.create_table(
        "processing_restrictions",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("restricted_on", sa.Date(), nullable=False),
        sa.Column("request_id", ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=False),
        sa.Column("erased_on", sa.Date(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "erased_on IS NULL OR erased_on >= restricted_on",
            name=op.f("ck_processing_restrictions_erased_after_restricted"),
        ),
        _fk("processing_restrictions", "customer_id", "customers"),
        _fk("processing_restrictions", "request_id", "privacy_requests"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_processing_restrictions")),
    )
    op.create_table(
        "funding_partners",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("concentration_limit", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "concentration_limit >= 0", name=op.f("ck_funding_partners_concentration_limit_non_negative")
        ),
        sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f("ck_funding_partners_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_funding_partners_name")),
    )
    op.create_table(
        "contract_funding",
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("funded_amount", sa.BigInteger(), nullable=False),
        sa.Column("funded_on", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "share_bp > 0 AND share_bp < 10000", name=op.f("ck_contract_funding_share_in_range")
        ),
        sa.CheckConstraint("funded_amount > 0", name=op.f("ck_contract_funding_funded_amount_positive")),
        _fk("contract_funding", "contract_id", "contracts"),
        _fk("contract_funding", "partner_id", "funding_partners"),
        sa.PrimaryKeyConstraint("contract_id", "partner_id", name=op.f("pk_contract_funding")),
    )
    op.create_index(op.f("ix_contract_funding_partner_id"), "contract_funding", ["partner_id"])
    op.create_table(
        "partner_postings",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("journal_entry_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        *_money_lines("partner_postings"),
        _fk("partner_postings", "journal_entry_id", "journal_entries"),
        _fk("partner_postings", "partner_id", "funding_partners"),
        _fk("partner_postings", "contract_id", "contracts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_postings")),
        sa.UniqueConstraint(
            "journal_entry_id",
            "partner_id",
            "line",
            name=op.f("uq_partner_postings_journal_entry_id_partner_id_line"),
        ),
    )
    op.create_index(
        op.f("ix_partner_postings_partner_id_business_date"),
        "partner_postings",
        ["partner_id", "business_date"],
    )
    op.create_index(op.f("ix_partner_postings_contract_id"), "partner_postings", ["contract_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_postings_contract_id"), table_name="partner_postings")
    op.drop_index(op.f("ix_partner_postings_partner_id_business_date"), table_name="partner_postings")
    op.drop_table("partner_postings")
    op.drop_index(op.f("ix_contract_funding_partner_id"), table_name="contract_funding")
    op.drop_table("contract_funding")
    op.drop_table("funding_partners")
    op.drop_table("processing_restrictions")
    op.drop_index(op.f("ix_privacy_requests_customer_id_kind"), table_name="privacy_requests")
    op.drop_table("privacy_requests")
