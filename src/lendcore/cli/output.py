"""What every command prints besides its result: one-line errors, and notices held until the end;
and the console the servicing commands print their results on.

Side remarks on stderr (a generated idempotency key, the development-keys notice) are queued with
:func:`notice` and printed when the command ends without a refusal, so a refusal stays one line.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from lendcore.core.errors import LendcoreError
from lendcore.error_table import EXIT_REJECTED, spec_for

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
#: Results of the servicing commands: at least 130 columns, so their schedule tables do not wrap.
console = Console(highlight=False, width=max(130, Console().width))

_notices: list[str] = []


def notice(text: str) -> None:
    """Queue a remark for stderr, printed when the command ends unless it was refused."""
    _notices.append(text)


def flush_notices() -> None:
    for text in _notices:
        err_console.print(text, markup=False)
    _notices.clear()


def error_line(message: str, code: str) -> str:
    """``error: <message> [CODE]`` on one line (newlines and runs of spaces folded)."""
    return f"error: {' '.join(message.split())} [{code}]"


def fail(error: LendcoreError) -> typer.Exit:
    """Print a one-line error for ``error`` and return the Exit to raise (queued notices dropped):
    status 2 for a refusal, 1 for a failure (:mod:`lendcore.error_table`)."""
    _notices.clear()
    err_console.print(error_line(error.message, error.code), markup=False)
    return typer.Exit(spec_for(error).exit_code)


def refuse(line: str, status: int = EXIT_REJECTED) -> None:
    _notices.clear()
    err_console.print(line, markup=False)
    sys.exit(status)


def clear_notices() -> None:
    _notices.clear()
