"""``lendcore accounts``: the official repayment account registry (add an entry, check a number).

``accounts check <number>`` answers a customer's question "may I repay into this account?":
``official: <bank>, <holder> (<purpose>)`` or ``not official - do not pay into this account``, for
today (Asia/Shanghai) or ``--on``. Both answers exit 0 (the check itself succeeded); only a number
that is not one (``INVALID_ACCOUNT_NUMBER``) is a refusal. Numbers may be written with spaces and
dashes.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.calendar import parse_date

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

accounts_app = typer.Typer(
    name="accounts",
    help="Official repayment accounts: register one, check a number (official / not official).",
    no_args_is_help=True,
)
commands.add_typer(accounts_app)

NumberArgument = Annotated[str, typer.Argument(help="The account number (spaces and dashes allowed).")]


@accounts_app.command("add")
def add_command(
    number: NumberArgument,
    bank: Annotated[str, typer.Option("--bank", help="The bank's name (1-100 characters).")],
    holder: Annotated[str, typer.Option("--holder", help="The account holder (1-100 characters).")],
    purpose: Annotated[str, typer.Option("--purpose", help="What it collects (1-200 characters).")],
    actor: Annotated[str, typer.Option("--actor", help="Who registers it (audited).")],
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="First day it is official (YYYY-MM-DD; default today).")
    ] = None,
    valid_to: Annotated[
        str | None, typer.Option("--valid-to", help="Last day it is official (YYYY-MM-DD; default open).")
    ] = None,
    as_json: database.JsonOption = False,
) -> None:
    """Register an official repayment account."""
    from lendcore.payments.official_accounts import AddOfficialAccountRequest, add_official_account

    def body() -> Any:
        starts = parse_date(valid_from, what="--valid-from") if valid_from is not None else database.today()
        ends = parse_date(valid_to, what="--valid-to") if valid_to is not None else None
        request = AddOfficialAccountRequest(number, bank, holder, purpose, starts, ends)
        with database.open_session() as session:
            return add_official_account(session, request, actor=actor, now=database.now())

    data = database.run(body).to_json()
    if as_json:
        database.echo_json(data)
        return
    until = data["valid_to"] or "open"
    typer.echo(
        f"{data['id']} {data['number']} {data['bank_name']} {data['holder']} {data['valid_from']}..{until}"
    )


@accounts_app.command("check")
def check_command(
    number: NumberArgument,
    on: Annotated[
        str | None, typer.Option("--on", help="The day to check (YYYY-MM-DD; default today).")
    ] = None,
    as_json: database.JsonOption = False,
) -> None:
    """Is this an official repayment account? (``not official - do not pay`` otherwise)."""
    from lendcore.payments.official_accounts import check_official_account, check_to_json

    def body() -> Any:
        day = parse_date(on, what="--on") if on is not None else database.today()
        with database.open_session(read_only=True) as session:
            return check_to_json(check_official_account(session, number, day))

    data = database.run(body)
    if as_json:
        database.echo_json(data)
        return
    typer.echo(f"{data['number']}: {data['message']}")
