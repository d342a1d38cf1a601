"""Servicing commands: ``line``, ``draw``, ``repay``, ``payoff``, ``payment reverse``, ``waive``,
``write-off``, ``loan show``, ``ledger trial-balance`` and ``eod run``, on the configured database
(``lendcore db url``).

Each command parses its flags, opens one unit of work, calls one use case and renders the result.
Amounts are yuan on input (``--amount 1234.56``) and shown as ``¥1,234.56``; ``--json`` amounts are
fen. The business date is the store's open business date (``--date``, if given, must be it: see
:mod:`lendcore.servicing.business_day`); ``eod run`` closes it, catching up earlier unclosed dates. Money-
moving commands take ``--key`` (an idempotency key; a fresh one is generated and printed if omitted):
repeating a command with the same key returns the first result and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lendcore.cli import database
from lendcore.cli.output import err_console, error_line, notice
from lendcore.core.allocation import CustomerMode
from lendcore.core.calendar import parse_date
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.ledger import TrialBalance
from lendcore.core.loan import WaiverKind
from lendcore.core.money import format_fen, parse_amount
from lendcore.core.rates import format_percent
from lendcore.core.replay_sampling import DEFAULT_REPLAY_SAMPLE, MAX_SAMPLE
from lendcore.core.schedule import MAX_PERIODS, Method

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

console = Console(highlight=False, width=max(130, Console().width))

line_app = typer.Typer(name="line", help="Credit lines (授信额度).", no_args_is_help=True)
loan_app = typer.Typer(name="loan", help="Contracts (借据).", no_args_is_help=True)
ledger_app = typer.Typer(name="ledger", help="The general ledger.", no_args_is_help=True)
eod_app = typer.Typer(name="eod", help="The end-of-day close (日终).", no_args_is_help=True)
commands.add_typer(line_app)
commands.add_typer(loan_app)
commands.add_typer(ledger_app)
commands.add_typer(eod_app)

DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Business date: must be the open business date (the default)."),
]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key (default: a new one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (amounts in fen).")]
#: Contracts per transaction of the daily close: enough for any batch, small enough for one transaction.
MAX_CHUNK_SIZE = 100_000


def _key(value: str | None) -> str:
    if value is not None:
        return value
    generated = f"cli-{uuid.uuid4().hex}"
    notice(f"idempotency key: {generated}")  # shown unless the request is refused
    return generated


def _yuan(text: str, flag: str = "--amount") -> int:
    return parse_amount(text, allow_zero=False) if text else _missing(flag)


def _missing(flag: str) -> int:
    raise ValidationError(f"{flag} is required", code="INVALID_ARGUMENT")


# --- line -------------------------------------------------------------------------------------------


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
        credit_limit = _yuan(limit, "--limit")

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


# --- draw -------------------------------------------------------------------------------------------


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
        fen = _yuan(amount)
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
                idempotency_key=_key(key),
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


# --- repay ------------------------------------------------------------------------------------------


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
        fen = _yuan(amount) if amount is not None else None
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
            idempotency_key=_key(key),
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


# --- staff actions ----------------------------------------------------------------------------------


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
        fen = _yuan(amount) if amount is not None else None
        request = WaiveRequest(
            contract_id=contract,
            kind=WaiverKind(kind),
            reason=reason,
            actor=actor,
            business_date=on,
            idempotency_key=_key(key),
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
            payment_id=payment, reason=reason, actor=actor, business_date=on, idempotency_key=_key(key)
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
            contract_id=contract, reason=reason, actor=actor, business_date=on, idempotency_key=_key(key)
        )
        result = database.in_session(lambda s: write_off(s, request).to_json(), business_date=on)
    if as_json:
        database.echo_json(result)
        return
    console.print(f"wrote off {format_fen(result['written_off'])} on {contract} (DPD {result['dpd']})")


# --- loan show ----------------------------------------------------------------------------------------


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


# --- ledger and eod -----------------------------------------------------------------------------------


def trial_balance_table(tb: TrialBalance) -> Table:
    """The trial balance as a table: every account that moved, then the totals."""
    table = Table(title="Trial balance", title_justify="left")
    for col in ("account", "title", "debits", "credits", "balance"):
        table.add_column(col, justify="left" if col in ("account", "title") else "right")
    for line in tb.lines:
        if line.debits or line.credits:
            table.add_row(
                line.account.value,
                line.account.label,
                format_fen(line.debits),
                format_fen(line.credits),
                format_fen(line.balance),
            )
    table.add_row("", "total", format_fen(tb.total_debits), format_fen(tb.total_credits), "")
    return table


@ledger_app.command("trial-balance")
def trial_balance_command(as_json: JsonOpt = False) -> None:
    """Debits and credits per account over the whole ledger; exit 1 when unbalanced."""
    from lendcore.servicing.invariants import trial_balance_from_db

    with database.errors():
        tb = database.in_session(trial_balance_from_db, read_only=True)
    if as_json:
        database.echo_json(tb.to_dict())
    else:
        console.print(trial_balance_table(tb))
        console.print("[green]balanced[/]" if tb.balanced else "[red]NOT BALANCED[/]")
    if not tb.balanced:
        raise typer.Exit(1)


def replay_line(invariants: dict[str, Any]) -> str:
    """What the close's replay check covered: every contract, a sample (its seed) or nothing."""
    if invariants.get("replay_checked"):
        return "replay: every contract replayed"
    seed = invariants.get("replay_sample_seed")
    if seed is None:
        return "replay sample: off"
    return f"replay sample: {invariants.get('replay_sampled', 0)} active contract(s) replayed, seed {seed}"


