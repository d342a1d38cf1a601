"""Channel outages found automatically: ``channel_outages``, and an index on ``payment_events.at``.

Revision ID: 0018_channel_outages
Revises: 0014_close_aggregate
Create Date: 2026-12-02

Written by hand. One new table (see ``lendcore.store.models_payments.ChannelOutage``): ``started_at``
unique, so concurrent detectors open one fault window per outage; and an index on the events' ``at``
for the detector's bounded look back over recent channel answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_channel_outages"
down_revision: str | None = "0014_close_aggregate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "channel_outages",
        sa.Column("id", ID, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("last_failure_at", TIMESTAMP, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("fault_id", ID, nullable=True),
        sa.Column("detected_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["fault_id"], ["lender_faults.id"], name=op.f("fk_channel_outages_fault_id_lender_faults")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_outages")),
        sa.UniqueConstraint("started_at", name=op.f("uq_channel_outages_started_at")),
    )
    op.create_index(op.f("ix_payment_events_at"), "payment_events", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_events_at"), table_name="payment_events")
    op.drop_table("channel_outages")
