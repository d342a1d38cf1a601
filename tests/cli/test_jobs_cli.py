"""``lendcore worker --once`` runs the timed jobs due now; ``lendcore jobs`` lists and revives dead ones."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.jobs.outbox import enqueue
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import PaymentIssue
from lendcore.store.types import utc_now
from tests.payments.support import recorded_payment

runner = CliRunner()


def test_the_worker_runs_due_timed_jobs_once_and_raises_payments_past_their_sla(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    monkeypatch.delenv("LENDCORE_CHANNEL_URL", raising=False)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        payment_id = recorded_payment(factory, now=utc_now() - timedelta(hours=3))
        with unit_of_work(factory) as session:
            dead = enqueue(session, "daily-close", {"business_date": "not-a-date"}, max_attempts=1)
        result = runner.invoke(app, ["worker", "--once", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["succeeded"] >= 2 and report["dead"] == 1  # sweeps, the close of yesterday; the bad one
        with unit_of_work(factory, read_only=True) as session:
            assert session.scalars(select(PaymentIssue.payment_id)).all() == [payment_id]
            kinds = set(session.scalars(select(Job.kind).where(Job.status == "succeeded")))
        assert {"payments.sweep", "daily-close"} <= kinds
        listed = json.loads(runner.invoke(app, ["jobs", "list", "--dead", "--json"]).stdout)
        assert [job["id"] for job in listed] == [dead] and "business_date" in listed[0]["last_error"]
        retried = runner.invoke(app, ["jobs", "retry", str(dead)])
        assert retried.exit_code == 0 and f"job {dead} (daily-close) is queued again" in retried.stdout
        again = runner.invoke(app, ["jobs", "retry", str(dead)])
        assert again.exit_code == 2 and again.stderr.strip().endswith("[JOB_NOT_DEAD]")
    finally:
        engine.dispose()