@eod_app.command("run")
def eod_run(
    date_: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Close every unclosed business date up to this one, in order (default: the open one).",
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(help="Contracts per transaction.", min=1, max=MAX_CHUNK_SIZE)
    ] = 500,
    verify_replay: Annotated[bool, typer.Option(help="Also replay every contract (slow).")] = False,
    replay_sample: Annotated[
        int,
        typer.Option(
            help="Active contracts replayed against their snapshots after the check (0: none).",
            min=0,
            max=MAX_SAMPLE,
        ),
    ] = DEFAULT_REPLAY_SAMPLE,
    as_json: JsonOpt = False,
    engine: Annotated[
        str,
        typer.Option(
            help="aggregate (quiet contracts in aggregate, events folded) or per-contract (all folded)."
        ),
    ] = "",
    partition: Annotated[
        int,
        typer.Option(help="Contracts per partition of the aggregate step.", min=1, max=MAX_CHUNK_SIZE * 10),
    ] = 10_000,
    workers: Annotated[int, typer.Option(help="Worker processes for the partitions.", min=1, max=64)] = 1,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = False,
) -> None:
    """Run the end-of-day close: the open business date, and any unclosed date before --date, one
    date at a time (idempotent: a closed date is not closed again)."""
    from lendcore.batch.close import DEFAULT_ENGINE, CloseOptions, close_business_days
    from lendcore.cli.close_progress import close_progress

    with database.errors(), close_progress(progress and not as_json) as bar:
        on = database.close_date(date_)
        options = CloseOptions(
            engine=engine or DEFAULT_ENGINE,
            chunk_size=chunk_size,
            partition=partition,
            workers=workers,
            verify_replay=verify_replay,
            replay_sample=replay_sample,
            progress=bar,
        )
        reports = close_business_days(database.session_factory(), on, options=options)
    report = reports[-1]
    if as_json:
        database.echo_json(
            report.to_dict()
            | {
                "closed": [
                    {k: r.to_dict()[k] for k in ("business_date", "status", "contracts", "interest_accrued",
                                                 "penalty_accrued", "overdue")}
                    for r in reports
                ]
            }
        )  # fmt: skip
    elif report.status == "skipped":
        console.print(
            f"{report.business_date} is already closed: nothing to do"
            + (
                f" (the open business date is {report.open_business_date})"
                if report.open_business_date
                else ""
            )
        )
    else:
        if len(reports) > 1:
            caught_up = reports[:-1]
            console.print(
                f"caught up {len(caught_up)} unclosed day(s) {caught_up[0].business_date} … "
                f"{caught_up[-1].business_date}, one close each: interest "
                f"{format_fen(sum(r.interest_accrued for r in caught_up))}, penalty "
                f"{format_fen(sum(r.penalty_accrued for r in caught_up))}"
            )
        d = report.to_dict()
        console.print(
            f"close of {report.business_date}: {report.status}; {report.contracts} contract(s) in "
            f"{report.chunks} chunk(s), interest {format_fen(report.interest_accrued)}, penalty "
            f"{format_fen(report.penalty_accrued)}, overdue {report.overdue} {report.buckets}; "
            f"{report.seconds:.3f} s ({d['contracts_per_second']} contracts/s)"
        )
        console.print(
            f"engine {report.engine}: {report.quiet_contracts} quiet contract(s) in aggregate, "
            f"{report.partitions} partition(s); seconds per step {report.steps}"
        )
        console.print(f"invariants: {'ok' if report.invariants.get('ok') else report.invariants}")
        console.print(replay_line(report.invariants))
        if report.open_business_date:
            console.print(f"open business date: {report.open_business_date}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
