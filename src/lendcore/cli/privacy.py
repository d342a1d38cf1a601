"""``lendcore privacy export|delete|retention``: a customer's data, their deletion request, the
retention job (docs/post-loan.md, "Privacy rights").

``export`` writes the customer's JSON document (personal data decrypted: it is handed to the customer)
and is audited with the staff member's id; ``delete`` records the customer's deletion request (refused
while a contract is open); ``retention`` erases what is past its retention period, as of ``--date``
(idempotent: run it daily or again for a date).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

privacy_app = typer.Typer(
    name="privacy", help="Privacy rights: export, deletion, retention.", no_args_is_help=True
)
commands.add_typer(privacy_app)

CustomerOption = Annotated[str, typer.Option("--customer", help="The customer (cus_…).")]
StaffOption = Annotated[str, typer.Option("--staff", help="The staff user who acts (username).")]


@privacy_app.command("export")
def export_command(
    customer: CustomerOption,
    out: Annotated[Path, typer.Option("--out", help="File to write the JSON document to.")],
    staff: StaffOption,
    date_: database.DateOption = None,
) -> None:
    """Write the customer's data (decrypted, for the customer) to --out; audited."""
    from lendcore.approvals.proposals import staff_member
    from lendcore.privacy.export import export_customer

    def body() -> dict[str, Any]:
        on = database.business_date(date_)
        if out.exists() and out.is_dir():
            raise ValidationError(f"--out {out} is a directory", code="OUTPUT_UNWRITABLE")

        def run(session: Any) -> dict[str, Any]:
            actor = staff_member(session, staff).subject
            document = export_customer(
                session, customer, database.pii_cipher(), actor=actor, channel="cli", on=on, at=database.now()
            )
            try:  # written inside the transaction: no audit record without the file, nor the reverse
                out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
            except OSError as error:
                raise ValidationError(
                    f"cannot write {out}: {error.strerror}", code="OUTPUT_UNWRITABLE"
                ) from None
            return document

        return database.in_session(run)

    document = database.run(body)
    typer.echo(f"exported {customer} to {out} (request {document['request_id']}, audited)")


@privacy_app.command("delete")
def delete_command(
    customer: CustomerOption,
    staff: StaffOption,
    reason: Annotated[
        str, typer.Option("--reason", help="The customer's request (reference, channel).")
    ] = "",
    date_: database.DateOption = None,
    json_out: database.JsonOption = False,
) -> None:
    """Record the customer's deletion request: erase what the law allows, restrict the rest."""
    from lendcore.approvals.proposals import staff_member
    from lendcore.privacy.deletion import DeletionRequest, request_deletion

    def body() -> dict[str, Any]:
        on = database.business_date(date_)

        def run(session: Any) -> dict[str, Any]:
            actor = staff_member(session, staff).subject
            request = DeletionRequest(customer, on, actor, reason)
            return request_deletion(session, request, at=database.now()).to_json()

        return database.in_session(run, business_date=on)

    result = database.run(body)
    if json_out:
        database.echo_json(result)
        return
    typer.echo(f"deletion {result['request_id']}: {customer} restricted from {result['restricted_on']}")
    typer.echo(f"  erased: {'; '.join(result['erased'])}")
    typer.echo(f"  kept until {result['keep_until']}: {'; '.join(result['kept'])}")


@privacy_app.command("retention")
def retention_command(
    date_: Annotated[str, typer.Option("--date", help="Erase what is past its period on this date.")],
    identity_years: Annotated[
        int, typer.Option("--identity-years", min=0, max=100, help="Identity records kept (AML: 10).")
    ] = 10,
    declined_application_years: Annotated[
        int,
        typer.Option(
            "--declined-application-years", min=0, max=100, help="Answers of declined applications."
        ),
    ] = 3,
    json_out: database.JsonOption = False,
) -> None:
    """Erase what is past its retention period on --date (idempotent)."""
    from lendcore.core.calendar import parse_date
    from lendcore.privacy.policy import RetentionPolicy
    from lendcore.privacy.retention import run_retention

    def body() -> dict[str, Any]:
        on = parse_date(date_, what="--date")
        if on > database.today():
            raise ValidationError(f"--date {on} is after today", code="BUSINESS_DATE_IN_FUTURE")
        policy = RetentionPolicy(identity_years, declined_application_years)
        cipher = database.pii_cipher()
        return database.in_session(
            lambda s: run_retention(s, on, cipher, at=database.now(), policy=policy).to_json()
        )

    result = database.run(body)
    if json_out:
        database.echo_json(result)
        return
    typer.echo(
        f"retention {result['on']}: {len(result['identities_erased'])} identities erased, "
        f"{len(result['applications_erased'])} declined applications erased"
    )
