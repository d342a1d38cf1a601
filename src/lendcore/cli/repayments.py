"""``lendcore repay`` and ``lendcore payoff``: repaying by amount, by contract or everything (一次性还清),
and what paying off everything would cost on the business date.

A repayment is recorded and committed first, then submitted to the payment channel with no transaction
open; repeating ``repay`` with the same ``--key`` returns the first result and changes nothing. Amounts
are yuan on input, shown as ``¥1,234.56``; ``--json`` amounts are fen.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, KeyOpt, idempotency_key, yuan
from lendcore.cli.output import console, err_console, error_line, notice
from lendcore.core.allocation import CustomerMode
from lendcore.core.calendar import parse_date
from lendcore.core.errors import ValidationError
from lendcore.core.money import format_fen

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


@commands.command("repay")
def repay_command(
    customer: Annotated[str, typer.Option(help="Customer id.")],
    amount: Annotated[str | None, typer.Option(help="Amount in yuan (按金额).")] = None,
    contract: Annotated[
        list[str] | None, typer.Option(help="Contract(s) to settle, in order (按合同); repeatable.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Pay off everything (一次性还清).")] = False,
    date_: DateOpt = None,
    value_date: Annotated[
        str | None, typer.Option(help="When the customer started the payment (default: --date).")
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Repay by amount, by contract, or pay off everything: recorded and committed first, then submitted
    to the payment channel with no transaction open (the in-process channel confirms at once; with
    ``LENDCORE_CHANNEL_URL`` set it stays processing and ``lendcore worker`` submits it)."""
    from lendcore.servicing.repay import RepayRequest
    from lendcore.servicing.repay_channel import inline_channel, settle_at_once
    from lendcore.servicing.settlement import request_repayment
    from lendcore.store.types import utc_now

    with database.errors():
        on = database.business_date(date_)
        vd = parse_date(value_date, what="--value-date") if value_date else None
        chosen = sum(1 for x in (amount is not None and not contract, bool(contract), all_) if x)
        if chosen != 1 or (all_ and amount is not None):
            raise ValidationError(
                "give exactly one of --amount, --contract (with an optional --amount) or --all",
                code="INVALID_ARGUMENT",
            )
        fen = yuan(amount) if amount is not None else None
        mode = (
            CustomerMode.PAY_OFF_ALL
            if all_
            else CustomerMode.BY_CONTRACT
            if contract
            else CustomerMode.BY_AMOUNT
        )
        request = RepayRequest(
            customer_id=customer,
            business_date=on,
            idempotency_key=idempotency_key(key),
            amount=fen,
            mode=mode,
            contract_ids=tuple(contract) if contract else None,
            value_date=vd,
        )
        now = utc_now()
        recorded = database.in_session(
            lambda s: request_repayment(s, request, now=now, with_plan=True), business_date=on
        )
        result = settle_at_once(
            database.session_factory(),
            recorded,
            account_token=f"customer:{customer}",
            channel=inline_channel(),
            now=now,
        ).to_json()
    if as_json:
        database.echo_json(result)
    else:
        _print_repayment(result)
    if result["status"] == "processing":
        notice(f"payment {result['payment_id']} is processing: `lendcore worker` submits it to the channel")
        return
    if result["status"] != "succeeded":
        err_console.print(
            error_line(f"payment {result['status']}: {result.get('failure_reason')}", "PAYMENT_FAILED"),
            markup=False,
        )
        raise typer.Exit(2)


def _print_repayment(result: dict[str, Any]) -> None:
    console.print(
        f"payment {result['payment_id']} {result['status']}: {format_fen(result['amount'])} "
        f"({result['mode']}, value date {result['value_date']})"
    )
    table = Table(title_justify="left")
    for col in (
        "contract",
        "amount",
        "penalty",
        "fee",
        "interest",
        "principal",
        "prepaid",
        "unapplied",
        "left",
    ):
        table.add_column(col, justify="right")
    table.add_column("status")
    for c in result["contracts"]:
        table.add_row(
            c["contract_id"],
            format_fen(c["amount"]),
            format_fen(c["penalty"]),
            format_fen(c["fee"] + c["prepayment_fee"]),
            format_fen(c["interest"]),
            format_fen(c["principal"]),
            format_fen(c["prepaid_principal"]),
            format_fen(c["unapplied"]),
            format_fen(c["total_outstanding"]),
            c["status"] + (" (schedule recomputed)" if c["schedule_version"] else ""),
        )
    console.print(table)
    for c in result["contracts"]:
        for i in c.get("installments", []):
            paid = i["penalty"] + i["fee"] + i["interest"] + i["principal"]
            state = "settled" if i["settled"] else "partly paid"
            early = " early" if i["bucket"] == "current" else ""
            console.print(
                f"  {c['contract_id']} installment {i['period']} (due {i['due_date']}): "
                f"{format_fen(paid)} paid{early}, {state}",
                markup=False,
            )


@commands.command("payoff")
def payoff_command(
    customer: Annotated[str, typer.Option(help="Customer id.")],
    date_: DateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What pays off every open contract of the customer on the date (一次性还清)."""
    from lendcore.queries.payoff import payoff_quote

    with database.errors():
        on = database.business_date(date_)
        quote = database.in_session(
            lambda s: payoff_quote(s, customer, on).to_json(), read_only=True, business_date=on
        )
    if as_json:
        database.echo_json(quote)
        return
    table = Table(title=f"Payoff on {on}", title_justify="left")
    for col in ("contract", "principal", "interest", "penalty", "fee", "prepayment fee", "total"):
        table.add_column(col, justify="right")
    for q in quote["contracts"]:
        table.add_row(
            q["contract_id"],
            *(
                format_fen(q[k])
                for k in ("principal", "interest", "penalty", "fee", "prepayment_fee", "total")
            ),
        )
    console.print(table)
    console.print(f"total {format_fen(quote['total'])}")
