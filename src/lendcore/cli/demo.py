"""``lendcore demo``: the end-to-end story on a fresh database (see :mod:`lendcore.cli.demo_story`):
``--database``, else ``LENDCORE_DATABASE_URL``, else a temporary SQLite file removed afterwards.

The story is imported only when the command runs, so ``lendcore --help`` does not load the store.
"""

from __future__ import annotations

from typing import Annotated

import typer

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


@commands.command("demo")
def demo_command(
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Database URL (default: LENDCORE_DATABASE_URL, else a temporary SQLite file, removed "
            "afterwards). It must be fresh.",
        ),
    ] = None,
) -> None:
    """Customers apply, borrow, repay early, go overdue and are cured; the books balance at the end."""
    from lendcore.cli import demo_story
    from lendcore.cli.database import errors

    with errors():  # a bad URL, a missing directory, an unreachable server: one line
        ok = demo_story.run(database)
    if not ok:
        raise typer.Exit(1)
