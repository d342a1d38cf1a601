"""Staff actions on servicing, each audited with its ``--actor`` and ``--reason`` and idempotent by
``--key``: ``lendcore waive`` (penalty or interest), ``lendcore payment reverse`` (a repayment the
channel returned) and ``lendcore write-off`` (核销).
"""

from __future__ import annotations

from typing import Annotated

import typer

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, KeyOpt, idempotency_key, yuan
from lendcore.cli.output import console
from lendcore.core.loan import WaiverKind
from lendcore.core.money import format_fen

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
    name="payment", help="Payments: reverse a returned repayment.", no_args_is_help=True
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
