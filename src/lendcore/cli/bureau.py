"""``lendcore bureau batch``: build the bureau (征信) batch of a business day and write its XML message
file; with ``--store`` the records are stored (once per batch date) with what they were built from.
Without ``--store`` nothing is written to the database, so the batch of any past date can be rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lendcore.cli import database

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

bureau_app = typer.Typer(name="bureau", help="Credit bureau (征信) reporting.", no_args_is_help=True)
commands.add_typer(bureau_app)


@bureau_app.command("batch")
def batch_command(
    date_: Annotated[str, typer.Option("--date", help="The batch's business day (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the XML message file.")],
    store: Annotated[bool, typer.Option("--store", help="Store the records (once per batch date).")] = False,
    json_out: database.JsonOption = False,
) -> None:
    """Build the batch of a business day and write its message file."""
    from lendcore.bureau.batch import build_batch, store_batch
    from lendcore.core.calendar import parse_date

    def body() -> dict[str, object]:
        on = parse_date(date_, what="--date")
        with database.open_session(read_only=not store) as session:
            batch = build_batch(session, on)
            data = batch.message()
            if store:
                store_batch(session, batch)
        out.write_bytes(data)
        return {
            "batch_date": on.isoformat(),
            "records": len(batch.records),
            "held": list(batch.held),
            "disputes": list(batch.disputes),
            "stored": store,
            "file": str(out),
        }

    result = database.run(body)
    if json_out:
        database.echo_json(result)
    else:
        typer.echo(f"bureau batch {result['batch_date']}: {result['records']} records -> {result['file']}")
