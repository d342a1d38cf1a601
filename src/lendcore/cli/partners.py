"""``lendcore partners register|statement|sync``: funding partners (出资方) and their daily statement.

``register`` adds a partner with its concentration limit (yuan of outstanding principal it may fund);
``statement`` books what is not yet booked of the partner's ledger and prints its accounts (opening,
the day's debits and credits, closing) and its contracts for ``--date`` (CSV of the accounts by
default, ``--json`` for everything); ``sync`` books every partner's ledger up to the general ledger
(idempotent). A drawdown is funded with ``lendcore draw … --fund PARTNER:BASIS_POINTS``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError
from lendcore.core.funding import Share

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

partners_app = typer.Typer(
    name="partners", help="Funding partners: registry, daily statement.", no_args_is_help=True
)
commands.add_typer(partners_app)


def parse_funding(specs: Iterable[str]) -> tuple[Share, ...]:
    """``--fund fp_…:2500`` (basis points) → shares; ``FUNDING_SHARES_INVALID`` for anything else."""
    shares = []
    for spec in specs:
        partner, sep, bp = spec.strip().partition(":")
        if not sep or not partner.strip() or not bp.strip().isdigit() or len(bp.strip()) > 5:
            raise ValidationError(
                f"--fund must look like PARTNER:BASIS_POINTS (fp_…:2500), got {spec[:40]!r}",
                code="FUNDING_SHARES_INVALID",
            )
        shares.append(Share(partner.strip(), int(bp)))
    return tuple(shares)


@partners_app.command("register")
def register_command(
    name: Annotated[str, typer.Option("--name", help="The partner's name (unique).")],
    limit: Annotated[
        str, typer.Option("--limit", help="Concentration limit, yuan of outstanding principal.")
    ],
    staff: Annotated[str, typer.Option("--staff", help="The staff user who acts (username).")],
    json_out: database.JsonOption = False,
) -> None:
    """Register a funding partner with its concentration limit."""
    from lendcore.approvals.proposals import staff_member
    from lendcore.core.money import parse_amount
    from lendcore.servicing.partners import register_partner

    def body() -> dict[str, Any]:
        fen = parse_amount(limit, allow_zero=False)

        def run(session: Any) -> dict[str, Any]:
            actor = staff_member(session, staff).subject
            return register_partner(
                session, name=name, concentration_limit=fen, actor=actor, at=database.now()
            ).to_json()

        return database.in_session(run)

    result = database.run(body)
    if json_out:
        database.echo_json(result)
        return
    typer.echo(
        f"registered partner {result['id']} ({result['name']}), limit {result['concentration_limit']} fen"
    )


@partners_app.command("statement")
def statement_command(
    partner: Annotated[str, typer.Option("--partner", help="The partner (fp_…).")],
    date_: Annotated[str, typer.Option("--date", help="The business date (YYYY-MM-DD).")],
    json_out: database.JsonOption = False,
) -> None:
    """The partner's statement of one business day (CSV of its accounts; --json: also its contracts)."""
    from lendcore.core.calendar import parse_date
    from lendcore.servicing.partner_statement import partner_statement

    def body() -> dict[str, Any]:
        on = parse_date(date_, what="--date")
        if on > database.today():
            raise ValidationError(f"--date {on} is after today", code="BUSINESS_DATE_IN_FUTURE")
        return database.in_session(lambda s: partner_statement(s, partner, on).to_json())

    result = database.run(body)
    if json_out:
        database.echo_json(result)
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("account", "title", "opening_fen", "debits_fen", "credits_fen", "closing_fen"))
    for a in result["accounts"]:
        writer.writerow((a["account"], a["title"], a["opening"], a["debits"], a["credits"], a["closing"]))
    typer.echo(out.getvalue(), nl=False)


@partners_app.command("sync")
def sync_command(json_out: database.JsonOption = False) -> None:
    """Book every partner's ledger up to the general ledger (idempotent)."""
    from lendcore.servicing.partners import sync_partner_ledgers

    booked = database.run(lambda: database.in_session(sync_partner_ledgers))
    if json_out:
        database.echo_json({"booked": booked})
        return
    typer.echo(f"partner entries booked: {booked}")
