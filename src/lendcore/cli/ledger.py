"""``lendcore ledger trial-balance``: debits and credits per account over the whole general ledger."""

from __future__ import annotations

import typer
from rich.table import Table

from lendcore.cli import database
from lendcore.cli.options import JsonOpt
from lendcore.cli.output import console
from lendcore.core.ledger import TrialBalance
from lendcore.core.money import format_fen

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

ledger_app = typer.Typer(name="ledger", help="The general ledger.", no_args_is_help=True)
commands.add_typer(ledger_app)


def trial_balance_table(tb: TrialBalance) -> Table:
    """The trial balance as a table: every account that moved, then the totals."""
    table = Table(title="Trial balance", title_justify="left")
    for col in ("account", "title", "debits", "credits", "balance"):
        table.add_column(col, justify="left" if col in ("account", "title") else "right")
    for line in tb.lines:
        if line.debits or line.credits:
            table.add_row(
                line.account.value,
                line.account.label,
                format_fen(line.debits),
                format_fen(line.credits),
                format_fen(line.balance),
            )
    table.add_row("", "total", format_fen(tb.total_debits), format_fen(tb.total_credits), "")
    return table


@ledger_app.command("trial-balance")
def trial_balance_command(as_json: JsonOpt = False) -> None:
    """Debits and credits per account over the whole ledger; exit 1 when unbalanced."""
    from lendcore.servicing.invariants import trial_balance_from_db

    with database.errors():
        tb = database.in_session(trial_balance_from_db, read_only=True)
    if as_json:
        database.echo_json(tb.to_dict())
    else:
        console.print(trial_balance_table(tb))
        console.print("[green]balanced[/]" if tb.balanced else "[red]NOT BALANCED[/]")
    if not tb.balanced:
        raise typer.Exit(1)
