"""Official repayment accounts and autopay mandates: ``official_accounts``, ``autopay_mandates``.

Revision ID: 0011_autopay_accounts
Revises: 0010_post_loan
Create Date: 2026-12-02

Written by hand. Two new tables and one CHECK widened. ``official_accounts``: the registry of the
accounts the lender collects repayments into, which anyone may check a number against ("official / not
official - do not pay"). Numbers are stored normalised (digits only) and indexed for the check.
``autopay_mandates``: a customer's standing debit instructions, one per bound card (primary, fallback),
at most one active per card and per role (partial unique indexes). The consent kind ``autopay_debit``
joins the kinds ``consents.kind`` accepts (its CHECK is replaced; SQLite rebuilds the table in batch
mode, nothing references it). It follows ``0010_post_loan``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_autopay_accounts"
down_revision: str | None = "0010_post_loan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_KINDS_BEFORE = (
    "terms",
    "privacy",
    "credit_bureau_query",
    "funding_partner_sharing",
    "sensitive_personal_info",
)
_KINDS_AFTER = (*_KINDS_BEFORE, "autopay_debit")
_CONSENT_KIND = "ck_consents_kind"
_ACTIVE = "status = 'active'"


def _consent_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(op.f(_CONSENT_KIND), type_="check")
        batch.create_check_constraint(
            op.f(_CONSENT_KIND), sa.text(f"kind IN ({', '.join(repr(k) for k in kinds)})")
        )


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
    _consent_kinds(_KINDS_AFTER)
    op.create_table(
        "autopay_mandates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("bank_card_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("role IN ('primary', 'fallback')", name=op.f("ck_autopay_mandates_role")),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f("ck_autopay_mandates_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_autopay_mandates_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["bank_card_id"], ["bank_cards.id"], name=op.f("fk_autopay_mandates_bank_card_id_bank_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopay_mandates")),
    )
    op.create_index(op.f("ix_autopay_mandates_customer_id"), "autopay_mandates", ["customer_id"])
    for name, columns in (("card", ["bank_card_id"]), ("role", ["customer_id", "role"])):
        op.create_index(
            f"uq_autopay_mandates_one_active_per_{name}",
            "autopay_mandates",
            columns,
            unique=True,
            postgresql_where=sa.text(_ACTIVE),
            sqlite_where=sa.text(_ACTIVE),
        )


def downgrade() -> None:
    for name in ("card", "role"):
        op.drop_index(f"uq_autopay_mandates_one_active_per_{name}", table_name="autopay_mandates")
    op.drop_index(op.f("ix_autopay_mandates_customer_id"), table_name="autopay_mandates")
    op.drop_table("autopay_mandates")
    _consent_kinds(_KINDS_BEFORE)
    op.drop_index(op.f("ix_official_accounts_number"), table_name="official_accounts")
    op.drop_table("official_accounts")
