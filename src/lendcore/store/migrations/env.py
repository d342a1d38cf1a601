"""Alembic environment for lendcore.

The connection comes from ``config.attributes["connection"]`` when lendcore runs the migration
(:func:`lendcore.store.migrate.upgrade_database`); otherwise an engine is made from the
``sqlalchemy.url`` option or ``LENDCORE_DATABASE_URL``. Either way the engine is lendcore's own
(:func:`lendcore.store.engine.create_engine`), so on SQLite DDL runs inside ``BEGIN IMMEDIATE`` and a
failed migration rolls back completely.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from lendcore.store.engine import create_engine
from lendcore.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url is not None and url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as new_connection:
            _configure(new_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
