"""``lendcore draw`` and ``lendcore loan show``: a contract (借据) is quoted and booked by a drawdown on
a credit line, and shown with its schedule, balances, DPD and history.

``draw`` only quotes unless ``--yes`` is given; then it disburses and books the contract, idempotent by
``--key``. Amounts are yuan on input, shown as ``¥1,234.56``; ``--json`` amounts are fen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, KeyOpt, idempotency_key, yuan
from lendcore.cli.output import console, err_console, error_line
from lendcore.core.errors import NotFoundError
from lendcore.core.money import format_fen
from lendcore.core.rates import format_percent
from lendcore.core.schedule import MAX_PERIODS, Method

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

loan_app = typer.Typer(name="loan", help="Contracts (借据).", no_args_is_help=True)
commands.add_typer(loan_app)


def _schedule_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("#", "start", "due", "days", "principal", "interest", "fee", "total", "remaining"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["period"]),
            str(r["start_date"]),
            str(r["due_date"]),
            str(r["days"]),
            format_fen(r["principal"]),
            format_fen(r["interest"]),
            format_fen(r["fee"]),
            format_fen(r["total"]),
            format_fen(r["remaining_principal"]),
        )
    return table


@commands.command("draw")
def draw_command(
    line: Annotated[str, typer.Option(help="Credit line id.")],
    amount: Annotated[str, typer.Option(help="Amount in yuan.")],
    term: Annotated[int, typer.Option(help="Number of monthly periods.", min=1, max=MAX_PERIODS)],
    method: Annotated[Method | None, typer.Option(help="Repayment method (product default).")] = None,
    purpose: Annotated[str, typer.Option(help="Declared purpose (consumption).")] = "shopping",
    merchant: Annotated[str | None, typer.Option(help="Merchant id (POS installments).")] = None,
    date_: DateOpt = None,
    key: KeyOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the drawdown (else: quote only).")] = False,
    as_json: JsonOpt = False,
    fund: Annotated[
        list[str] | None,
        typer.Option("--fund", help="A funding partner's share, PARTNER:BASIS_POINTS (repeatable)."),
    ] = None,
) -> None:
    """Quote a drawdown; with --yes, confirm it (disburse and book the contract)."""
    from lendcore.cli.partners import parse_funding
    from lendcore.origination.drawdown_check import drawdown_gate
    from lendcore.servicing.draw import DrawRequest, draw
    from lendcore.servicing.drawdown_quote import quote_drawdown
    from lendcore.store.models import CreditLine

    with database.errors():
        on = database.business_date(date_)
        fen = yuan(amount)
        funding = parse_funding(fund or ())

        def load_quote(session: Session) -> dict[str, Any]:
            row = session.get(CreditLine, line)
            if row is None:
                raise NotFoundError(f"credit line {line} not found", code="LINE_NOT_FOUND")
            q = quote_drawdown(
                row.product_code,
                amount=fen,
                term=term,
                grade=row.pricing_grade,
                start=on,
                method=method,
                purpose=purpose,
            )
            return q.to_json() | {"contract_text": q.contract_text()}

        quote = database.in_session(load_quote, read_only=True, business_date=on)
        result: dict[str, Any] | None = None
        if yes:
            request = DrawRequest(
                line_id=line,
                amount=fen,
                term=term,
                business_date=on,
                idempotency_key=idempotency_key(key),
                method=method,
                purpose=purpose,
                merchant_id=merchant,
                funding=funding,
            )
            result = database.in_session(
                lambda s: draw(s, request, gate=drawdown_gate()).to_json(), business_date=on
            )
    if as_json:
        database.echo_json(result if result is not None else {"quote": quote, "confirmed": False})
    else:
        console.print(_schedule_table(quote["schedule"], f"Quote: {format_fen(fen)}, {term} period(s)"))
        console.print(
            f"total interest {format_fen(quote['total_interest'])}, fees {format_fen(quote['total_fee'])}, "
            f"total {format_fen(quote['total_repayable'])}, APR {format_percent(_dec(quote['apr']))} (IRR)"
        )
        console.print(quote["contract_text"], markup=False)
        if result is None:
            console.print("quote only: add --yes to confirm the drawdown")
        elif result["status"] == "disbursed":
            console.print(
                f"[green]disbursed[/] contract [bold]{result['contract_id']}[/] "
                f"(payment {result['payment_id']}, paid to the {result['paid_to']}); "
                f"available limit {format_fen(result['available_limit'])}"
            )
    if result is not None and result["status"] != "disbursed":
        detail = ", ".join(result.get("reason_codes", [])) or result.get("failure_reason") or ""
        code = result.get("code") or "DRAWDOWN_" + str(result["status"]).upper()
        err_console.print(error_line(f"drawdown {result['status']}: {detail}", code), markup=False)
        raise typer.Exit(2)


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


@loan_app.command("show")
def loan_show(
    contract_id: Annotated[str, typer.Argument(help="Contract id.")],
    as_json: JsonOpt = False,
    accruals: Annotated[
        bool, typer.Option(help="Include daily accrual transactions in the history.")
    ] = False,
) -> None:
    """A contract: schedule, balances, DPD and history."""
    from lendcore.queries.loans import loan_view

    with database.errors():
        view = database.in_session(lambda s: loan_view(s, contract_id).to_json(), read_only=True)
    if as_json:
        database.echo_json(view)
        return
    b = view["balances"]
    console.print(
        f"[bold]{view['contract_id']}[/] {view['product_code']} {view['status']}: "
        f"{format_fen(view['principal'])} {view['method']} × {view['term']}, daily rate "
        f"{format_percent(_dec(view['daily_rate']), 4)}, {view['start_date']} → {view['maturity_date']}"
    )
    console.print(
        f"owed: principal {format_fen(b['principal'])}, interest {format_fen(b['interest'])}, penalty "
        f"{format_fen(b['penalty'])}, fee {format_fen(b['fee'])} (total {format_fen(b['total'])}); unapplied "
        f"{format_fen(b['unapplied'])}; DPD {view['days_past_due']} {view['bucket']} "
        f"{view['classification']}; accrued through {view['accrued_through']}"
    )
    console.print(_schedule_table(view["schedule"], f"Schedule (version {view['schedule_version']})"))
    history = Table(title="History", title_justify="left")
    for col in ("seq", "type", "amount", "value date", "booked"):
        history.add_column(col, justify="right")
    hidden = 0
    for t in view["history"]:
        if not accruals and t["type"].endswith("accrual"):
            hidden += 1
            continue
        history.add_row(
            str(t["seq"]), t["type"], format_fen(t["amount"]), t["value_date"], t["business_date"]
        )
    console.print(history)
    if hidden:
        console.print(f"({hidden} daily accrual transaction(s) hidden; --accruals shows them)")
