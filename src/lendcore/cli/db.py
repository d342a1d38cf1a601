"""``lendcore db``: the database itself (``upgrade`` to the current schema, show the ``url``).

The store (SQLAlchemy, Alembic) is imported inside the commands, so ``lendcore --help`` stays fast.
"""

from __future__ import annotations

import typer

from lendcore.cli import database

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

db_app = typer.Typer(
    name="db",
    help="The database (set LENDCORE_DATABASE_URL; default: an SQLite file in the user's data directory).",
    no_args_is_help=True,
)
commands.add_typer(db_app)


@db_app.command("url")
def url() -> None:
    """Print the database URL in use (password masked)."""
    from lendcore.store.settings import database_url, mask_url

    with database.errors():
        typer.echo(mask_url(database_url()))


@db_app.command("upgrade")
def upgrade(revision: str = typer.Option("head", help="Target Alembic revision.")) -> None:
    """Create or migrate the schema to the current version (safe to run repeatedly)."""
    from lendcore.store.migrate import current_revision, upgrade_database
    from lendcore.store.settings import database_url, mask_url

    with database.errors():
        target = database_url()
        upgrade_database(target, revision)
        typer.echo(f"database {mask_url(target)} is at revision {current_revision(target)}")
