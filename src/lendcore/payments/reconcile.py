"""Reconciling a channel's daily statement with our payments (source ``statement``).

Rows that tell the fate of a payment we still hold open resolve it (through the same state machine
as callbacks and queries); every discrepancy (a finished payment of ours the statement lacks, a row
we do not know, another amount, a contradicting state) is raised to operations, once per payment and
day. Idempotent: a second run applies nothing new and raises nothing new.

Rows are resolved and raised :data:`CHUNK` per transaction; then what the run found is stored in fen
(``reconciliations``, one row per channel and day, written with ``ON CONFLICT``): every fen of the
statement is matched, resolved or unexplained (a database check says so), and ``issues`` holds the
count and fen of each kind. A run that dies part way leaves its chunks done and is simply run again.
:func:`reconcile_day` is the scheduled job's body: it fetches the day's statement from the channel (no
transaction open) and reconciles it, then every day of the :data:`LOOK_BACK_DAYS` before it that has
no report yet, so a worker down for days leaves no statement unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.adapter import ChannelAdapter
from lendcore.payments.records import Observation, apply_observation, lock_payments, raise_issue
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.statement import (
    OurPayment,
    Reconciliation,
    Statement,
    StatementDiscrepancy,
    StatementRow,
    compare,
)
from lendcore.payments.suspense import hold_in_suspense
from lendcore.store.bounded import slices
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Payment
from lendcore.store.models_payments import ReconciliationRun

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")

#: How many days before the job's day are reconciled too when they have no report yet.
LOOK_BACK_DAYS: Final = 7
#: Statement rows resolved or raised per write transaction.
CHUNK: Final = 1_000


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    channel: str
    statement_date: date
    rows: int
    total: int  # fen: matched_amount + resolved_amount + unexplained_amount
    matched: int
    matched_amount: int
    resolved: int
    resolved_amount: int
    discrepancies: int
    unexplained_amount: int
    issues: tuple[tuple[str, int, int], ...]  # (kind, count, fen), by kind
    suspense_amount: int  # fen of the unexplained the channel took and no payment of ours books

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "statement_date": self.statement_date.isoformat(),
            "rows": self.rows, "total": self.total,
            "matched": self.matched, "matched_amount": self.matched_amount,
            "resolved": self.resolved, "resolved_amount": self.resolved_amount,
            "discrepancies": self.discrepancies, "unexplained_amount": self.unexplained_amount,
            "issues": {kind: {"count": count, "amount": fen} for kind, count, fen in self.issues},
            "suspense_amount": self.suspense_amount,
        }  # fmt: skip


def _report(statement: Statement, result: Reconciliation) -> ReconcileReport:
    issues = sorted((kind.value, n, fen) for kind, (n, fen) in result.discrepancy_amounts().items())
    report = ReconcileReport(
        channel=statement.channel, statement_date=statement.statement_date, rows=len(statement.rows),
        total=statement.total, matched=result.matched, matched_amount=result.matched_amount,
        resolved=len(result.resolutions), resolved_amount=result.resolved_amount,
        discrepancies=len(result.discrepancies), unexplained_amount=result.unexplained_amount,
        issues=tuple(issues), suspense_amount=result.suspense_amount,
    )  # fmt: skip
    # every row is matched, resolved or a discrepancy: its fen are in exactly one of the three
    assert report.total == report.matched_amount + report.resolved_amount + report.unexplained_amount
    return report


def _store(session: Session, report: ReconcileReport, now: datetime) -> None:
    """Insert the day's report, or bring it up to date, in one statement (``ON CONFLICT`` on channel and
    day: two runs at once both count, neither fails)."""
    table = cast(Table, ReconciliationRun.__table__)
    figures = {
        "rows": report.rows, "total": report.total, "matched": report.matched,
        "matched_amount": report.matched_amount, "resolved": report.resolved,
        "resolved_amount": report.resolved_amount, "discrepancies": report.discrepancies,
        "unexplained_amount": report.unexplained_amount, "issues": report.as_dict()["issues"],
        "suspense_amount": report.suspense_amount, "last_run_at": now,
    }  # fmt: skip
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    insert = make_insert(table).values(
        id=new_id("rec"), channel=report.channel, statement_date=report.statement_date, runs=1,
        first_run_at=now, **figures,
    )  # fmt: skip
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["channel", "statement_date"], set_={**figures, "runs": table.c.runs + 1}
        )
    )


def _ours(session: Session, statement: Statement) -> tuple[dict[str, OurPayment], list[str]]:
    """Our payments the statement names, read in bounded ``IN`` lists (:mod:`lendcore.store.bounded`:
    one list of a day's 70,000 ids failed on PostgreSQL), and those we hold as finished on its day
    (each must be listed)."""
    start = datetime.combine(statement.statement_date, time(0), BUSINESS_TZ)
    columns = (Payment.id, Payment.channel_reference, Payment.amount, Payment.state)
    named = [row.payment_id for row in statement.rows]
    found = [
        found_row
        for ids in slices(named)
        for found_row in session.execute(select(*columns).where(Payment.id.in_(ids)))
    ]
    finished_that_day = session.execute(
        select(*columns).where(
            Payment.channel == statement.channel,
            Payment.state.in_((PaymentState.SUCCEEDED.value, PaymentState.REVERSED.value)),
            Payment.settled_at >= start,
            Payment.settled_at < start + timedelta(days=1),
        )
    ).all()
    ours = {pid: OurPayment(pid, ref, amount, PaymentState(state)) for pid, ref, amount, state in found}
    ours.update(
        (pid, OurPayment(pid, ref, amount, PaymentState(st))) for pid, ref, amount, st in finished_that_day
    )
    return ours, [pid for pid, *_ in finished_that_day]


def reconcile_statement(
    session_factory: sessionmaker[Session], statement: Statement, *, now: datetime
) -> ReconcileReport:
    """Reconcile ``statement`` (module docstring): read, compare, then resolve and raise
    :data:`CHUNK` rows per transaction (the chunk's payments locked in one statement; a payment moved
    meanwhile by a callback is decided again under its lock, so a stale resolution is a duplicate),
    then store the report. Idempotent, so a run that
    dies part way is simply run again."""
    with unit_of_work(session_factory, read_only=True) as session:
        ours, expected = _ours(session, statement)
    result = compare(statement, ours, expected)
    rows = {row.payment_id: row for row in statement.rows}
    for first in range(0, max(len(result.resolutions), len(result.discrepancies)), CHUNK):
        with unit_of_work(session_factory) as session:
            resolving = result.resolutions[first : first + CHUNK]
            locked = lock_payments(session, [row.payment_id for row in resolving])
            for row in resolving:
                _resolve(session, locked[row.payment_id], row, statement, now)
            for issue in result.discrepancies[first : first + CHUNK]:
                _raise(session, issue, rows.get(issue.payment_id), statement, ours, now)
    report = _report(statement, result)
    with unit_of_work(session_factory) as session:
        _store(session, report, now)
    return report


def _resolve(
    session: Session, payment: Payment, row: StatementRow, statement: Statement, now: datetime
) -> None:
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


def _raise(
    session: Session,
    issue: StatementDiscrepancy,
    row: StatementRow | None,
    statement: Statement,
    ours: dict[str, OurPayment],
    now: datetime,
) -> None:
    """Raise ``issue`` once per payment and day; when it is new and the channel took money no payment
    of ours books, hold that money in channel suspense in the same transaction."""
    known = issue.payment_id in ours
    day = statement.statement_date.isoformat()
    issue_id = raise_issue(
        session,
        kind=issue.issue.value,
        dedupe_key=f"{issue.issue.value}:{issue.payment_id}:{day}",
        source=EventSource.STATEMENT,
        now=now,
        payment_id=issue.payment_id if known else None,
        channel_reference=issue.channel_reference,
        details={
            "detail": issue.detail,
            "statement_date": day,
            **({} if known else {"payment_id": issue.payment_id}),
            **({"suspense": issue.suspense} if issue.suspense else {}),
        },
    )
    if issue_id is not None and issue.suspense and row is not None:
        hold_in_suspense(
            session,
            issue_id=issue_id,
            kind=issue.issue.value,
            channel=statement.channel,
            statement_date=statement.statement_date,
            named_payment_id=issue.payment_id,
            channel_reference=row.channel_reference,
            amount=issue.suspense,
            settled_on=row.settled_at.astimezone(BUSINESS_TZ).date(),
            now=now,
        )


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
    """Reconcile ``channel``'s statement of ``day``, then each of the :data:`LOOK_BACK_DAYS` before it
    that has no report yet (oldest first); the reports, ``day``'s first. The day itself comes first, so
    an older statement the channel cannot give does not hold it up. Each statement is fetched with no
    transaction open. A channel that cannot answer raises its
    :class:`~lendcore.payments.adapter.ChannelError` (the job retries; the days done stay done); a
    malformed file raises ``StatementError`` (a person must look)."""
    earlier = [day - timedelta(days=back) for back in range(LOOK_BACK_DAYS, 0, -1)]
    reports = [reconcile_statement(session_factory, channel.statement(day), now=now)]
    done = reported_days(session_factory, reports[0].channel, earlier)
    for each in (d for d in earlier if d not in done):
        reports.append(reconcile_statement(session_factory, channel.statement(each), now=now))
    return reports
