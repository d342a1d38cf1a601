"""``lendcore pii``: blind-index key rotation (``reindex`` moves stored hashes to the active key).

Rotate the blind-index key by putting a new key first in ``LENDCORE_PII_HMAC_KEYS`` (``h2:NEW,h1:OLD``;
lookups then use both), run ``lendcore pii reindex`` (batches, each committed: stop it and run it again
at will), and drop the old key once the report no longer lists it among the key ids in use.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lendcore.cli import database

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

pii_app = typer.Typer(name="pii", help="Personal-information keys: reindex.", no_args_is_help=True)
commands.add_typer(pii_app)


@pii_app.command("reindex")
def reindex_command(
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, max=100_000, help="Rows per transaction (each batch is committed)."
        ),
    ] = 500,
    as_json: database.JsonOption = False,
) -> None:
    """Re-hash every stored blind index whose value is stored with the active key (idempotent)."""
    from lendcore.origination.blind_index import reindex

    def body() -> dict[str, Any]:
        cipher = database.pii_cipher()
        report = reindex(database.session_factory(), cipher, batch_size=batch_size)
        return {
            "key_id": report.key_id,
            "moved": {
                "customers": report.customers,
                "cards": report.cards,
                "applications": report.applications,
                "blacklist_entries": report.blacklist_entries,
            },
            "kept": report.kept,
            "retired_key_ids": list(report.retired_key_ids),
            "key_ids_in_use": list(report.key_ids_in_use),
        }

    result = database.run(body)
    if as_json:
        database.echo_json(result)
        return
    moved = result["moved"]
    typer.echo(
        f"re-indexed with key {result['key_id']}: {moved['customers']} customers, {moved['cards']} cards, "
        f"{moved['applications']} applications, {moved['blacklist_entries']} blacklist entries"
    )
    for what, count in result["kept"].items():
        typer.echo(f"  kept on their key (value not stored): {count} {what}")
    if result["retired_key_ids"]:
        typer.echo(f"  no longer used, may leave the key ring: {', '.join(result['retired_key_ids'])}")
    typer.echo(f"key ids in use (keep them in LENDCORE_PII_HMAC_KEYS): {', '.join(result['key_ids_in_use'])}")
