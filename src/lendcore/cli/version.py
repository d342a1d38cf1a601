"""``lendcore version``."""

from __future__ import annotations

import typer

from lendcore import __version__

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


@commands.command("version")
def version() -> None:
    """Print the lendcore version."""
    typer.echo(__version__)
