"""``lendcore reports``: the back office's credit reports as CSV files.

* ``vintage``: 30+ and 90+ DPD by origination month at every month on book
  (:func:`lendcore.queries.performance.vintage_curves`);
* ``roll-rates``: bucket-to-next-bucket roll rates between consecutive month ends
  (:func:`lendcore.queries.performance.roll_rates`);
* ``month-end``: the portfolio by five-level class at the last month end on or before ``--as-of``
  (:func:`lendcore.queries.month_end.month_end_portfolio`).

Each file has a header row; amounts are integer fen (columns ending ``_fen``), rates are decimal
fractions (``0.1250`` = 12.50 %). ``--as-of`` may not be after the open business date (what is not
yet booked cannot be reported). The database is only read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

reports_app = typer.Typer(
    name="reports", help="Credit reports (vintage, roll rates, month end) as CSV.", no_args_is_help=True
)
commands.add_typer(reports_app)

AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Report date (default: the open business date).")
]
OutOpt = Annotated[Path, typer.Option("--out", help="The CSV file to write.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary.")]

VINTAGE_HEADER = (
    "vintage", "month_on_book", "month_end", "contracts", "originated_principal_fen",
    "thirty_plus_contracts", "thirty_plus_principal_fen", "thirty_plus_rate",
    "ninety_plus_contracts", "ninety_plus_principal_fen", "ninety_plus_rate",
)  # fmt: skip
ROLL_HEADER = (
    "from_month_end", "to_month_end", "from_bucket", "to_bucket", "contracts", "rolled_contracts",
    "principal_fen", "rolled_principal_fen", "rate",
)  # fmt: skip
MONTH_END_HEADER = (
    "month_end", "class", "class_zh", "contracts", "principal_outstanding_fen", "overdue_fen",
    "restructured_contracts",
)  # fmt: skip


def _as_of(session: Session, text: str | None) -> date:
    from lendcore.core.calendar import parse_date
    from lendcore.servicing.business_day import check_business_date, open_business_date

    today = database.today()
    open_date = open_business_date(session) or today
    on = parse_date(text, what="--as-of") if text is not None else open_date
    check_business_date(on, today=today)
    if on > open_date:
        raise ValidationError(
            f"--as-of {on} is after the open business date {open_date}: not booked yet",
            code="AS_OF_AFTER_BUSINESS_DATE",
        )
    return on


def _vintage_rows(session: Session, on: date) -> list[tuple[Any, ...]]:
    from lendcore.queries.performance import vintage_curves

    return [
        (p.vintage, p.month_on_book, p.month_end, p.contracts, p.originated_principal,
         p.thirty_plus_contracts, p.thirty_plus_principal, p.thirty_plus_rate,
         p.ninety_plus_contracts, p.ninety_plus_principal, p.ninety_plus_rate)
        for p in vintage_curves(session, as_of=on)
    ]  # fmt: skip


def _roll_rows(session: Session, on: date) -> list[tuple[Any, ...]]:
    from lendcore.queries.performance import roll_rates

    return [
        (r.from_month_end, r.to_month_end, r.from_bucket.value, r.to_bucket.value, r.contracts,
         r.rolled_contracts, r.principal, r.rolled_principal, r.rate)
        for r in roll_rates(session, as_of=on)
    ]  # fmt: skip


def _month_end_rows(session: Session, on: date) -> list[tuple[Any, ...]]:
    from lendcore.queries.month_end import month_end_portfolio
    from lendcore.servicing.repository import CLASS_SLUGS

    return [
        (c.month_end, CLASS_SLUGS[c.loan_class], c.loan_class.value, c.contracts, c.principal_outstanding,
         c.overdue, c.restructured_contracts)
        for c in month_end_portfolio(session, as_of=on)
    ]  # fmt: skip


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[v.isoformat() if isinstance(v, date) else v for v in row] for row in rows])
    return buffer.getvalue()


def _write(
    name: str, header: Sequence[str], rows_of: Callable[[Session, date], list[tuple[Any, ...]]],
    as_of: str | None, out: Path, as_json: bool,
) -> None:  # fmt: skip
    def body() -> dict[str, Any]:
        with database.open_session(read_only=True) as session:
            on = _as_of(session, as_of)
            rows = rows_of(session, on)
        try:
            out.write_text(csv_text(header, rows), encoding="utf-8")
        except OSError as error:
            raise ValidationError(
                f"cannot write {out}: {error.strerror}", code="OUTPUT_NOT_WRITABLE"
            ) from None
        return {"report": name, "as_of": on.isoformat(), "rows": len(rows), "file": str(out)}

    result = database.run(body)
    if as_json:
        database.echo_json(result)
    else:
        typer.echo(f"{name} as of {result['as_of']}: {result['rows']} rows -> {result['file']}")


@reports_app.command("vintage")
def vintage_command(out: OutOpt, as_of: AsOfOpt = None, as_json: JsonOpt = False) -> None:
    """Vintage curves: 30+ and 90+ DPD by origination month."""
    _write("vintage", VINTAGE_HEADER, _vintage_rows, as_of, out, as_json)


@reports_app.command("roll-rates")
def roll_rates_command(out: OutOpt, as_of: AsOfOpt = None, as_json: JsonOpt = False) -> None:
    """Roll rates between buckets (M0→M1, M1→M2, …) over consecutive month ends."""
    _write("roll-rates", ROLL_HEADER, _roll_rows, as_of, out, as_json)


@reports_app.command("month-end")
def month_end_command(out: OutOpt, as_of: AsOfOpt = None, as_json: JsonOpt = False) -> None:
    """The month-end portfolio by five-level class."""
    _write("month-end", MONTH_END_HEADER, _month_end_rows, as_of, out, as_json)
