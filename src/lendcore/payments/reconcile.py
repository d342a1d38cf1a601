"""Reconciling a channel's daily statement with our payments (source ``statement``).

Rows that tell the fate of a payment we still hold open resolve it (through the same state machine
as callbacks and queries); every discrepancy (a finished payment of ours the statement lacks, a row
we do not know, another amount, a contradicting state) is raised to operations, once per payment and
day. Idempotent: a second run applies nothing new and raises nothing new.

What a run found is stored in fen, in the same transaction (``reconciliations``, one row per channel
and day): every fen of the statement is matched, resolved or unexplained (a database check says so),
and ``issues`` holds the count and fen of each kind. :func:`reconcile_day` is the scheduled job's
body: it fetches the day's statement from the channel (no transaction open) and reconciles it, and
first every day of the :data:`LOOK_BACK_DAYS` before it that has no report yet, so a worker down for
days leaves no statement unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.adapter import ChannelAdapter
from lendcore.payments.records import Observation, apply_observation, lock_payment, raise_issue
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.statement import OurPayment, Reconciliation, Statement, compare
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.models_payments import ReconciliationRun

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")

#: How many days before the job's day are reconciled too when they have no report yet.
LOOK_BACK_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    matched: int
    resolved: int
    discrepancies: int
    channel: str = ""
    statement_date: date | None = None
    rows: int = 0
    total: int = 0  # fen: matched_amount + resolved_amount + unexplained_amount
    matched_amount: int = 0
    resolved_amount: int = 0
    unexplained_amount: int = 0
    issues: tuple[tuple[str, int, int], ...] = ()  # (kind, count, fen), by kind

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "statement_date": self.statement_date.isoformat() if self.statement_date else None,
            "rows": self.rows, "total": self.total,
            "matched": self.matched, "matched_amount": self.matched_amount,
            "resolved": self.resolved, "resolved_amount": self.resolved_amount,
            "discrepancies": self.discrepancies, "unexplained_amount": self.unexplained_amount,
            "issues": {kind: {"count": count, "amount": fen} for kind, count, fen in self.issues},
        }  # fmt: skip


def _report(statement: Statement, result: Reconciliation) -> ReconcileReport:
    issues = sorted((kind.value, n, fen) for kind, (n, fen) in result.discrepancy_amounts().items())
    report = ReconcileReport(
        result.matched, len(result.resolutions), len(result.discrepancies),
        channel=statement.channel, statement_date=statement.statement_date, rows=len(statement.rows),
        total=statement.total, matched_amount=result.matched_amount,
        resolved_amount=result.resolved_amount, unexplained_amount=result.unexplained_amount,
        issues=tuple(issues),
    )  # fmt: skip
    # every row is matched, resolved or a discrepancy: its fen are in exactly one of the three
    assert report.total == report.matched_amount + report.resolved_amount + report.unexplained_amount
    return report


def _store(session: Session, report: ReconcileReport, now: datetime) -> None:
    """Insert or bring up to date the day's report (the row is locked: two runs at once serialise)."""
    row = session.scalars(
        select(ReconciliationRun)
        .where(
            ReconciliationRun.channel == report.channel,
            ReconciliationRun.statement_date == report.statement_date,
        )
        .with_for_update()
    ).one_or_none()
    if row is None:
        row = ReconciliationRun(channel=report.channel, statement_date=report.statement_date, runs=0)
        row.first_run_at = now
        session.add(row)
    row.rows, row.total = report.rows, report.total
    row.matched, row.matched_amount = report.matched, report.matched_amount
    row.resolved, row.resolved_amount = report.resolved, report.resolved_amount
    row.discrepancies, row.unexplained_amount = report.discrepancies, report.unexplained_amount
    row.issues = report.as_dict()["issues"]  # type: ignore[assignment]
    row.runs, row.last_run_at = row.runs + 1, now
    session.flush()


def _ours(session: Session, statement: Statement) -> tuple[dict[str, OurPayment], list[str]]:
    start = datetime.combine(statement.statement_date, time(0), BUSINESS_TZ)
    end = start + timedelta(days=1)
    named = [row.payment_id for row in statement.rows]
    finished_that_day = (
        (Payment.channel == statement.channel)
        & Payment.state.in_((PaymentState.SUCCEEDED.value, PaymentState.REVERSED.value))
        & (Payment.settled_at >= start)
        & (Payment.settled_at < end)
    )
    rows = session.scalars(select(Payment).where(or_(Payment.id.in_(named), finished_that_day))).all()
    ours = {p.id: OurPayment(p.id, p.channel_reference, p.amount, PaymentState(p.state)) for p in rows}
    expected = [
        p.id
        for p in rows
        if p.channel == statement.channel
        and p.state in (PaymentState.SUCCEEDED.value, PaymentState.REVERSED.value)
        and p.settled_at is not None
        and start <= p.settled_at < end
    ]
    return ours, expected


def reconcile_statement(
    session_factory: sessionmaker[Session], statement: Statement, *, now: datetime
) -> ReconcileReport:
    with unit_of_work(session_factory) as session:
        ours, expected = _ours(session, statement)
        result = compare(statement, ours, expected)
        for row in result.resolutions:
            payment = lock_payment(session, row.payment_id)
            observation = Observation(
                EventSource.STATEMENT,
                row.state,
                channel_reference=row.channel_reference,
                amount=row.amount,
                failure_code=row.failure_code,
                occurred_at=row.settled_at,
                details={"statement_date": statement.statement_date.isoformat()},
            )
            apply_observation(session, payment, observation, now)
        for issue in result.discrepancies:
            known = issue.payment_id in ours
            raise_issue(
                session,
                kind=issue.issue.value,
                dedupe_key=f"{issue.issue.value}:{issue.payment_id}:{statement.statement_date.isoformat()}",
                source=EventSource.STATEMENT,
                now=now,
                payment_id=issue.payment_id if known else None,
                channel_reference=issue.channel_reference,
                details={
                    "detail": issue.detail,
                    "statement_date": statement.statement_date.isoformat(),
                    **({} if known else {"payment_id": issue.payment_id}),
                },
            )
        report = _report(statement, result)
        _store(session, report, now)
    return report


def reported_days(session_factory: sessionmaker[Session], channel: str, days: list[date]) -> set[date]:
    """Those of ``days`` with a stored report for ``channel``."""
    with unit_of_work(session_factory, read_only=True) as session:
        found = session.scalars(
            select(ReconciliationRun.statement_date).where(
                ReconciliationRun.channel == channel, ReconciliationRun.statement_date.in_(days)
            )
        )
        return set(found)


def reconcile_day(
    session_factory: sessionmaker[Session], channel: ChannelAdapter, day: date, *, now: datetime
) -> list[ReconcileReport]:
    """Reconcile ``channel``'s statement of ``day``, after each of the :data:`LOOK_BACK_DAYS` before it
    that has no report yet (oldest first); the reports. Each statement is fetched with no transaction
    open. A channel that cannot answer raises its :class:`~lendcore.payments.adapter.ChannelError`
    (the job retries); a malformed file raises ``StatementError`` (a person must look)."""
    earlier = [day - timedelta(days=back) for back in range(LOOK_BACK_DAYS, 0, -1)]
    done = reported_days(session_factory, channel.name, earlier)
    reports = []
    for each in [*(d for d in earlier if d not in done), day]:
        statement = channel.statement(each)
        reports.append(reconcile_statement(session_factory, statement, now=now))
    return reports
