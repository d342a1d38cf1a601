"""The business date a notification was queued for: ``notifications.business_date``.

Revision ID: 0020_notification_business_date
Revises: 0018_channel_outages
Create Date: 2026-12-03

Written by hand. A reminder is sent for a business date (its run's day), which is not always the local
day of the clock when it was queued: a reminder run caught up after the worker was down, or a close
running behind, queues it later. An undelivered reminder's lender-fault window starts on the later of
its due date and that business date, so it is stored. Rows written before this revision keep NULL
(the window then falls back to the local day they were queued on, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_notification_business_date"
down_revision: str | None = "0018_channel_outages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("business_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("business_date")
