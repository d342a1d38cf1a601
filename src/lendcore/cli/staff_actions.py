"""Staff actions on servicing, each audited with its ``--actor`` and ``--reason`` and idempotent by
``--key``: ``lendcore waive`` (penalty or interest), ``lendcore payment reverse`` (a repayment the
channel returned) and ``lendcore write-off`` (核销); ``lendcore payment reconcile`` (a channel's
daily statement, what the scheduled ``reconciliation.run`` job does; idempotent per statement) and
``lendcore payment suspense`` (the money a channel took that no payment of ours books; cleared only by
an approved ``channel-suspense`` proposal: ``lendcore approvals propose channel-suspense``).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, KeyOpt, idempotency_key, yuan
from lendcore.cli.output import console
from lendcore.core.calendar import parse_date
from lendcore.core.errors import ValidationError
from lendcore.core.loan import WaiverKind
from lendcore.core.money import format_fen

if TYPE_CHECKING:
    from lendcore.payments.http_channel import HttpChannel
    from lendcore.payments.statement import Statement


class SuspenseStatus(StrEnum):
    OPEN = "open"
    APPLIED = "applied"
    RETURNED = "returned"


#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


@commands.command("waive")
def waive_command(
    contract: Annotated[str, typer.Option(help="Contract id.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    actor: Annotated[str, typer.Option(help="Staff member.")],
    kind: Annotated[WaiverKind, typer.Option(help="What to waive.")] = WaiverKind.PENALTY,
    amount: Annotated[str | None, typer.Option(help="Amount in yuan (default: all).")] = None,
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Waive penalty or interest on a contract (staff, audited)."""
    from lendcore.core.loan import WaiverKind
    from lendcore.servicing.waive import WaiveRequest, waive

    with database.errors():
        on = database.business_date(date_)
        fen = yuan(amount) if amount is not None else None
        request = WaiveRequest(
            contract_id=contract,
            kind=WaiverKind(kind),
            reason=reason,
            actor=actor,
            business_date=on,
            idempotency_key=idempotency_key(key),
            amount=fen,
        )
        result = database.in_session(lambda s: waive(s, request).to_json(), business_date=on)
    if as_json:
        database.echo_json(result)
        return
    console.print(f"waived {format_fen(result['amount'])} {result['kind']} on {contract}")


payment_app = typer.Typer(
    name="payment",
    help="Payments: reverse a returned repayment, reconcile a channel's statement.",
    no_args_is_help=True,
)
commands.add_typer(payment_app)


