"""The stuck-payment sweeper: query every payment past its deadline, with backoff; raise to
operations every payment past its SLA. A function, independent of the scheduler (the
``payments.sweep`` job calls it every minute; an operator or a test can call it directly).

Per due payment (``created`` or ``processing``, ``next_query_at <= now``, oldest first):

1. ``channel.query(payment id)`` with no transaction open;
2. one unit of work: the payment is locked and the answer applied (source ``query``); a final answer
   resolves it, ``processing`` records an observation; a channel error is recorded as such. Unless
   resolved, ``query_attempts`` goes up and ``next_query_at`` moves out by the backoff
   (:func:`lendcore.payments.deadlines.next_query_at`).

Then every unresolved payment past ``sla_at`` that was not yet raised gets a ``sla_breached`` issue,
an ``escalated`` event, ``escalated_at`` and the ``payments.escalated`` metric. It stays queried: being
raised is not being given up on. An id unknown to the channel is never taken as a failure (it may
still arrive); it is queried on and raised at its SLA.

One run goes through everything due, ``limits.batch`` payments at a time (one read per batch, keyset
on ``(next_query_at, id)`` so a payment is queried at most once per run even if something moves its
deadline back meanwhile), until nothing is left or ``limits.time_budget`` is spent: then it stops
before the next query (``SweepReport.more``) and the next run goes on. The budget stays below the
``payments.sweep`` job's lease, so a long backlog (100,000 payments stuck after an outage) never
makes a second worker take the job over while the first is still sweeping. With
``limits.concurrency`` > 1 the payments of a batch are queried by that many threads at once (each
its own query and its own unit of work, as above): the channel's round trips overlap; the order of
the queries within a batch is then not fixed. Settings: ``LENDCORE_SWEEP_BATCH`` (default 500),
``LENDCORE_SWEEP_SECONDS`` (default 240) and ``LENDCORE_SWEEP_CONCURRENCY`` (default 1).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConfigurationError
from lendcore.payments import metrics
from lendcore.payments.adapter import (
    ChannelAdapter,
    ChannelError,
    ChannelStatus,
    PaymentUnknownToChannelError,
)
from lendcore.payments.deadlines import DEFAULT_POLICY, DeadlinePolicy, next_query_at
from lendcore.payments.records import Observation, apply_observation, lock_payment, raise_issue, record_event
from lendcore.payments.state import TERMINAL, EventSource, PaymentState
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment

OPEN_STATES = (PaymentState.CREATED.value, PaymentState.PROCESSING.value)
BATCH_ENV: Final = "LENDCORE_SWEEP_BATCH"
SECONDS_ENV: Final = "LENDCORE_SWEEP_SECONDS"
CONCURRENCY_ENV: Final = "LENDCORE_SWEEP_CONCURRENCY"


@dataclass(frozen=True, slots=True)
class SweepLimits:
    """How much one sweep run does: payments read per batch, and the time after which it starts no
    further query (the rest wait for the next run)."""

    batch: int = 500
    time_budget: timedelta = timedelta(minutes=4)  # below the payments.sweep job's 5-minute lease
    concurrency: int = 1  # payments queried at once (threads): the round trips overlap

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ConfigurationError("the sweep batch must be at least 1", code="INVALID_SWEEP_LIMITS")
        if not 1 <= self.concurrency <= 64:
            raise ConfigurationError("the sweep concurrency must be 1 to 64", code="INVALID_SWEEP_LIMITS")
        if self.time_budget <= timedelta(0):
            raise ConfigurationError("the sweep time budget must be positive", code="INVALID_SWEEP_LIMITS")


DEFAULT_LIMITS: Final = SweepLimits()


def limits_from_env() -> SweepLimits:
    """``LENDCORE_SWEEP_BATCH`` and ``LENDCORE_SWEEP_SECONDS`` (unset: the defaults)."""
    values = {}
    for name, env in (("batch", BATCH_ENV), ("seconds", SECONDS_ENV), ("concurrency", CONCURRENCY_ENV)):
        text = os.environ.get(env, "").strip()
        if text:
            try:
                values[name] = int(text)
            except ValueError:
                raise ConfigurationError(
                    f"{env} must be an integer, got {text!r}", code="INVALID_SWEEP_LIMITS"
                ) from None
    batch = values.get("batch", DEFAULT_LIMITS.batch)
    seconds = values.get("seconds")
    budget = DEFAULT_LIMITS.time_budget if seconds is None else timedelta(seconds=seconds)
    concurrency = values.get("concurrency", DEFAULT_LIMITS.concurrency)
    return SweepLimits(batch=batch, time_budget=budget, concurrency=concurrency)


@dataclass
class SweepReport:
    queried: int = 0
    resolved: int = 0
    still_open: int = 0
    channel_errors: int = 0
    batches: int = 0
    more: bool = False  # stopped by the time budget with payments still due
    escalated: list[str] = field(default_factory=list)


Cursor = tuple[datetime, str]


def due_for_query(session: Session, now: datetime, limit: int, after: Cursor | None = None) -> list[Cursor]:
    """(next_query_at, id) of the open payments due by ``now``, oldest first, after ``after``."""
    statement = select(Payment.next_query_at, Payment.id).where(
        Payment.state.in_(OPEN_STATES), Payment.next_query_at <= now
    )
    if after is not None:
        at, last = after
        statement = statement.where(
            or_(Payment.next_query_at > at, and_(Payment.next_query_at == at, Payment.id > last))
        )
    rows = session.execute(statement.order_by(Payment.next_query_at, Payment.id).limit(limit))
    return [(at, payment_id) for at, payment_id in rows if at is not None]


def sweep_stuck_payments(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter | None,
    *,
    now: datetime,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    limits: SweepLimits = DEFAULT_LIMITS,
    clock: Callable[[], float] = time.monotonic,
) -> SweepReport:
    """Query due payments (when a channel is given) and raise those past their SLA, batch after batch
    within the time budget (see the module docstring)."""
    report = SweepReport()
    deadline = clock() + limits.time_budget.total_seconds()
    after: Cursor | None = None
    pool = ThreadPoolExecutor(limits.concurrency) if channel is not None and limits.concurrency > 1 else None
    try:
        while channel is not None and not report.more:
            with unit_of_work(session_factory, read_only=True) as session:
                due = due_for_query(session, now, limits.batch, after)
            if not due:
                break
            report.batches += 1

            def one(item: Cursor, channel: ChannelAdapter = channel) -> SweepReport | None:
                if clock() >= deadline:
                    return None  # the budget is spent: left for the next run
                part = SweepReport()
                _query_one(session_factory, channel, item[1], now, policy, part)
                return part

            parts = pool.map(one, due) if pool is not None else map(one, due)
            for item, part in zip(due, parts, strict=True):
                if part is None:
                    report.more = True
                    continue
                _merge(report, part)
                after = item
            if len(due) < limits.batch:
                break
    finally:
        if pool is not None:
            pool.shutdown()
    report.escalated = escalate_past_sla(
        session_factory, now=now, limit=limits.batch, deadline=deadline, clock=clock
    )
    return report


def _merge(report: SweepReport, part: SweepReport) -> None:
    report.queried += part.queried
    report.resolved += part.resolved
    report.still_open += part.still_open
    report.channel_errors += part.channel_errors


def _query_one(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter,
    payment_id: str,
    now: datetime,
    policy: DeadlinePolicy,
    report: SweepReport,
) -> None:
    answer: ChannelStatus | ChannelError
    try:
        answer = channel.query(payment_id)
    except ChannelError as error:
        answer = error
    report.queried += 1
    with unit_of_work(session_factory) as session:
        payment = lock_payment(session, payment_id)
        if payment.state not in OPEN_STATES:
            return  # resolved meanwhile (a callback won the race)
        if isinstance(answer, ChannelStatus):
            observation = Observation(
                EventSource.QUERY,
                answer.state,
                channel_reference=answer.channel_reference,
                amount=answer.amount,
                failure_code=answer.failure_code,
                occurred_at=answer.settled_at,
            )
            applied = apply_observation(session, payment, observation, now)
            if applied.state in TERMINAL:
                report.resolved += 1
                return
        else:
            report.channel_errors += 0 if isinstance(answer, PaymentUnknownToChannelError) else 1
            details = {"code": answer.code, "message": answer.message[:300]}
            kind = "observation" if isinstance(answer, PaymentUnknownToChannelError) else "channel_error"
            record_event(session, payment, source=EventSource.QUERY, kind=kind, now=now, details=details)
        report.still_open += 1
        payment.query_attempts += 1
        payment.last_queried_at = now
        payment.next_query_at = next_query_at(payment.query_attempts, now, policy)


def escalate_past_sla(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    limit: int = DEFAULT_LIMITS.batch,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Raise every open payment past its SLA that was not raised yet, ``limit`` per transaction,
    until none is left or ``deadline`` (of ``clock``) is passed; their ids. Escalation always gets
    one batch, however late the queries left it."""
    raised: list[str] = []
    while True:
        batch = _escalate_batch(session_factory, now, limit)
        raised.extend(batch)
        if len(batch) < limit or (deadline is not None and clock() >= deadline):
            return raised


def _escalate_batch(session_factory: sessionmaker[Session], now: datetime, limit: int) -> list[str]:
    raised: list[str] = []
    with unit_of_work(session_factory) as session:
        statement = (
            select(Payment)
            .where(Payment.state.in_(OPEN_STATES), Payment.sla_at <= now, Payment.escalated_at.is_(None))
            .order_by(Payment.sla_at, Payment.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for payment in session.scalars(statement):
            payment.escalated_at = now
            record_event(
                session,
                payment,
                source=EventSource.QUERY,
                kind="escalated",
                now=now,
                details={"sla_at": payment.sla_at.isoformat() if payment.sla_at else None},
            )
            raise_issue(
                session,
                kind="sla_breached",
                dedupe_key=f"sla_breached:{payment.id}",
                source=EventSource.QUERY,
                now=now,
                payment_id=payment.id,
                channel_reference=payment.channel_reference,
                details={
                    "state": payment.state,
                    "amount": payment.amount,
                    "query_attempts": payment.query_attempts,
                },
            )
            metrics.emit("payments.escalated", direction=payment.direction, purpose=payment.purpose or "")
            raised.append(payment.id)
    return raised
