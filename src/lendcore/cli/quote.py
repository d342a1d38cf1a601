"""``lendcore products`` and ``lendcore quote``: the catalog, and a schedule with its APR.

A quote comes either from a product of the catalog (``--product quick --grade B``: rate, day count,
rounding … from the product) or from explicit terms (``--daily-rate 0.0005`` / ``--monthly-rate`` /
``--annual-rate`` plus ``--interest-rule``, ``--day-count`` …), so that users can check lendcore against
the system they run today. Explicit flags given with ``--product`` override the product's values.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from lendcore.cli.output import fail
from lendcore.cli.quote_terms import build_quote_terms, choice
from lendcore.core.apr import AprMethod
from lendcore.core.calendar import parse_date
from lendcore.core.errors import LendcoreError
from lendcore.core.money import MAX_AMOUNT, Rounding, format_fen
from lendcore.core.rates import DayCountBasis, format_percent
from lendcore.core.schedule import (
    MAX_PERIODS,
    InterestRule,
    LevelPayment,
    Method,
    Schedule,
    build_schedule,
)
from lendcore.products.catalog import Product, default_catalog
from lendcore.queries.quotes import quote_document

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

_BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class QuoteRounding(StrEnum):
    """The rounding modes a schedule's interest may use (the others are for internal conversions)."""

    HALF_UP = Rounding.HALF_UP.value
    HALF_EVEN = Rounding.HALF_EVEN.value