@payment_app.command("reverse")
def payment_reverse_command(
    payment: Annotated[str, typer.Argument(help="Inbound payment id (pay_…).")],
    reason: Annotated[str, typer.Option(help="Why (required), e.g. the channel's return code.")],
    actor: Annotated[str, typer.Option(help="Staff member.")],
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reverse a repayment the channel returned (chargeback): the dues it paid are owed again."""
    from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment

    with database.errors():
        on = database.business_date(date_)
        request = ReversePaymentRequest(
            payment_id=payment,
            reason=reason,
            actor=actor,
            business_date=on,
            idempotency_key=idempotency_key(key),
        )
        result = database.in_session(lambda s: reverse_payment(s, request).to_json(), business_date=on)
    if as_json:
        database.echo_json(result)
        return
    console.print(f"payment {payment} ({format_fen(result['amount'])}) {result['status']}")
    for line in result["contracts"]:
        console.print(
            f"  {line['contract_id']}: {line['status']}, owed {format_fen(line['total_outstanding'])}"
        )
    for unwound in result["unwound"]:
        console.print(f"  unwound credit use: {unwound}")
    if result["unapplied_taken_back"]:
        console.print(f"  unapplied funds taken back: {format_fen(result['unapplied_taken_back'])}")


@payment_app.command("reconcile")
def payment_reconcile_command(
    date_: Annotated[
        str | None, typer.Option("--date", help="The statement's day, YYYY-MM-DD (default: yesterday).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A statement file (default: fetch it from the channel).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reconcile a channel's daily statement with our payments: resolve what it tells of payments
    still open, raise every difference to operations, report every fen. Without --file the statement
    comes from LENDCORE_CHANNEL_URL, with any unread day of the week before it."""

    def body() -> list[dict[str, Any]]:
        from lendcore.payments.reconcile import reconcile_day, reconcile_statement

        day = _statement_day(date_, database.today() - timedelta(days=1))
        factory = database.session_factory()
        if file is not None:
            statement = _statement_file(file, day if date_ is not None else None)
            return [reconcile_statement(factory, statement, now=database.now()).as_dict()]
        with _channel() as channel:
            return [r.as_dict() for r in reconcile_day(factory, channel, day, now=database.now())]

    reports = database.run(body)
    if as_json:
        database.echo_json(reports)
        return
    for r in reports:
        console.print(
            f"{r['channel']} {r['statement_date']}: {r['rows']} rows, {format_fen(r['total'])}: "
            f"matched {r['matched']} ({format_fen(r['matched_amount'])}), resolved {r['resolved']} "
            f"({format_fen(r['resolved_amount'])}), {r['discrepancies']} raised "
            f"({format_fen(r['unexplained_amount'])} unexplained, {format_fen(r['suspense_amount'])} "
            "held in channel suspense)"
        )


@payment_app.command("suspense")
def payment_suspense_command(
    status: Annotated[SuspenseStatus, typer.Option("--status", help="Items of this status.")] = (
        SuspenseStatus.OPEN
    ),
    every: Annotated[bool, typer.Option("--all", help="Items of every status.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List channel suspense (渠道待查款): money a channel took that no payment of ours books. Clear an
    item with an approved proposal: lendcore approvals propose channel-suspense ITEM --payload
    '{"action": "apply"}' (or "return" with "reference")."""

    def body() -> list[dict[str, Any]]:
        from sqlalchemy import select

        from lendcore.store.models_payments import ChannelSuspense

        statement = select(ChannelSuspense).order_by(ChannelSuspense.raised_at, ChannelSuspense.id)
        if not every:
            statement = statement.where(ChannelSuspense.status == status.value)
        with database.open_session(read_only=True) as session:
            return [
                {
                    "id": i.id, "status": i.status, "amount": i.amount, "channel": i.channel,
                    "statement_date": i.statement_date.isoformat(), "named_payment_id": i.named_payment_id,
                    "customer_id": i.customer_id, "value_date": i.value_date.isoformat(),
                    "cleared_by": i.cleared_by, "applied_payment_id": i.applied_payment_id,
                }
                for i in session.scalars(statement)
            ]  # fmt: skip

    items = database.run(body)
    if as_json:
        database.echo_json(items)
        return
    if not items:
        console.print("no channel suspense" + ("" if every else f" {status.value}"))
    for i in items:
        console.print(
            f"{i['id']} {i['status']} {format_fen(i['amount'])}: {i['named_payment_id']} on {i['channel']} "
            f"{i['statement_date']}, payer {i['customer_id'] or 'unknown'}, paid {i['value_date']}"
        )


def _statement_day(text: str | None, default: date) -> date:
    day = parse_date(text, what="--date") if text is not None else default
    if day >= database.today():
        raise ValidationError(
            f"the statement of {day} is not published before the day ends", code="STATEMENT_DATE_NOT_PAST"
        )
    return day


def _statement_file(path: Path, day: date | None) -> Statement:
    from lendcore.payments.statement import parse_statement

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(
            f"cannot read the statement file {path}: {error}", code="STATEMENT_FILE_UNREADABLE"
        ) from None
    statement = parse_statement(text)
    if day is not None and statement.statement_date != day:
        raise ValidationError(
            f"the file is the statement of {statement.statement_date}, not {day}",
            code="STATEMENT_DATE_MISMATCH",
        )
    return statement


def _channel() -> HttpChannel:
    from lendcore.payments.http_channel import CHANNEL_URL_ENV, channel_from_env

    channel = channel_from_env()
    if channel is None:
        raise ValidationError(
            f"no channel to fetch the statement from: set {CHANNEL_URL_ENV} or pass --file",
            code="CHANNEL_NOT_CONFIGURED",
        )
    return channel


@commands.command("write-off")
def write_off_command(
    contract: Annotated[str, typer.Option(help="Contract id.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    actor: Annotated[str, typer.Option(help="Staff member.")],
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write off a contract past the product's write-off DPD (核销)."""
    from lendcore.servicing.writeoff import WriteOffRequest, write_off

    with database.errors():
        on = database.business_date(date_)
        request = WriteOffRequest(
            contract_id=contract,
            reason=reason,
            actor=actor,
            business_date=on,
            idempotency_key=idempotency_key(key),
        )
        result = database.in_session(lambda s: write_off(s, request).to_json(), business_date=on)
    if as_json:
        database.echo_json(result)
        return
    console.print(f"wrote off {format_fen(result['written_off'])} on {contract} (DPD {result['dpd']})")
