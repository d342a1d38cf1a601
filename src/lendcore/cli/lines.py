"""``lendcore line open`` and ``lendcore line close``: credit lines (授信额度), on the configured database
(``lendcore db url``).

A line is opened for an existing customer or, with ``--customer new``, for a minimal customer with no
PII (servicing-only use; origination onboards real customers). The limit is yuan on input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, yuan
from lendcore.cli.output import console
from lendcore.core.money import format_fen

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

line_app = typer.Typer(name="line", help="Credit lines (授信额度).", no_args_is_help=True)
commands.add_typer(line_app)


def create_minimal_customer(session: Session) -> str:
    """A customer with no PII (servicing-only use; origination onboards real customers)."""
    from lendcore.store.models import Customer

    customer = Customer(status="active")
    session.add(customer)
    session.flush()
    return customer.id


@line_app.command("open")
def line_open(
    customer: Annotated[str, typer.Option(help="Customer id, or 'new' for a minimal new customer.")],
    product: Annotated[str, typer.Option(help="Product code (lendcore products).")],
    limit: Annotated[str, typer.Option(help="Credit limit in yuan.")],
    grade: Annotated[str, typer.Option(help="Pricing grade.")] = "C",
    date_: DateOpt = None,
    actor: Annotated[str, typer.Option(help="Who opens it.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Open a credit line."""
    from lendcore.servicing.lines import available_limit, open_credit_line

    with database.errors():
        on = database.business_date(date_)
        credit_limit = yuan(limit, "--limit")

        def work(session: Session) -> dict[str, Any]:
            cid = create_minimal_customer(session) if customer == "new" else customer
            line = open_credit_line(
                session,
                customer_id=cid,
                product_code=product,
                credit_limit=credit_limit,
                pricing_grade=grade,
                business_date=on,
                actor=actor,
            )
            return {
                "line_id": line.id,
                "customer_id": cid,
                "product_code": line.product_code,
                "credit_limit": line.credit_limit,
                "pricing_grade": line.pricing_grade,
                "available_limit": available_limit(session, line.id),
                "opened_on": on.isoformat(),
            }

        result = database.in_session(work, business_date=on)
    if as_json:
        database.echo_json(result)
        return
    console.print(
        f"opened line [bold]{result['line_id']}[/] for customer {result['customer_id']}: "
        f"{result['product_code']}, limit {format_fen(result['credit_limit'])}, "
        f"grade {result['pricing_grade']}"
    )


@line_app.command("close")
def line_close(
    line_id: Annotated[str, typer.Argument(help="Credit line id.")],
    reason: Annotated[str, typer.Option(help="Reason code.")] = "CUSTOMER_REQUEST",
    date_: DateOpt = None,
    actor: Annotated[str, typer.Option(help="Who closes it.")] = "cli",
) -> None:
    """Close a credit line with nothing outstanding."""
    from lendcore.servicing.lines import close_line

    with database.errors():
        on = database.business_date(date_)
        database.in_session(
            lambda s: close_line(s, line_id, reason_code=reason, business_date=on, actor=actor),
            business_date=on,
        )
    console.print(f"closed line {line_id}")
