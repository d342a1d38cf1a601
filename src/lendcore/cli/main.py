"""Entry point of the ``lendcore`` command.

The command tree is composed here from each command module's own Typer (:data:`COMMANDS`). Every refusal,
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
from typer.core import TyperGroup

from lendcore.cli import (
    accounts,
    admin,
    approvals,
    autopay,
    bench,
    bureau,
    channel_sim,
    collection,
    contracts,
    db,
    demo,
    eod,
    hardship,
    ledger,
    lines,
    origination,
    partners,
    pii,
    privacy,
    quote,
    reminders,
    repayments,
    reports,
    risk,
    serve,
    staff_actions,
    version,
)
from lendcore.cli import jobs as worker_commands
from lendcore.cli.output import clear_notices, error_line, flush_notices, refuse
from lendcore.core.errors import LendcoreError
from lendcore.error_table import EXIT_REJECTED, spec_for


def _kinds(error: BaseException) -> set[str]:
    # Click's exception classes by name: Typer vendors Click (typer._click) in recent versions and
    # depends on the click package in older ones; the names are the same in both.
    return {cls.__name__ for cls in type(error).__mro__}


#: Click's usage errors by class name (Typer vendors Click, so the classes are matched by name), most
#: specific first: (class, message pattern or None, code).
_USAGE_CODES: Final[tuple[tuple[str, re.Pattern[str] | None, str], ...]] = (
    ("NoSuchOption", None, "UNKNOWN_OPTION"),
    ("BadOptionUsage", re.compile("requires an argument"), "OPTION_NEEDS_VALUE"),
    ("BadOptionUsage", re.compile("does not take a value"), "OPTION_TAKES_NO_VALUE"),
    ("BadOptionUsage", None, "OPTION_MISUSED"),
    ("BadParameter", None, "INVALID_ARGUMENT"),
    ("BadArgumentUsage", None, "INVALID_ARGUMENT"),
    ("UsageError", re.compile(r"^Got unexpected extra argument"), "UNEXPECTED_ARGUMENT"),
    ("UsageError", re.compile(r"^No such command "), "UNKNOWN_COMMAND"),
    ("UsageError", re.compile(r"^Missing command"), "MISSING_COMMAND"),
    ("UsageError", None, "USAGE_ERROR"),
)


def usage_code(error: BaseException) -> str | None:
    """The stable code of a parser (Click) error, or None if ``error`` is not one."""
    kinds = _kinds(error)
    if "UsageError" not in kinds:
        return None
    if "MissingParameter" in kinds:  # an option or an argument left out
        param = getattr(error, "param", None)
        return "MISSING_ARGUMENT" if getattr(param, "param_type_name", "") == "argument" else "MISSING_OPTION"
    message = str(getattr(error, "message", ""))
    return next(
        code
        for kind, pattern, code in _USAGE_CODES
        if kind in kinds and (pattern is None or pattern.search(message))
    )


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
        clear_notices()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except LendcoreError as error:
            refuse(error_line(error.message, error.code), spec_for(error).exit_code)
        except Exception as error:
            if "NoArgsIsHelpError" in _kinds(error):  # a bare group: show its help
                typer.echo(getattr(error, "ctx").get_help())  # noqa: B009 (Click's attribute)
                sys.exit(0)
            code = usage_code(error)
            if code is None:
                raise
            refuse(error_line(usage_message(error), code))
        status = result if isinstance(result, int) else 0
        if status != EXIT_REJECTED:
            flush_notices()
        clear_notices()
        sys.exit(status)


def listed_together(*modules: typer.Typer) -> typer.Typer:
    """The modules' commands as one module's: all their commands, then all their groups.

    Composed one by one, each module's commands would be listed before its own groups; the servicing
    commands were one module, and `lendcore --help` keeps listing them as it did.
    """
    together = typer.Typer()
    for module in modules:
        together.registered_commands.extend(module.registered_commands)
    for module in modules:
        together.registered_groups.extend(module.registered_groups)
    return together


#: The servicing commands: draw, repay, payoff, waive, write-off, then the line, loan, ledger, eod and
#: payment groups.
SERVICING: Final = listed_together(
    lines.commands,
    contracts.commands,
    repayments.commands,
    ledger.commands,
    eod.commands,
    staff_actions.commands,
)

#: Every command module's commands, in the order `lendcore --help` lists them.
COMMANDS: Final[tuple[typer.Typer, ...]] = (
    quote.commands,
    origination.commands,
    SERVICING,
    risk.commands,
    pii.commands,
    db.commands,
    demo.commands,
    serve.commands,
    admin.commands,
    approvals.commands,
    accounts.commands,
    autopay.commands,
    reminders.commands,
    worker_commands.commands,
    channel_sim.commands,
    collection.commands,
    bureau.commands,
    hardship.commands,
    reports.commands,
    privacy.commands,
    partners.commands,
    bench.commands,
    version.commands,
)

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


# --- the command tree: every module's commands, composed here (no import side effects) ---------
for _commands in COMMANDS:
    app.add_typer(_commands)
