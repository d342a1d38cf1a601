"""Payments in flight and durable jobs: payment deadlines, ``payment_events``, ``payment_issues``, ``jobs``.

Revision ID: 0007_payments_jobs
Revises: 0006_api_auth
Create Date: 2026-12-02

Written by hand. Adds the deadline columns to ``payments`` in place (nullable, or with a server
default: no table rebuild, which on SQLite would trip the foreign keys of the tables referencing
``payments``) and the index the sweeper uses; creates ``payment_events`` (append-only: the same
triggers as the ledger, refusing UPDATE and DELETE), ``payment_issues`` and ``jobs``. Written with
It follows ``0006_api_auth``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_payments_jobs"
down_revision: str | None = "0006_api_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PAYMENT_COLUMNS = (
    ("submitted_at", TIMESTAMP),
    ("failure_code", sa.String(length=32)),
    ("next_query_at", TIMESTAMP),
    ("last_queried_at", TIMESTAMP),
    ("sla_at", TIMESTAMP),
    ("escalated_at", TIMESTAMP),
)


def upgrade() -> None:
    for name, type_ in _PAYMENT_COLUMNS:
        op.add_column("payments", sa.Column(name, type_, nullable=True))
    op.add_column(
        "payments", sa.Column("query_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_index(
        op.f("ix_payments_state_next_query_at"), "payments", ["state", "next_query_at"], unique=False
    )
    _create_payment_events()
    _create_payment_issues()
    _create_jobs()
    _append_only("payment_events")


def _create_payment_events() -> None:
    op.create_table(
        "payment_events",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("channel_event_id", sa.String(length=64), nullable=True),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.CheckConstraint(
            "source IN ('request', 'submit', 'callback', 'query', 'statement', 'operator')",
            name=op.f("ck_payment_events_source"),
        ),
        sa.CheckConstraint(
            "kind IN ('created', 'transition', 'duplicate', 'stale', 'discrepancy', 'observation', "
            "'channel_error', 'escalated')",
            name=op.f("ck_payment_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_index(op.f("ix_payment_events_payment_id"), "payment_events", ["payment_id"], unique=False)
    op.create_index(
        "uq_payment_events_one_transition_per_state",
        "payment_events",
        ["payment_id", "to_state"],
        unique=True,
        postgresql_where=sa.text("kind = 'transition'"),
        sqlite_where=sa.text("kind = 'transition'"),
    )


def _create_payment_issues() -> None:
    op.create_table(
        "payment_issues",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("channel_reference", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", TIMESTAMP, nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_payment_issues_status")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_issues_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_issues")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_payment_issues_dedupe_key")),
    )
    op.create_index(op.f("ix_payment_issues_payment_id"), "payment_issues", ["payment_id"], unique=False)
    op.create_index(
        op.f("ix_payment_issues_status_raised_at"), "payment_issues", ["status", "raised_at"], unique=False
    )


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'dead')", name=op.f("ck_jobs_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_jobs_attempts_non_negative")),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_jobs_max_attempts_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index(op.f("ix_jobs_status_run_at"), "jobs", ["status", "run_at"], unique=False)


def _append_only(table: str) -> None:
    """The ledger's append-only triggers (migration 0001) on ``table``."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION lendcore_refuse_change()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER trg_{table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {event} refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_payment_events_append_only ON payment_events")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_payment_events_no_{event}")
    op.drop_index(op.f("ix_jobs_status_run_at"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_payment_issues_status_raised_at"), table_name="payment_issues")
    op.drop_index(op.f("ix_payment_issues_payment_id"), table_name="payment_issues")
    op.drop_table("payment_issues")
    op.drop_index("uq_payment_events_one_transition_per_state", table_name="payment_events")
    op.drop_index(op.f("ix_payment_events_payment_id"), table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index(op.f("ix_payments_state_next_query_at"), table_name="payments")
    op.drop_column("payments", "query_attempts")
    for name, _ in reversed(_PAYMENT_COLUMNS):
        op.drop_column("payments", name)
