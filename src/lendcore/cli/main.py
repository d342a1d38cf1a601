"""Entry point of the ``lendcore`` command.

Every command module registers itself on :data:`app` (see the imports at the bottom). Every refusal,
whoever raises it, prints exactly one line on stderr, ``error: <message> [CODE]``, and exits with
status 2; nothing was written. That is done once, here, for the whole command tree
(:class:`LendcoreGroup`):

* a :class:`~lendcore.core.errors.LendcoreError` escaping a command prints its message and code;
* the parser's own errors (Click, inside Typer) print their message with a stable code instead of the
  boxed usage block: ``MISSING_OPTION``, ``MISSING_ARGUMENT``, ``INVALID_ARGUMENT`` (wrong type, out of
  range, not one of the allowed values, which the message lists), ``UNKNOWN_OPTION``,
  ``OPTION_NEEDS_VALUE`` (``--amount`` with nothing after it), ``OPTION_TAKES_NO_VALUE`` (``--json=1``),
  ``OPTION_MISUSED``, ``UNEXPECTED_ARGUMENT``, ``UNKNOWN_COMMAND``, ``MISSING_COMMAND``; anything else
  the parser refuses is ``USAGE_ERROR``.

A group called with no arguments at all prints its help (exit 0). A traceback is always a bug.

Side remarks on stderr (a generated idempotency key, the development-keys notice) are queued with
:func:`notice` and printed when the command ends without a refusal, so a refusal stays one line.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any, Final

import typer
from rich.console import Console
from typer.core import TyperGroup

from lendcore.core.errors import LendcoreError
from lendcore.error_table import EXIT_REJECTED, spec_for

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: Exit status for a rejected request (bad argument, business rule): the request changed nothing.


_notices: list[str] = []


def notice(text: str) -> None:
    """Queue a remark for stderr, printed when the command ends unless it was refused."""
    _notices.append(text)


def _flush_notices() -> None:
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


def _refuse(line: str, status: int = EXIT_REJECTED) -> None:
    _notices.clear()
    err_console.print(line, markup=False)
    sys.exit(status)


def _kinds(error: BaseException) -> set[str]:
    # Click's exception classes by name: Typer vendors Click (typer._click) in recent versions and
    # depends on the click package in older ones; the names are the same in both.
    return {cls.__name__ for cls in type(error).__mro__}


_EXTRA_ARGS: Final = re.compile(r"^Got unexpected extra argument")
_NO_SUCH_COMMAND: Final = re.compile(r"^No such command ")


def usage_code(error: BaseException) -> str | None:
    """The stable code of a parser (Click) error, or None if ``error`` is not one."""
    kinds = _kinds(error)
    if "UsageError" not in kinds:
        return None
    message = str(getattr(error, "message", ""))
    if "MissingParameter" in kinds:
        param = getattr(error, "param", None)
        return "MISSING_ARGUMENT" if getattr(param, "param_type_name", "") == "argument" else "MISSING_OPTION"
    if "NoSuchOption" in kinds:
        return "UNKNOWN_OPTION"
    if "BadOptionUsage" in kinds:
        if "requires an argument" in message:
            return "OPTION_NEEDS_VALUE"
        return "OPTION_TAKES_NO_VALUE" if "does not take a value" in message else "OPTION_MISUSED"
    if "BadParameter" in kinds or "BadArgumentUsage" in kinds:
        return "INVALID_ARGUMENT"
    if _EXTRA_ARGS.match(message):
        return "UNEXPECTED_ARGUMENT"
    if _NO_SUCH_COMMAND.match(message):
        return "UNKNOWN_COMMAND"
    if message.startswith("Missing command"):
        return "MISSING_COMMAND"
    return "USAGE_ERROR"


def usage_message(error: BaseException) -> str:
    """The parser's message without Click's decorations (and pydantic's "Value error, " prefix)."""
    format_message = getattr(error, "format_message", None)
    message = str(format_message() if callable(format_message) else error)
    message = " ".join(message.replace("Value error, ", "").split()).rstrip(".")
    return message[:1].lower() + message[1:]


class LendcoreGroup(TyperGroup):
    """The root command group: runs the command tree and turns every refusal into one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        _notices.clear()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except LendcoreError as error:
            _refuse(error_line(error.message, error.code), spec_for(error).exit_code)
        except Exception as error:
            if "NoArgsIsHelpError" in _kinds(error):  # a bare group: show its help
                typer.echo(getattr(error, "ctx").get_help())  # noqa: B009 (Click's attribute)
                sys.exit(0)
            code = usage_code(error)
            if code is None:
                raise
            _refuse(error_line(usage_message(error), code))
        status = result if isinstance(result, int) else 0
        if status != EXIT_REJECTED:
            _flush_notices()
        _notices.clear()
        sys.exit(status)


app = typer.Typer(
    name="lendcore",
    help="lendcore: an open lending core for internet consumer credit.",
    cls=LendcoreGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """lendcore: an open lending core for internet consumer credit."""


def main() -> None:
    """Console-script entry point."""
    app()


# --- command registration: each module adds its commands to `app` on import -------------------
from lendcore.cli import admin as _admin  # noqa: E402,F401
from lendcore.cli import channel_sim as _channel_sim  # noqa: E402,F401
from lendcore.cli import db as _db  # noqa: E402,F401
from lendcore.cli import demo as _demo  # noqa: E402,F401
from lendcore.cli import jobs as _jobs  # noqa: E402,F401
from lendcore.cli import origination as _origination  # noqa: E402,F401
from lendcore.cli import pii as _pii  # noqa: E402,F401
from lendcore.cli import quote as _quote  # noqa: E402,F401
from lendcore.cli import risk as _risk  # noqa: E402,F401
from lendcore.cli import serve as _serve  # noqa: E402,F401
from lendcore.cli import servicing as _servicing  # noqa: E402,F401
from lendcore.cli import version as _version  # noqa: E402,F401
