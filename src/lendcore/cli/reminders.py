"""``lendcore reminders`` and ``lendcore repay-schedule``: reminders and scheduled repayments (预约还款).

* ``reminders run [--date]`` does what the scheduled ``reminders.run`` job does for the open business
  date, through the sink of ``LENDCORE_NOTIFY_SINK`` (default: the development sink, which logs);
  ``reminders undelivered`` lists the messages flagged as not delivered (failed or unconfirmed).
* ``repay-schedule book|cancel|list|take``: book a repayment for a later day (from 10 days before the
  due date, up to it), cancel it before its day, list a customer's, take today's (what the scheduled
  ``scheduled.take`` job does). ``repay`` itself stays the immediate repayment; a group of its own
  keeps every existing ``lendcore repay …`` invocation as it was.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.options import DateOpt, JsonOpt, KeyOpt, idempotency_key, yuan
from lendcore.core.calendar import parse_date
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.money import format_fen

commands = typer.Typer()

reminders_app = typer.Typer(
    name="reminders", help="Repayment reminders: run today's, list undelivered ones.", no_args_is_help=True
)
schedule_app = typer.Typer(
    name="repay-schedule",
    help="Scheduled repayment (预约还款): book, cancel, list, take today's.",
    no_args_is_help=True,
)
commands.add_typer(reminders_app)
commands.add_typer(schedule_app)

CustomerOpt = Annotated[str, typer.Option("--customer", help="The customer id (cus_…).")]


def _echo(data: Any, as_json: bool, line: str) -> None:
    if as_json:
        database.echo_json(data)
    else:
        typer.echo(line)


@reminders_app.command("run")
def run_command(date_: DateOpt = None, as_json: JsonOpt = False) -> None:
    """Send the business date's reminders (D-3, D-1, D0, after a miss), each once."""
    from lendcore.batch.reminders import run_reminders
    from lendcore.notify.jobs import sink_from_env

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        database.in_session(lambda _s: None, business_date=on)  # hold the open business date, as others
        return run_reminders(database.session_factory(), sink_from_env(), on, now=database.now()).to_json()

    data = database.run(body)
    _echo(data, as_json, f"{data['business_date']}: {data['queued']} queued, {data['sent']} sent")


@reminders_app.command("undelivered")
def undelivered_command(
    count: Annotated[int, typer.Option("--count", help="At most this many (1-1000).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Messages flagged as not delivered (failed, or never confirmed by their deadline), newest first."""
    from lendcore.notify.queries import undelivered

    def body() -> list[dict[str, Any]]:
        if not 1 <= count <= 1000:
            raise ValidationError("--count is 1-1000", code="INVALID_ARGUMENT")
        return database.in_session(lambda s: undelivered(s, limit=count), read_only=True)

    rows = database.run(body)
    lines = [f"{r['id']} {r['channel']} {r['state']} {r['customer_id']} {r['template']}" for r in rows]
    _echo(rows, as_json, "\n".join(lines) or "no undelivered messages")


def _line(data: dict[str, Any]) -> str:
    return (
        f"{data['id']} {data['status']}: {format_fen(data['amount'])} on {data['take_on']} "
        f"for installment {data['period']} due {data['due_date']} of {data['contract_id']}"
    )


@schedule_app.command("book")
def book_command(
    customer: CustomerOpt,
    contract: Annotated[str, typer.Option("--contract", help="The contract id (ln_…).")],
    take_on: Annotated[str, typer.Option("--take-on", help="The day the money is taken (YYYY-MM-DD).")],
    amount: Annotated[str | None, typer.Option(help="Amount in yuan (default: what will be due).")] = None,
    date_: DateOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Book a repayment for a later day up to the due date (from 10 days before it)."""
    from lendcore.servicing.scheduled import ScheduleRepaymentRequest, book_scheduled

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        request = ScheduleRepaymentRequest(
            customer_id=customer, contract_id=contract, take_on=parse_date(take_on, what="--take-on"),
            business_date=on, idempotency_key=idempotency_key(key),
            amount=yuan(amount) if amount is not None else None,
        )  # fmt: skip
        return database.in_session(lambda s: book_scheduled(s, request).to_json(), business_date=on)

    data = database.run(body)
    _echo(data, as_json, _line(data))


@schedule_app.command("cancel")
def cancel_command(
    scheduled: Annotated[str, typer.Argument(help="The scheduled repayment id (srp_…).")],
    customer: CustomerOpt,
    date_: DateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a booked repayment before its day."""
    from lendcore.servicing.scheduled import cancel_scheduled

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        return database.in_session(
            lambda s: cancel_scheduled(
                s, scheduled, customer_id=customer, business_date=on, actor=customer
            ).to_json(),
            business_date=on,
        )

    data = database.run(body)
    _echo(data, as_json, _line(data))


@schedule_app.command("list")
def list_command(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """A customer's scheduled repayments."""
    from lendcore.servicing.scheduled import list_scheduled
    from lendcore.store.models import Customer

    def listed(session: Any) -> list[dict[str, Any]]:
        if session.get(Customer, customer) is None:
            raise NotFoundError(f"customer {customer} not found", code="CUSTOMER_NOT_FOUND")
        return [v.to_json() for v in list_scheduled(session, customer)]

    rows = database.run(lambda: database.in_session(listed, read_only=True))
    _echo(rows, as_json, "\n".join(_line(r) for r in rows) or "no scheduled repayments")


@schedule_app.command("take")
def take_command(date_: DateOpt = None, as_json: JsonOpt = False) -> None:
    """Take the repayments booked for the business date (the scheduled job does this)."""
    from lendcore.servicing.scheduled import take_scheduled

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        return database.in_session(
            lambda s: take_scheduled(s, on, now=database.now()).to_json(), business_date=on
        )

    data = database.run(body)
    _echo(data, as_json, f"{data['business_date']}: {len(data['taken'])} taken, {len(data['failed'])} failed")


@commands.command("notify-sim")
def notify_sim(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8766,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1, help="Seed of every fate.")] = 0,
    failed: Annotated[float, typer.Option("--failed", help="Probability a message fails (0-1).")] = 0.05,
    unconfirmed: Annotated[
        float, typer.Option("--unconfirmed", help="Probability it is never confirmed (0-1).")
    ] = 0.05,
    lost_receipt: Annotated[
        float, typer.Option("--lost-receipt", help="Probability a delivery's receipt is lost (0-1).")
    ] = 0.1,
    receipt_after: Annotated[
        float, typer.Option("--receipt-after", min=0.0, max=86400.0, help="Seconds to the receipt.")
    ] = 5.0,
) -> None:
    """Run the SMS / push provider simulator (seeded receipts) on loopback until interrupted."""
    from datetime import timedelta

    from lendcore.notify.simulated import SimulatedProvider

    def prepare() -> SimulatedProvider:
        try:
            return SimulatedProvider(
                seed=seed, failed=failed, unconfirmed=unconfirmed, lost_receipt=lost_receipt,
                receipt_after=timedelta(seconds=receipt_after),
            )  # fmt: skip
        except ValueError as error:
            raise ValidationError(str(error), code="NOTIFY_SIM_INVALID") from None

    provider = database.run(prepare)
    import uvicorn

    from lendcore.notify.http import provider_app

    typer.echo(f"notification provider simulator on http://{host}:{port} (seed {seed})")
    uvicorn.run(
        provider_app(provider), host=host, port=port, log_level="warning", timeout_graceful_shutdown=1
    )
