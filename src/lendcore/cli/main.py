"""Entry point of the ``lendcore`` command.

Every command module registers itself on :data:`app` (see the imports at the bottom). Errors that
users can cause (:class:`~lendcore.core.errors.LendcoreError`, bad arguments) print one line and exit
with status 2; a traceback is always a bug.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from lendcore.core.errors import LendcoreError

app = typer.Typer(
    name="lendcore",
    help="lendcore: an open lending core for internet consumer credit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """lendcore: an open lending core for internet consumer credit."""


err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: Exit status for a rejected request (bad argument, business rule): the request changed nothing.
EXIT_REJECTED = 2


def fail(error: LendcoreError) -> typer.Exit:
    """Print a one-line error for ``error`` and return the Exit to raise."""
    err_console.print(f"error: {error.message} [{error.code}]", markup=False)
    return typer.Exit(EXIT_REJECTED)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except LendcoreError as error:  # raised outside a command's own handling
        err_console.print(f"error: {error.message} [{error.code}]", markup=False)
        sys.exit(EXIT_REJECTED)


# --- command registration: each module adds its commands to `app` on import -------------------
from lendcore.cli import db as _db  # noqa: E402,F401
from lendcore.cli import demo as _demo  # noqa: E402,F401
from lendcore.cli import origination as _origination  # noqa: E402,F401
from lendcore.cli import pii as _pii  # noqa: E402,F401
from lendcore.cli import quote as _quote  # noqa: E402,F401
from lendcore.cli import risk as _risk  # noqa: E402,F401
from lendcore.cli import servicing as _servicing  # noqa: E402,F401
from lendcore.cli import version as _version  # noqa: E402,F401
