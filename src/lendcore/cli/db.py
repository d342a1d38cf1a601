"""``lendcore db``: the database itself (``upgrade`` to the current schema, show the ``url``)."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from lendcore.cli.main import app, err_console
from lendcore.core.errors import LendcoreError
from lendcore.store.settings import DATABASE_URL_ENV, database_url, mask_url

db_app = typer.Typer(
    name="db",
    help=f"The database (set {DATABASE_URL_ENV}; default: an SQLite file in the user's data directory).",
    no_args_is_help=True,
)
app.add_typer(db_app)


@db_app.command("url")
def url() -> None:
    """Print the database URL in use (password masked)."""
    try:
        typer.echo(mask_url(database_url()))
    except LendcoreError as error:
        err_console.print(f"error: {error.message} [{error.code}]", markup=False)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def upgrade(revision: str = typer.Option("head", help="Target Alembic revision.")) -> None:
    """Create or migrate the schema to the current version (safe to run repeatedly)."""
    from lendcore.store.migrate import current_revision, upgrade_database

    try:
        target = database_url()
        upgrade_database(target, revision)
        typer.echo(f"database {mask_url(target)} is at revision {current_revision(target)}")
    except LendcoreError as error:
        err_console.print(f"error: {error.message} [{error.code}]", markup=False)
        raise typer.Exit(2) from None
    except OperationalError as error:
        err_console.print(f"error: cannot reach the database: {error.orig}", markup=False)
        raise typer.Exit(1) from None
