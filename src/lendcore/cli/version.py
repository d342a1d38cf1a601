"""``lendcore version``."""

from __future__ import annotations

import typer

from lendcore import __version__
from lendcore.cli.main import app


@app.command("version")
def version() -> None:
    """Print the lendcore version."""
    typer.echo(__version__)
