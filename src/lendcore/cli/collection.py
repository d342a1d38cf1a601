"""``lendcore collection contact|queue``: log a collection contact attempt (judged by the contact rules
at that moment), and list the overdue contracts by bucket.

An attempt the rules refuse (quiet hours, the daily call limit, not the debtor) is still logged: the
command prints it with ``outcome: refused`` and its reason and exits 0, because the log entry is what
it was asked to write. Bad input (unknown customer or contract, a bad time) is refused as usual.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from lendcore.cli import database
from lendcore.core.collection_rules import Channel, QueueBucket
from lendcore.core.errors import ValidationError

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

collection_app = typer.Typer(
    name="collection", help="Collection: contact attempts and the queue.", no_args_is_help=True
)
commands.add_typer(collection_app)


def _moment(text: str | None) -> datetime:
    """``--at``: ISO 8601; without an offset it is Asia/Shanghai time. Default: now."""
    if text is None:
        return database.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--at must be an ISO date-time, got {text!r}", code="INVALID_DATE") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=database.BUSINESS_TZ)


@collection_app.command("contact")
def contact_command(
    customer: Annotated[str, typer.Option("--customer", help="The debtor (customer id).")],
    channel: Annotated[Channel, typer.Option("--channel", help="call, sms or letter.")],
    agent: Annotated[str, typer.Option("--agent", help="Who makes the attempt.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="When (ISO date-time; no offset = Asia/Shanghai). Default: now."),
    ] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="The contract it is about.")] = None,
    not_connected: Annotated[
        bool, typer.Option("--not-connected", help="The call was not answered.")
    ] = False,
    third_party: Annotated[
        bool, typer.Option("--third-party", help="The person reached is not the debtor.")
    ] = False,
    quiet_hours_agreed: Annotated[
        bool, typer.Option("--quiet-hours-agreed", help="The debtor agreed to contact 22:00-08:00.")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Free text.")] = None,
    json_out: database.JsonOption = False,
) -> None:
    """Judge one contact attempt by the rules and log it (refused attempts are logged too)."""
    from lendcore.collection.contacts import ContactRequest, record_contact

    def body() -> dict[str, object]:
        request = ContactRequest(
            debtor_id=customer,
            channel=channel,
            at=_moment(at),
            agent=agent,
            to_debtor=not third_party,
            quiet_hours_agreed=quiet_hours_agreed,
            connected=not not_connected,
            contract_id=contract,
            note=note,
        )
        return database.in_session(lambda s: record_contact(s, request).to_json())

    result = database.run(body)
    if json_out:
        database.echo_json(result)
    else:
        reason = f" ({result['refusal']})" if result["refusal"] else ""
        typer.echo(f"contact {result['contact_id']}: {result['channel']} {result['outcome']}{reason}")


@collection_app.command("queue")
def queue_command(
    date_: Annotated[str | None, typer.Option("--date", help="As of (YYYY-MM-DD). Default: today.")] = None,
    bucket: Annotated[QueueBucket | None, typer.Option("--bucket", help="Only this bucket.")] = None,
    json_out: database.JsonOption = False,
) -> None:
    """The overdue contracts by bucket (M3+ first, then by days past due)."""
    from lendcore.collection.queue import collection_queue
    from lendcore.core.calendar import parse_date

    def body() -> list[dict[str, object]]:
        on = parse_date(date_, what="--date") if date_ is not None else database.today()
        return database.in_session(
            lambda s: [e.to_json() for e in collection_queue(s, on, bucket)], read_only=True
        )

    entries = database.run(body)
    if json_out:
        database.echo_json(entries)
        return
    typer.echo("bucket,contract_id,customer_id,dpd,overdue_fen")
    for e in entries:
        typer.echo(f"{e['bucket']},{e['contract_id']},{e['customer_id']},{e['dpd']},{e['overdue']}")
