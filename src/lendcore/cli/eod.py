"""``lendcore eod run``: the end-of-day close (日终) of the open business date, catching up earlier
unclosed dates one at a time (idempotent: a closed date is not closed again).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.cli.options import JsonOpt
from lendcore.cli.output import console
from lendcore.core.money import format_fen
from lendcore.core.replay_sampling import DEFAULT_REPLAY_SAMPLE, MAX_SAMPLE

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

eod_app = typer.Typer(name="eod", help="The end-of-day close (日终).", no_args_is_help=True)
commands.add_typer(eod_app)

#: Contracts per transaction of the daily close: enough for any batch, small enough for one transaction.
MAX_CHUNK_SIZE = 100_000


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
