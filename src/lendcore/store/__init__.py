"""Persistence: SQLAlchemy 2.0 models, Alembic migrations, the unit of work (SQLite or PostgreSQL).

See docs/storage.md. The usual imports::

    from lendcore.store import create_engine, create_session_factory, unit_of_work, upgrade_database
"""

from __future__ import annotations

from lendcore.store.engine import (
    create_engine,
    create_session_factory,
    for_update,
    lock_for_update,
    unit_of_work,
)
from lendcore.store.migrate import upgrade_database
from lendcore.store.settings import database_url, mask_url

__all__ = [
    "create_engine",
    "create_session_factory",
    "database_url",
    "for_update",
    "lock_for_update",
    "mask_url",
    "unit_of_work",
    "upgrade_database",
]
