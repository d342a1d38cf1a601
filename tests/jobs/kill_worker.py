"""A worker process for tests/jobs/test_worker_kill.py: runs one ``test.kill`` job whose handler does
its effect, says so in a marker file, and then hangs (until the test kills the process).

    python -m tests.jobs.kill_worker DATABASE_URL MARKER_FILE transactional|outside
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lendcore.jobs.registry import JobContext, Registry
from lendcore.jobs.worker import Worker
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import AuditRecord, IdempotencyKey

KIND = "test.kill"
EFFECT_SCOPE = "test.effect"


def effect(session: Session, ctx: JobContext) -> None:
    """The job's effect, idempotent: a row guarded by a unique key (an ``idempotency_keys`` row,
    unique per scope and key), and an audit row written only when that row is new (so a second run
    would show)."""
    table = cast(Table, IdempotencyKey.__table__)
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = make_insert(table).values(
        scope=EFFECT_SCOPE, key=ctx.payload["name"], request_hash="effect", created_at=ctx.now
    )
    inserted = session.execute(
        statement.on_conflict_do_nothing(index_elements=["scope", "key"]).returning(table.c.key)
    )
    if inserted.scalar_one_or_none() is not None:
        session.add(
            AuditRecord(
                actor="job", action="effect", target_type="job", target_id=str(ctx.job_id), details={}
            )
        )
    session.flush()


def registry(mode: str, marker: Path | None) -> Registry:
    def hang() -> None:
        if marker is not None:
            marker.write_text(str(os.getpid()))
            threading.Event().wait()  # until SIGKILL

    def transactional(ctx: JobContext) -> None:
        effect(ctx.db(), ctx)
        hang()  # killed before the transaction (effect + acknowledgement) commits

    def outside(ctx: JobContext) -> None:
        with unit_of_work(ctx.session_factory) as session:
            effect(session, ctx)
        hang()  # killed after the effect committed, before the job is acknowledged

    found = Registry()
    found.register(
        KIND, transactional if mode == "transactional" else outside, transactional=mode == "transactional"
    )
    return found


def main() -> None:
    url, marker, mode = sys.argv[1:4]
    factory = create_session_factory(create_engine(url))
    Worker(factory, registry(mode, Path(marker)), worker_id="doomed").run_until_idle()


if __name__ == "__main__":
    main()
