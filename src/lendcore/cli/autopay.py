"""``lendcore autopay``: mandate autopay on a bound card, revoke a mandate, run today's debits.

``autopay mandate`` needs the customer's ``autopay_debit`` consent (``lendcore customer consent``
grants it). ``autopay run`` does what the scheduled ``autopay.run`` job does (09:30 attempt 1, 15:30
attempt 2) for the open business date: it records the repayments and their ``payment.submit`` jobs;
``lendcore worker`` submits them and books each when the channel confirms it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

autopay_app = typer.Typer(
    name="autopay",
    help="Autopay: mandate a bound card, revoke a mandate, run the debits.",
    no_args_is_help=True,
)
commands.add_typer(autopay_app)

ActorOption = Annotated[str, typer.Option("--actor", help="Who acts (audited).")]


class Role(StrEnum):
    PRIMARY = "primary"
    FALLBACK = "fallback"


def _echo(data: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        database.echo_json(data)
    else:
        typer.echo(line)


@autopay_app.command("mandate")
def mandate_command(
    customer: Annotated[str, typer.Option("--customer", help="The customer id (cus_…).")],
    card: Annotated[str, typer.Option("--card", help="The bound card's id (card_…).")],
    actor: ActorOption,
    role: Annotated[Role, typer.Option("--role", help="primary or fallback.")] = Role.PRIMARY,
    as_json: database.JsonOption = False,
) -> None:
    """Mandate autopay on one of the customer's bound cards (needs the autopay_debit consent)."""
    from lendcore.origination.autopay import MandateRole, create_mandate

    def body() -> dict[str, Any]:
        with database.open_session() as session:
            view = create_mandate(
                session, customer, card, MandateRole(role.value), actor=actor, at=database.now()
            )
            return view.to_json()

    data = database.run(body)
    _echo(data, as_json, f"{data['id']} {data['role']} {data['bank_card_id']} {data['status']}")


@autopay_app.command("revoke")
def revoke_command(
    mandate: Annotated[str, typer.Argument(help="The mandate id (mdt_…).")],
    actor: ActorOption,
    as_json: database.JsonOption = False,
) -> None:
    """Revoke an autopay mandate (kept as history)."""
    from lendcore.origination.autopay import revoke_mandate

    def body() -> dict[str, Any]:
        with database.open_session() as session:
            return revoke_mandate(session, mandate, actor=actor, at=database.now()).to_json()

    data = database.run(body)
    _echo(data, as_json, f"{data['id']} {data['status']}")


@autopay_app.command("run")
def run_command(
    attempt: Annotated[int, typer.Option("--attempt", help="1 (the morning run) or 2 (the retry).")] = 1,
    date_: database.DateOption = None,
    as_json: database.JsonOption = False,
) -> None:
    """Request the autopay debits due on the business date (the scheduled job does this)."""
    from lendcore.batch.autopay import ATTEMPTS, run_autopay

    def body() -> dict[str, Any]:
        if attempt not in ATTEMPTS:
            raise ValidationError("--attempt is 1 or 2", code="INVALID_AUTOPAY_ATTEMPT")
        on = database.business_date(date_)
        with database.open_session(business_date=on) as session:
            return run_autopay(session, on, attempt, now=database.now()).to_json()

    data = database.run(body)
    _echo(data, as_json, f"{data['business_date']} attempt {attempt}: {len(data['requested'])} requested")
