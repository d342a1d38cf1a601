"""``lendcore hardship``: hardship plans (展期 / 重新分期) from the command line.

* ``offer``: an operator proposes a plan for a contract (a ``hardship-plan`` approval); the plan it
  would offer on the business date (new schedule, APR, total cost) is printed and nothing is booked.
  A second member of staff approves it with ``lendcore approvals approve``, which makes the offer.
* ``show``: offers of a contract or a customer (or one offer), with their plans.
* ``accept`` / ``decline``: the customer's decision (idempotent by ``--key``); only acceptance books
  the restructure.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.options import DateOpt, KeyOpt, idempotency_key
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.money import format_fen

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

hardship_app = typer.Typer(
    name="hardship",
    help="Hardship plans (展期 / 重新分期): propose, show, accept or decline.",
    no_args_is_help=True,
)
commands.add_typer(hardship_app)

CustomerOpt = Annotated[str, typer.Option("--customer", help="The customer deciding (cus_…).")]
OfferArg = Annotated[str, typer.Argument(help="The offer id (hso_…).")]


class Kind(StrEnum):
    EXTENSION = "extension"
    REAMORTISATION = "re-amortisation"


def _print_plan(plan: dict[str, Any]) -> None:
    typer.echo(
        f"{plan['kind']} {plan['periods']}: principal {format_fen(plan['principal'])} re-planned, "
        f"arrears {format_fen(plan['arrears'])} kept as due, APR {plan['apr']}, "
        f"total interest {format_fen(plan['total_interest'])}, "
        f"total to pay {format_fen(plan['total_to_pay'])}"
    )
    for row in plan["schedule"]:
        typer.echo(
            f"  {row['period']:>3} {row['due_date']} principal {format_fen(row['principal'])} "
            f"interest {format_fen(row['interest'])} total {format_fen(row['total'])}"
        )


@hardship_app.command("offer")
def offer_command(
    contract: Annotated[str, typer.Option("--contract", help="The contract in difficulty (ln_…).")],
    kind: Annotated[Kind, typer.Option("--kind", help="extension or re-amortisation.")],
    periods: Annotated[int, typer.Option("--periods", help="Months moved out, or periods added.")],
    staff: Annotated[str, typer.Option("--staff", help="The operator who proposes (username).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (1-500 characters).")],
    date_: DateOpt = None,
    as_json: database.JsonOption = False,
) -> None:
    """Propose a hardship plan (maker-checker) and print the plan it would offer; nothing is booked."""
    from lendcore.approvals.proposals import ProposeRequest, propose, staff_member
    from lendcore.servicing.hardship import plan_to_json, preview_plan

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        with database.open_session() as session:
            who = staff_member(session, staff, client_ip="cli")
            plan = plan_to_json(preview_plan(session, contract, kind.value, periods, on))
            payload = {"kind": kind.value, "periods": periods}
            proposal = propose(
                session, ProposeRequest("hardship-plan", contract, reason, payload), who, now=database.now()
            )
            return {"proposal_id": proposal.id, "contract_id": contract, "plan": plan}

    result = database.run(body)
    if as_json:
        database.echo_json(result)
        return
    typer.echo(f"proposed {result['proposal_id']} for {contract} (approve: lendcore approvals approve)")
    _print_plan(result["plan"])


@hardship_app.command("show")
def show_command(
    offer: Annotated[str | None, typer.Option("--offer", help="One offer (hso_…).")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Offers of a contract.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Offers of a customer.")] = None,
    as_json: database.JsonOption = False,
) -> None:
    """Hardship offers with their plans (status as of the open business date)."""
    from lendcore.servicing.hardship import get_offer, list_offers

    def body() -> list[dict[str, Any]]:
        if (offer, contract, customer).count(None) != 2:
            raise ValidationError(
                "name exactly one of --offer, --contract, --customer", code="INVALID_ARGUMENT"
            )
        on = database.business_date(None)
        with database.open_session(read_only=True) as session:
            _check_exists(session, contract, customer)
            if offer is not None:
                views = [get_offer(session, offer, on=on)]
            else:
                views = list_offers(session, on=on, customer_id=customer, contract_id=contract)
            return [v.to_json() for v in views]

    offers = database.run(body)
    if as_json:
        database.echo_json(offers)
        return
    for o in offers:
        typer.echo(
            f"{o['id']} {o['contract_id']} {o['status']} offered {o['offered_on']} expires {o['expires_on']}"
        )
        _print_plan(o["plan"])


def _check_exists(session: Session, contract: str | None, customer: str | None) -> None:
    from lendcore.store.models import Contract, Customer

    if contract is not None and session.get(Contract, contract) is None:
        raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
    if customer is not None and session.get(Customer, customer) is None:
        raise NotFoundError("no such customer", code="CUSTOMER_NOT_FOUND")


def _decide(
    offer: str, customer: str, date_: str | None, key: str | None, as_json: bool, *, accept: bool
) -> None:
    from lendcore.servicing.hardship import DecideOfferRequest, accept_offer, decline_offer

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        request = DecideOfferRequest(offer, customer, on, idempotency_key(key))
        decide = accept_offer if accept else decline_offer
        return database.in_session(lambda s: decide(s, request).to_json(), business_date=on)

    result = database.run(body)
    if as_json:
        database.echo_json(result)
        return
    tail = f", maturity now {result['maturity_date']}" if result["maturity_date"] else ""
    typer.echo(f"{result['offer_id']} {result['status']} on {result['decided_on']}{tail}")


@hardship_app.command("accept")
def accept_command(
    offer: OfferArg,
    customer: CustomerOpt,
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: database.JsonOption = False,
) -> None:
    """Accept an offer for the customer: the contract is re-planned."""
    _decide(offer, customer, date_, key, as_json, accept=True)


@hardship_app.command("decline")
def decline_command(
    offer: OfferArg,
    customer: CustomerOpt,
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: database.JsonOption = False,
) -> None:
    """Decline an offer for the customer: nothing changes."""
    _decide(offer, customer, date_, key, as_json, accept=False)
