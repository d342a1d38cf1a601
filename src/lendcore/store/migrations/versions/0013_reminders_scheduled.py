"""Notifications with delivery tracking, and scheduled repayments.

Revision ID: 0013_reminders_scheduled
Revises: 0011_autopay_accounts
Create Date: 2026-12-02

Written by hand. Three new tables (models: ``store/models_notify.py``). ``notifications``: one message
to one customer on one channel, unique per ``dedupe_key`` (a redelivered job writes it once), with its
delivery state (queued, sent, delivered, failed, unconfirmed), its confirmation deadline and the fault
it opened when undelivered. ``notification_events``: the receipts and pulled statuses of a message.
``scheduled_repayments``: 预约还款, at most one booked or taken per installment (a partial unique index).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_reminders_scheduled"
down_revision: str | None = "0011_autopay_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATES = "state IN ('queued', 'sent', 'delivered', 'failed', 'unconfirmed')"
_HOLDING = "status IN ('booked', 'taken')"


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=40), nullable=nullable)


def _create_notifications() -> None:
    op.create_table(
        "notifications",
        _id("id"),
        _id("customer_id"),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipient_masked", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_message_id", sa.String(length=80), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        _id("contract_id", nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("queued_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("confirm_by", TIMESTAMP, nullable=True),
        sa.Column("next_poll_at", TIMESTAMP, nullable=True),
        sa.Column("flagged_at", TIMESTAMP, nullable=True),
        _id("fault_id", nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'push')", name=op.f("ck_notifications_channel")),
        sa.CheckConstraint(_STATES, name=op.f("ck_notifications_state")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_notifications_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_notifications_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["fault_id"], ["lender_faults.id"], name=op.f("fk_notifications_fault_id_lender_faults")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index(op.f("ix_notifications_customer_id"), "notifications", ["customer_id"])
    op.create_index(op.f("ix_notifications_group_key"), "notifications", ["group_key"])
    op.create_index(op.f("ix_notifications_state_next_poll_at"), "notifications", ["state", "next_poll_at"])


def _create_events() -> None:
    op.create_table(
        "notification_events",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        _id("notification_id"),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.CheckConstraint(
            "source IN ('send', 'receipt', 'poll', 'deadline')", name=op.f("ck_notification_events_source")
        ),
        sa.CheckConstraint(_STATES, name=op.f("ck_notification_events_state")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_events_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    op.create_index(
        op.f("ix_notification_events_notification_id"), "notification_events", ["notification_id"]
    )


def _create_scheduled() -> None:
    op.create_table(
        "scheduled_repayments",
        _id("id"),
        _id("customer_id"),
        _id("contract_id"),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("take_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("account_token", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _id("payment_id", nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("cancelled_at", TIMESTAMP, nullable=True),
        sa.Column("taken_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'taken', 'failed')",
            name=op.f("ck_scheduled_repayments_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_scheduled_repayments_amount_positive")),
        sa.CheckConstraint("take_on <= due_date", name=op.f("ck_scheduled_repayments_take_before_due")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_scheduled_repayments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_scheduled_repayments_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_scheduled_repayments_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_repayments")),
    )
    op.create_index(op.f("ix_scheduled_repayments_customer_id"), "scheduled_repayments", ["customer_id"])
    op.create_index(
        op.f("ix_scheduled_repayments_status_take_on"), "scheduled_repayments", ["status", "take_on"]
    )
    op.create_index(
        "uq_scheduled_repayments_one_per_installment",
        "scheduled_repayments",
        ["contract_id", "period"],
        unique=True,
        postgresql_where=sa.text(_HOLDING),
        sqlite_where=sa.text(_HOLDING),
    )


def upgrade() -> None:
    _create_notifications()
    _create_events()
    _create_scheduled()


def downgrade() -> None:
    op.drop_index("uq_scheduled_repayments_one_per_installment", table_name="scheduled_repayments")
    op.drop_table("scheduled_repayments")
    op.drop_table("notification_events")
    op.drop_table("notifications")
