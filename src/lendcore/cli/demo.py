"""``lendcore demo``: the end-to-end story on a fresh database (see :mod:`lendcore.cli.demo_story`):
``--database``, else ``LENDCORE_DATABASE_URL``, else ``.lendcore/demo.db`` (replaced on every run).

After the story, the API serves that database on http://127.0.0.1:8000 (``lendcore serve``; the docs
page is printed) until Ctrl-C, unless ``--no-serve`` is given or ``CI`` is set (CI never blocks on it).

The story is imported only when the command runs, so ``lendcore --help`` does not load the store.
"""

from __future__ import annotations

import os
from typing import Annotated, Final

import typer

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

DEMO_HOST: Final = "127.0.0.1"
DEMO_PORT: Final = 8000


#: Staff users the served demo gets (two, so that maker-checker can be tried: one proposes, one approves).
DEMO_STAFF: Final = (("demo.operator", "operator"), ("demo.finance", "finance"))


def _demo_staff(url: str) -> list[tuple[str, str]]:
    """Create the demo's staff users with fresh random passwords; (username, password) each."""
    import secrets

    from lendcore.auth.staff import create_staff_user
    from lendcore.store.engine import create_engine, create_session_factory, unit_of_work

    engine = create_engine(url)
    created = []
    try:
        with unit_of_work(create_session_factory(engine)) as session:
            for username, role in DEMO_STAFF:
                password = secrets.token_urlsafe(12)
                create_staff_user(session, username=username, password=password, roles=[role], actor="demo")
                created.append((username, password))
    finally:
        engine.dispose()
    return created


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@commands.command("demo")
def demo_command(
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Database URL (default: LENDCORE_DATABASE_URL, else .lendcore/demo.db, replaced on "
            "every run). It must be fresh.",
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="After the story, serve the API on it at http://127.0.0.1:8000 (never when CI is set).",
        ),
    ] = True,
) -> None:
    """Customers apply, borrow, repay early, go overdue and are cured; the books balance at the end."""
    from lendcore.cli import demo_story
    from lendcore.cli.database import errors
    from lendcore.cli.output import err_console

    with errors():  # a bad URL, a missing directory, an unreachable server: one line
        url = demo_story.demo_database_url(database)
        ok = demo_story.run(url)
    if not ok:
        raise typer.Exit(1)
    if not serve or _in_ci():
        return
    from lendcore.cli.serve import serve_command

    os.environ["LENDCORE_DATABASE_URL"] = url  # what `lendcore serve` serves
    base = f"http://{DEMO_HOST}:{DEMO_PORT}"
    staff = _demo_staff(url)
    err_console.print(
        f"serving the demo's database until Ctrl-C:\n"
        f"  customer app  {base}/app     sign in as 李伟, phone 13812345678; the one-time code is\n"
        f"                               printed in this log (development sink)\n"
        f"  back office   {base}/office  "
        + ", ".join(f"{name} / {password}" for name, password in staff)
        + f"\n  API docs      {base}/docs",
        markup=False,
    )
    serve_command(host=DEMO_HOST, port=DEMO_PORT, workers=1, migrate=False)
