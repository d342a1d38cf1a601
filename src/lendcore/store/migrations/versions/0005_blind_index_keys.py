"""Blind-index keys: the id of the HMAC key every stored hash was made with, and the key registry.

Revision ID: 0005_blind_index_keys
Revises: 0004_business_day
Create Date: 2026-12-01

Written by hand. Adds a nullable ``hash_key_id`` to ``customers``, ``bank_cards``, ``applications``
and ``blacklist_entries`` and ``device_hash_key_id`` to ``applications`` (columns added in place: no
table rebuild), and the table ``blind_index_keys``. Every hash stored before this revision was made
with the single key of ``LENDCORE_PII_HMAC_KEY`` (or the development key), which is key id ``h1``:
those rows are labelled ``h1`` and, if there are any, ``h1`` is registered without a fingerprint; the
first start with a key ring checks that its ``h1`` still matches a stored hash, then records its
fingerprint (:func:`lendcore.origination.blind_index.check_key_ring`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_blind_index_keys"
down_revision: str | None = "0004_business_day"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_KEY_ID = "h1"

#: (table, key id column, a column that is not NULL when the row holds a hash under that key)
_LABELLED = (
    ("customers", "hash_key_id", "id_number_hash IS NOT NULL OR phone_hash IS NOT NULL"),
    ("bank_cards", "hash_key_id", "card_number_hash IS NOT NULL"),
    ("applications", "hash_key_id", "id_number_hash IS NOT NULL OR phone_hash IS NOT NULL"),
    ("applications", "device_hash_key_id", "device_id_hash IS NOT NULL"),
    ("blacklist_entries", "hash_key_id", "value_hash IS NOT NULL"),
)


def upgrade() -> None:
    op.create_table(
        "blind_index_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_blind_index_keys")),
    )
    bind = op.get_bind()
    labelled = 0
    for table, column, has_hash in _LABELLED:
        op.add_column(table, sa.Column(column, sa.String(length=32), nullable=True))
        result = bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :kid WHERE {has_hash}"), {"kid": LEGACY_KEY_ID}
        )
        labelled += max(result.rowcount or 0, 0)
    if labelled:
        bind.execute(
            sa.text(
                "INSERT INTO blind_index_keys (key_id, fingerprint, registered_at)"
                " VALUES (:kid, NULL, CURRENT_TIMESTAMP)"
            ),
            {"kid": LEGACY_KEY_ID},
        )


def downgrade() -> None:
    for table, column, _ in reversed(_LABELLED):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
    op.drop_table("blind_index_keys")
