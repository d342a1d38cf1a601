"""``lendcore bench``: tools for the performance figures in docs/performance.md.

``lendcore bench seed --contracts N`` builds a synthetic book of N contracts in the configured
database, which must hold no contracts yet (:mod:`lendcore.batch.seed`): the shipped products at
different ages, some overdue, some paid ahead, written with COPY (PostgreSQL) or executemany (SQLite).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.output import err_console

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

bench_app = typer.Typer(
    name="bench", help="Benchmark tools: a synthetic book at scale.", no_args_is_help=True
)
commands.add_typer(bench_app)

#: Upper bound of --contracts (the seed's own limit is larger; this keeps typos from filling a disk).
MAX_SEED_CONTRACTS = 100_000_000


@bench_app.command("seed")
def seed_command(
    contracts: Annotated[
        int, typer.Option("--contracts", min=1, max=MAX_SEED_CONTRACTS, help="Contracts in the book.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the book is as of (YYYY-MM-DD; default 2026-06-01).")
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=1_000_000, help="Contracts written per transaction.")
    ] = 5_000,
    json_out: database.JsonOption = False,
) -> None:
    """Build a synthetic book of --contracts contracts in an empty database."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from lendcore.batch.seed import DEFAULT_AS_OF, require_empty_book, seed_book
    from lendcore.core.calendar import parse_date

    def body() -> dict[str, Any]:
        day = parse_date(as_of, what="--as-of") if as_of is not None else DEFAULT_AS_OF
        database.in_session(require_empty_book, read_only=True)  # refused before the progress bar draws
        factory = database.session_factory()
        columns = (
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err_console, disable=json_out, transient=True) as bar:
            task = bar.add_task("seeding", total=contracts)
            report = seed_book(
                factory,
                contracts,
                as_of=day,
                batch=batch,
                progress=lambda done: bar.update(task, completed=done),
            )
        return report.to_json()

    result = database.run(body)
    if json_out:
        database.echo_json(result)
    else:
        typer.echo(
            f"seeded {result['contracts']} contracts ({result['rows']} rows) as of {result['as_of']} in "
            f"{result['seconds']} s: {result['contracts_per_second']} contracts/s"
        )
