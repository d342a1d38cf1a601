"""A worker killed mid-job (SIGKILL) loses nothing and does nothing twice: another worker takes the
job over when its lease expires, and the job's effect (a row guarded by a unique key) exists once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.jobs.outbox import enqueue
from lendcore.jobs.worker import Worker
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import AuditRecord, IdempotencyKey
from lendcore.store.models_jobs import Job
from lendcore.store.types import utc_now
from tests.jobs.kill_worker import KIND, registry

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0


def wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    """Block until the worker says it is in the middle of the job (explicit signal, bounded wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"the worker exited early: {process.stderr.read().decode() if process.stderr else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError("the worker never reached the middle of the job")
        time.sleep(0.05)


def take_over(factory: sessionmaker[Session], mode: str) -> int:
    """Another worker, past the dead one's lease; on PostgreSQL the server may take a moment to roll
    the killed connection back and release its row lock (SKIP LOCKED skips it until then)."""
    later = utc_now() + timedelta(minutes=6)
    worker = Worker(factory, registry(mode, None), worker_id="survivor", clock=lambda: later)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        ran = worker.run_until_idle()
        if ran or time.monotonic() > deadline:
            return ran
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["transactional", "outside"])
def test_a_worker_killed_mid_job_loses_nothing_and_does_nothing_twice(
    database_url: str, tmp_path: Path, mode: str
) -> None:
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            job_id = enqueue(session, KIND, {"name": "effect-1"})
        marker = tmp_path / "in-the-middle"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.kill_worker", database_url, str(marker), mode],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(marker, process)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=WAIT_SECONDS)
        assert process.returncode == -signal.SIGKILL
        assert take_over(factory, mode) == 1
        with unit_of_work(factory, read_only=True) as session:
            job = session.get(Job, job_id)
            assert job is not None
            assert (job.status, job.attempts, job.locked_by) == ("succeeded", 2, None)
            assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
            assert session.scalar(select(func.count()).select_from(AuditRecord)) == 1  # the effect, once
    finally:
        engine.dispose()
