"""``lendcore serve``: the HTTP API under uvicorn, on the configured database.

The database is ``LENDCORE_DATABASE_URL`` or the embedded SQLite file; ``--migrate`` (the default)
brings its schema to this version's head before serving, ``--no-migrate`` leaves it (``/readyz``
answers 503 until it is at head). Keys and settings come from the environment (``LENDCORE_PII_*``,
``LENDCORE_JWT_SECRET``, ``LENDCORE_API_*``, see docs/api.md); without them development keys are used
and a notice says so. Logs are JSON lines on stderr. Rate limits, metrics and stored idempotent
responses are per process except the last (in the database): see docs/api.md before ``--workers`` > 1.
"""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from lendcore.cli import database
from lendcore.cli.output import err_console

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()


@commands.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Migrate the database to this version first.")
    ] = True,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs, health at /healthz and /readyz, metrics at /metrics)."""
    import uvicorn

    from lendcore.api.logs import uvicorn_log_config
    from lendcore.api.settings import ApiSettings
    from lendcore.security.pii import PiiCipher
    from lendcore.store.migrate import current_revision, upgrade_database
    from lendcore.store.settings import database_url, mask_url

    def prepare() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            ApiSettings.from_env()  # refuses a bad configuration before anything starts
            PiiCipher.from_env()
        url = database_url()
        if migrate:
            upgrade_database(url)
        lines = [
            f"notice: {str(w.message).split(':')[0]}; using the insecure development key" for w in caught
        ]
        lines.append(f"serving {mask_url(url)} (revision {current_revision(url)}) on http://{host}:{port}")
        return lines

    for line in database.run(prepare):
        err_console.print(line, markup=False)
    uvicorn.run(
        "lendcore.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(),
        access_log=False,
        server_header=False,
    )
