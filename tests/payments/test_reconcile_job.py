"""The ``reconciliation.run`` job: yesterday's statement fetched from the channel (a real simulator
process on loopback) and reconciled, every fen of it in the stored report, with the unread days of the
week before it; a channel that cannot answer is retried, a malformed file is dead at once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.jobs import default_registry
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.worker import Worker
from lendcore.payments.adapter import ChannelAdapter, ChannelUnavailableError
from lendcore.payments.http_channel import HttpChannel
from lendcore.payments.reconcile import LOOK_BACK_DAYS
from lendcore.payments.sim.engine import BUSINESS_TZ
from lendcore.payments.sim.process import free_port
from lendcore.payments.statement import Statement, StatementError
from lendcore.payments.submit import submit_payment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import PaymentIssue, ReconciliationRun
from tests.payments.sim.service import simulator_process
from tests.payments.support import recorded_payment

FAULTS = "statement_missing=0.3,statement_mismatch=0.3,statement_extra=2,insufficient_funds=0.3"


def run_reconciliation(factory: sessionmaker[Session], channel: ChannelAdapter, day: date, key: str) -> Job:
    with unit_of_work(factory) as session:
        enqueue(session, "reconciliation.run", {"business_date": day.isoformat()}, dedupe_key=key)
    Worker(factory, default_registry(channel)).run_until_idle()
    with unit_of_work(factory, read_only=True) as session:
        job = session.scalars(select(Job).where(Job.dedupe_key == key)).one()
        session.expunge(job)
        return job


def reports(factory: sessionmaker[Session]) -> dict[date, ReconciliationRun]:
    with unit_of_work(factory, read_only=True) as session:
        found = session.scalars(select(ReconciliationRun)).all()
        session.expunge_all()
        return {r.statement_date: r for r in found}


def issue_count(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(PaymentIssue)) or 0


def test_the_job_reconciles_the_days_statement_and_every_unread_day_of_the_week_before(
    session_factory: sessionmaker[Session],
) -> None:
    ids = [recorded_payment(session_factory, amount=10_000 + n) for n in range(12)]
    with (
        simulator_process("--seed", "5", "--faults", FAULTS) as url,
        HttpChannel(url, name="simulator") as channel,
    ):
        for payment_id in ids:  # no callback URL: every payment stays processing here
            submit_payment(session_factory, channel, payment_id, "tok_1")
        settled_at = channel.query(ids[0]).settled_at
        assert settled_at is not None
        day = settled_at.astimezone(BUSINESS_TZ).date()
        statement = channel.statement(day)
        assert run_reconciliation(session_factory, channel, day, "first").status == "succeeded"
        first = reports(session_factory)
        issues_after_first = issue_count(session_factory)
        assert run_reconciliation(session_factory, channel, day, "again").status == "succeeded"
        again = reports(session_factory)
    assert sorted(first) == [day - timedelta(days=back) for back in range(LOOK_BACK_DAYS, -1, -1)]
    for earlier in (d for d in first if d != day):  # only the channel's two extra rows a day
        assert (first[earlier].rows, first[earlier].matched, first[earlier].resolved) == (2, 0, 0)
        assert first[earlier].unexplained_amount == first[earlier].total > 0
    report = first[day]
    mismatched = sum(
        1 for r in statement.rows if r.payment_id in ids and r.amount != 10_000 + ids.index(r.payment_id)
    )
    assert (report.rows, report.total) == (len(statement.rows), statement.total)
    assert report.total == report.matched_amount + report.resolved_amount + report.unexplained_amount
    assert report.issues["statement_extra"]["count"] == 2
    assert report.resolved == len(statement.rows) - 2 - mismatched  # ours, the right amount: resolved
    if mismatched:
        assert report.issues["statement_amount_mismatch"]["count"] == mismatched
    assert issues_after_first == sum(r.discrepancies for r in first.values())  # each raised once
    with unit_of_work(session_factory, read_only=True) as session:
        states = {
            pid: state
            for pid, state in session.execute(select(Payment.id, Payment.state).where(Payment.id.in_(ids)))
        }
    listed = {r.payment_id: r for r in statement.rows}
    for payment_id in ids:  # what the statement told of a payment with the right amount was applied
        row = listed.get(payment_id)
        expected = (
            row.state.value
            if row is not None and row.amount == 10_000 + ids.index(payment_id)
            else "processing"
        )
        assert states[payment_id] == expected
    # the rerun: only the day itself is read again; it resolves nothing new and raises nothing new
    assert again[day].runs == 2 and all(again[d].runs == 1 for d in again if d != day)
    assert again[day].resolved == 0 and again[day].matched == report.matched + report.resolved
    assert again[day].total == report.total and issue_count(session_factory) == issues_after_first


class BrokenStatements(ChannelAdapter):
    name = "simulator"

    def statement(self, day: date) -> Statement:
        raise StatementError("statement line 3: expected 7 columns, found 6", code="STATEMENT_ROW_INVALID")


def test_a_malformed_statement_is_dead_at_once_and_an_unreachable_channel_is_retried(
    session_factory: sessionmaker[Session],
) -> None:
    day = date(2026, 11, 22)
    dead = run_reconciliation(session_factory, BrokenStatements(), day, "broken")
    assert dead.status == "dead" and dead.attempts == 1 and "expected 7 columns" in (dead.last_error or "")
    with HttpChannel(f"http://127.0.0.1:{free_port()}", name="simulator", timeout=1.0) as nowhere:
        retried = run_reconciliation(session_factory, nowhere, day, "nowhere")
    assert retried.status == "queued" and retried.attempts == 1  # back off, then ask again
    assert reports(session_factory) == {}


class OnlyRecentStatements(ChannelAdapter):
    """A channel that gives the statement of ``day`` and cannot give older ones."""

    name = "simulator"

    def __init__(self, day: date) -> None:
        self.day = day

    def statement(self, day: date) -> Statement:
        if day != self.day:
            raise ChannelUnavailableError(f"no statement of {day} yet")
        return Statement("simulator", day, ())


def test_the_days_own_statement_is_reconciled_first_so_an_older_one_that_fails_does_not_hold_it_up(
    session_factory: sessionmaker[Session],
) -> None:
    day = date(2026, 11, 22)
    job = run_reconciliation(session_factory, OnlyRecentStatements(day), day, "partial")
    assert job.status == "queued" and job.attempts == 1  # retried for the older days
    assert sorted(reports(session_factory)) == [day]  # the day itself is reported