@commands.command("products")
def products_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the products of the catalog."""
    try:
        catalog = default_catalog()
    except LendcoreError as error:
        raise fail(error) from None
    if as_json:
        rows = [
            {
                "code": p.code,
                "name": p.name,
                "name_en": p.name_en,
                "revolving": p.revolving,
                "disbursement_target": p.disbursement_target.value,
                "min_amount": p.min_amount,
                "max_amount": p.max_amount,
                "terms": list(p.terms),
                "methods": [m.value for m in p.methods],
                "grades": list(p.pricing.grades),
                "daily_rate_min": str(min(p.daily_rate(t, g) for t in p.terms for g in p.pricing.grades)),
                "daily_rate_max": str(max(p.daily_rate(t, g) for t in p.terms for g in p.pricing.grades)),
                "interest_rule": p.interest_rule.value,
                "day_count": p.day_count.value,
                "penalty_multiplier": str(p.penalty.multiplier),
                "grace_days": p.penalty.grace_days,
                "prepayment_fee_rate": str(p.prepayment_fee_rate),
                "disclosed_apr": p.disclosed_apr.value,
                "cost_cap": str(p.cost_cap),
            }
            for p in catalog
        ]
        typer.echo(json.dumps({"products": rows}, ensure_ascii=False, indent=2))
        return
    table = Table(title="lendcore products")
    for column in ("code", "name", "amount", "terms (months)", "methods", "daily rate", "penalty", "grace"):
        table.add_column(column)
    for p in catalog:
        rates = [p.daily_rate(t, g) for t in p.terms for g in p.pricing.grades]
        rate_text = (
            "fee plans"
            if max(rates) == 0
            else f"{format_percent(min(rates), 3)}–{format_percent(max(rates), 3)}"
        )
        table.add_row(
            p.code,
            f"{p.name} ({p.name_en})",
            f"{format_fen(p.min_amount)}–{format_fen(p.max_amount)}",
            ", ".join(map(str, p.terms)),
            ", ".join(m.value for m in p.methods),
            rate_text,
            f"{p.penalty.multiplier}×",
            f"{p.penalty.grace_days} d",
        )
    _wide_console().print(table)


def _wide_console() -> Console:
    """A console at least 130 columns wide, so tables are not truncated when output is piped."""
    return Console(width=max(Console().width, 130))


def _render(doc: dict[str, Any], schedule: Schedule, product: Product | None) -> None:
    title = f"{product.name} ({product.code})" if product else "quote"
    rate = doc["rate"]
    table = Table(
        title=f"{title}: {format_fen(doc['principal'])}, {doc['term']} months, {doc['method']}, "
        f"{rate['unit']} rate {rate['value']}"
    )
    for column in ("#", "start", "due", "days", "principal", "interest", "fee", "total", "remaining"):
        table.add_column(column, justify="right")
    for i in schedule.installments:
        table.add_row(
            str(i.period),
            i.start_date.isoformat(),
            i.due_date.isoformat(),
            str(i.days),
            format_fen(i.principal),
            format_fen(i.interest),
            format_fen(i.fee),
            format_fen(i.total),
            format_fen(i.remaining_principal),
        )
    table.add_section()
    table.add_row(
        "Σ",
        "",
        "",
        str(sum(i.days for i in schedule.installments)),
        format_fen(schedule.total_principal),
        format_fen(schedule.total_interest),
        format_fen(schedule.total_fee),
        format_fen(schedule.total),
        "",
    )
    console = _wide_console()
    console.print(table)
    console.print(
        f"APR ({doc['apr_method']}, IRR method): {format_percent(Decimal(doc['apr']))}   "
        f"[nominal IRR {format_percent(Decimal(doc['apr_nominal_irr']))}, "
        f"effective XIRR {format_percent(Decimal(doc['apr_effective_xirr']))}]",
        highlight=False,
        markup=False,
    )


@commands.command("quote")
def quote_command(
    amount: Annotated[str, typer.Option("--amount", help='Amount in yuan, e.g. "10000" or "¥1,234.56".')],
    term: Annotated[
        int,
        typer.Option(
            "--term",
            help="Number of monthly periods (months to maturity for bullet).",
            min=1,
            max=MAX_PERIODS,
        ),
    ],
    product: Annotated[
        str | None, typer.Option("--product", help="Product code (see `lendcore products`).")
    ] = None,
    method: Annotated[
        Method | None, typer.Option("--method", help="Repayment method (default: the product's).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Disbursement date (default: today, Beijing).")
    ] = None,
    first_due: Annotated[
        str | None, typer.Option("--first-due", help="First due date (irregular first period).")
    ] = None,
    grade: Annotated[
        str | None, typer.Option("--grade", help="Risk grade for the product's pricing table.")
    ] = None,
    daily_rate: Annotated[
        str | None, typer.Option("--daily-rate", help='Exact daily rate, "0.0005" or "0.05%".')
    ] = None,
    monthly_rate: Annotated[str | None, typer.Option("--monthly-rate", help="Nominal monthly rate.")] = None,
    annual_rate: Annotated[
        str | None, typer.Option("--annual-rate", help="Nominal annual rate (not the APR).")
    ] = None,
    interest_rule: Annotated[
        InterestRule | None, typer.Option("--interest-rule", help="How a period's interest is computed.")
    ] = None,
    day_count: Annotated[
        DayCountBasis | None, typer.Option("--day-count", help="Days in a year for annual rates.")
    ] = None,
    rounding: Annotated[
        QuoteRounding | None, typer.Option("--rounding", help="How interest is rounded to the fen.")
    ] = None,
    installment_multiple: Annotated[
        int | None,
        typer.Option(
            "--installment-multiple",
            help="Round the level amount to this many fen (100 = yuan).",
            min=1,
            max=MAX_AMOUNT,
        ),
    ] = None,
    fee_rate: Annotated[
        str | None, typer.Option("--fee-rate", help="flat-fee: fee per period as a fraction of principal.")
    ] = None,
    grace_periods: Annotated[
        int | None,
        typer.Option("--grace-periods", help="Leading interest-only periods.", min=0, max=MAX_PERIODS - 1),
    ] = None,
    level_payment: Annotated[
        LevelPayment | None,
        typer.Option(
            "--level-payment",
            help="equal-installment: exact (over the actual period rates) | thirty-day"
            " (Apache Fineract: a 30-day month's rate) | nominal (the nominal monthly rate).",
        ),
    ] = None,
    business_day_roll: Annotated[
        bool,
        typer.Option(
            "--business-day-roll", help="Move due dates on Chinese holidays to the next working day."
        ),
    ] = False,
    apr_method: Annotated[
        AprMethod | None, typer.Option("--apr-method", help="APR disclosed (default: the product's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print a repayment schedule with totals and APR (IRR method)."""
    try:
        start_date = parse_date(start, what="--start") if start else datetime.now(_BUSINESS_TZ).date()
        terms, chosen_product = build_quote_terms(
            product_code=product,
            amount=amount,
            term=term,
            method=method,
            start=start_date,
            first_due=first_due,
            grade=grade,
            daily_rate=daily_rate,
            monthly_rate=monthly_rate,
            annual_rate=annual_rate,
            interest_rule=interest_rule,
            day_count=day_count,
            rounding=rounding,
            installment_multiple=installment_multiple,
            fee_rate=fee_rate,
            grace_periods=grace_periods,
            level_payment=level_payment,
            business_day_roll=business_day_roll,
        )
        if apr_method is not None:
            method_for_apr: AprMethod = choice(AprMethod, apr_method, "--apr-method")
        else:
            method_for_apr = chosen_product.disclosed_apr if chosen_product else AprMethod.NOMINAL_IRR
        schedule = build_schedule(terms)
        doc = quote_document(terms, schedule, method_for_apr, chosen_product)
    except LendcoreError as error:
        raise fail(error) from None
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        _render(doc, schedule, chosen_product)
