"""``lendcore admin``: staff users of the HTTP API (``create-user`` bootstraps the first administrator).

The password comes from the first line of standard input with ``--password-stdin`` (so it is in no
shell history or process list), or is generated and printed once. Roles: viewer, operator, risk,
finance, admin (``--role`` repeated for several).
"""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer

from lendcore.auth.principal import StaffRole
from lendcore.cli import database

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

admin_app = typer.Typer(name="admin", help="Staff users of the HTTP API.", no_args_is_help=True)
commands.add_typer(admin_app)


@admin_app.command("create-user")
def create_user(
    username: Annotated[
        str, typer.Option("--username", help="3-64 characters: a-z 0-9 . _ - (lower-cased).")
    ],
    role: Annotated[
        list[StaffRole],
        typer.Option("--role", help="viewer, operator, risk, finance or admin; repeat for several."),
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password (at least 12 characters) from standard input."
        ),
    ] = False,
    as_json: database.JsonOption = False,
) -> None:
    """Create an active staff user (audited as staff_user.created)."""
    from lendcore.auth.staff import create_staff_user

    generated = not password_stdin
    password = secrets.token_urlsafe(18) if generated else sys.stdin.readline().rstrip("\r\n")

    def body() -> dict[str, object]:
        with database.open_session() as session:
            user = create_staff_user(
                session, username=username, password=password, roles=role, actor="cli:admin"
            )
            return {"id": user.id, "username": user.username, "roles": list(user.roles)}

    created = database.run(body)
    if generated:
        created["password"] = password
    if as_json:
        database.echo_json(created)
        return
    typer.echo(f"created staff user {created['id']} {created['username']} ({', '.join(created['roles'])})")  # type: ignore[arg-type]
    if generated:
        typer.echo(f"password (shown once): {password}")
