"""``lendcore worker`` and ``lendcore jobs``: the background-job worker and its dead letters.

``lendcore worker`` ticks the scheduler (each scheduled instant becomes one job) and runs due jobs
with ``--concurrency`` threads until stopped (SIGINT / SIGTERM: the jobs in hand finish first), or,
with ``--once``, until no job is due. The payment channel is ``LENDCORE_CHANNEL_URL`` (for instance
``lendcore channel-sim``'s address); without it payment jobs wait and the sweeper only raises
payments past their SLA.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated, Any

import typer

from lendcore.cli import database

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

jobs_app = typer.Typer(name="jobs", help="Background jobs: list them, retry dead ones.", no_args_is_help=True)
commands.add_typer(jobs_app)

MAX_CONCURRENCY = 64


@commands.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Run the due jobs, then exit.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=MAX_CONCURRENCY, help="Jobs run at the same time.")
    ] = 1,
    json_out: database.JsonOption = False,
) -> None:
    """Run background jobs (timed jobs included) until stopped, or once with --once."""
    from lendcore.batch.jobs import default_registry
    from lendcore.jobs.scheduler import DEFAULT_SCHEDULES, tick
    from lendcore.jobs.worker import Worker
    from lendcore.payments.http_channel import channel_from_env
    from lendcore.store.types import utc_now

    def body() -> dict[str, Any]:
        factory = database.session_factory()
        channel = channel_from_env()
        registry = default_registry(channel)
        worker = Worker(factory, registry)
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        try:
            stats = worker.run(
                stop,
                concurrency=concurrency,
                once=once,
                tick=lambda: tick(factory, DEFAULT_SCHEDULES, utc_now(), registry.kinds()),
            )
        finally:
            if channel is not None:
                channel.close()
        return {
            "worker": worker.worker_id,
            "succeeded": stats.succeeded,
            "retried": stats.retried,
            "dead": stats.dead,
            "lease_lost": stats.lease_lost,
        }

    result = database.run(body)
    if json_out:
        database.echo_json(result)
    else:
        typer.echo(
            f"worker {result['worker']}: {result['succeeded']} succeeded, {result['retried']} to retry, "
            f"{result['dead']} dead"
        )


@jobs_app.command("list")
def jobs_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead jobs (the dead-letter list).")] = False,
    max_rows: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")
    ] = 50,
    json_out: database.JsonOption = False,
) -> None:
    """List jobs, newest first."""
    from lendcore.jobs.admin import list_jobs

    views = database.run(
        lambda: database.in_session(
            lambda s: list_jobs(s, status="dead" if dead else None, limit=max_rows), read_only=True
        )
    )
    if json_out:
        database.echo_json([view.to_json() for view in views])
        return
    for view in views:
        error = f"  {(view.last_error or '').splitlines()[0][:80]}" if view.last_error else ""
        typer.echo(
            f"{view.id}\t{view.kind}\t{view.status}\tattempt {view.attempts}/{view.max_attempts}"
            f"\t{view.run_at.isoformat()}{error}"
        )


@jobs_app.command("retry")
def jobs_retry(
    job_id: Annotated[int, typer.Argument(help="The id of a dead job.", min=1)],
    json_out: database.JsonOption = False,
) -> None:
    """Put a dead job back in the queue (due now, attempts counted afresh; audited)."""
    from lendcore.jobs.admin import retry_job

    view = database.run(lambda: database.in_session(lambda s: retry_job(s, job_id, now=database.now())))
    if json_out:
        typer.echo(json.dumps(view.to_json(), ensure_ascii=False))
    else:
        typer.echo(f"job {view.id} ({view.kind}) is queued again")
