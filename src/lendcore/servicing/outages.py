"""Channel outages open lender-fault windows by themselves (issue 11).

:func:`detect_channel_outages` reads what the channel answered recently (``payment_events`` of
sources ``submit``, ``query`` and ``callback``), finds the outages with the pure rule
:func:`lendcore.core.outages.outage_spans` (≥ 3 unavailable calls over ≥ 5 minutes with no answer
between them) and, once per outage, opens a ``channel_outage`` window for everyone from the business
day (Asia/Shanghai) of its first failure; when the channel answers again the window ends on the
business day of that answer. The daily close then waives the penalty and suppresses the overdue status
of those days as for any other window.

What counts: a ``channel_error`` whose code says the instruction did not arrive
(:data:`UNAVAILABLE_CODES`) is a failure; a timeout or a server error (:data:`SILENT_CODES`) says
nothing about the channel being up and is left out; anything else the channel said (a transition, a
duplicate, a refusal with the channel's own code, a query that found the payment processing) is an
answer: the channel is alive.

Bounded: the look back is :data:`LOOKBACK` (or back to the first failure of an outage still open);
when it begins with a failure, it reaches further back, a look back at a time, to the channel's last
answer (at most :data:`MAX_REACH_BACK`), so a quiet channel's outage whose failures are hours apart is
found whole.
Exactly once: ``channel_outages.started_at`` is unique; a detector that loses the race to insert it
(another worker, a rerun) opens nothing. Customers told: those with an installment due inside the
window (at most :data:`NOTIFY_LIMIT` per run), when it opens and again, for the days it grew by, when it
ends (one ``customer.notify`` per customer and window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.faults import FaultKind, FaultWindow
from lendcore.core.outages import DEFAULT_RULE, ChannelOutcome, OutageRule, OutageSpan, outage_spans
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.payments import metrics
from lendcore.payments.state import EventSource
from lendcore.servicing.faults import SYSTEM_ACTOR, record_fault
from lendcore.store.audit import record_audit
from lendcore.store.models import Contract, ScheduleRow
from lendcore.store.models_payments import ChannelOutage, LenderFault, PaymentEvent

LOOKBACK: Final = timedelta(hours=2)
#: How far before the look back a run of failures is followed back to the channel's last answer.
MAX_REACH_BACK: Final = timedelta(days=1)
NOTIFY_LIMIT: Final = 10_000
UNAVAILABLE_CODES: Final = frozenset({"CHANNEL_UNAVAILABLE", "BANK_MAINTENANCE"})
SILENT_CODES: Final = frozenset({"CHANNEL_TIMEOUT", "CHANNEL_SERVER_ERROR", "CHANNEL_ERROR"})
_SOURCES: Final = (EventSource.SUBMIT.value, EventSource.QUERY.value, EventSource.CALLBACK.value)
_KINDS: Final = ("transition", "duplicate", "stale", "discrepancy", "observation", "channel_error")


@dataclass
class OutageReport:
    opened: list[str] = field(default_factory=list)  # fault ids
    ended: list[str] = field(default_factory=list)
    open_now: int = 0


def business_day(instant: datetime) -> date:
    """The business day (Asia/Shanghai) of an instant."""
    return instant.astimezone(BUSINESS_TZ).date()


def classify(kind: str, details: dict[str, Any]) -> bool | None:
    """True: the channel answered; False: it was unavailable; None: the event says neither."""
    if kind != "channel_error":
        return True
    code = str(details.get("code") or "")
    if code in UNAVAILABLE_CODES:
        return False
    return None if code in SILENT_CODES or not code else True


def channel_outcomes(
    session: Session, since: datetime, now: datetime, *, include_end: bool = True
) -> list[ChannelOutcome]:
    """The channel's answers recorded in ``[since, now]`` (``[since, now)`` without ``include_end``),
    in time order (index on ``at``)."""
    stmt = (
        select(PaymentEvent.at, PaymentEvent.kind, PaymentEvent.details)
        .where(
            PaymentEvent.at >= since,
            PaymentEvent.at < now if not include_end else PaymentEvent.at <= now,
            PaymentEvent.source.in_(_SOURCES),
            PaymentEvent.kind.in_(_KINDS),
        )
        .order_by(PaymentEvent.at, PaymentEvent.id)
    )
    outcomes = []
    for at, kind, details in session.execute(stmt):
        ok = classify(kind, details or {})
        if ok is not None:
            outcomes.append(ChannelOutcome(at, ok))
    return outcomes


def detect_channel_outages(
    session: Session, *, now: datetime, rule: OutageRule = DEFAULT_RULE, lookback: timedelta = LOOKBACK
) -> OutageReport:
    """Open a window per new outage and end the windows of outages that are over (module docstring)."""
    still_open = list(session.scalars(select(ChannelOutage).where(ChannelOutage.ended_at.is_(None))))
    since = min([now - lookback, *(o.started_at for o in still_open)])
    since, outcomes = _reach_back(session, since, channel_outcomes(session, since, now), lookback)
    ended = select(ChannelOutage).where(ChannelOutage.ended_at >= since)  # a few: outages are rare
    known = sorted([*still_open, *session.scalars(ended)], key=lambda o: o.started_at)
    report = OutageReport()
    for span in outage_spans(outcomes, rule):
        same = next((o for o in known if _same_outage(o, span)), None)
        if same is None:
            opened = _open(session, span, now)
            if opened is not None:
                report.opened.append(opened.fault_id or "")
                known.append(opened)
        elif same.ended_at is None and span.ended_at is not None and _end(session, same, span, now):
            report.ended.append(same.fault_id or "")
    report.open_now = len(
        session.scalars(select(ChannelOutage.id).where(ChannelOutage.ended_at.is_(None))).all()
    )
    return report


def _reach_back(
    session: Session, since: datetime, outcomes: list[ChannelOutcome], step: timedelta
) -> tuple[datetime, list[ChannelOutcome]]:
    """Read further back while the look back begins with a failure and holds no answer before it: a
    quiet channel's outage may have begun before the look back (three failures two hours apart are
    an outage, yet no two-hour look back holds them all). Back to the channel's last answer, never
    more than :data:`MAX_REACH_BACK` before ``since``."""
    floor = since - MAX_REACH_BACK
    while outcomes and not outcomes[0].ok and since > floor:
        earlier = max(floor, since - step)
        chunk = channel_outcomes(session, earlier, since, include_end=False)
        outcomes, since = chunk + outcomes, earlier
        if any(o.ok for o in chunk):
            break
    return since, outcomes


def _same_outage(outage: ChannelOutage, span: OutageSpan) -> bool:
    """A span starting inside a known outage is that outage (seen again, or cut by the look back)."""
    return outage.started_at <= span.started_at and (
        outage.ended_at is None or span.started_at < outage.ended_at
    )


def _open(session: Session, span: OutageSpan, now: datetime) -> ChannelOutage | None:
    """Insert the outage (unique start) and open its window; None when another detector did."""
    outage = ChannelOutage(
        started_at=span.started_at,
        last_failure_at=span.last_failure_at,
        failures=span.failures,
        ended_at=span.ended_at,
        detected_at=now,
    )
    try:
        with session.begin_nested():
            session.add(outage)
            session.flush()
    except IntegrityError:
        return None  # the same outage, opened by a concurrent detector
    starts_on = business_day(span.started_at)
    ends_on = None if span.ended_at is None else max(starts_on, business_day(span.ended_at))
    window = record_fault(
        session,
        kind=FaultKind.CHANNEL_OUTAGE,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=(
            f"channel unavailable from {span.started_at.isoformat()}: "
            f"{span.failures} calls failed by {span.last_failure_at.isoformat()}"
        ),
        now=now,
    )
    outage.fault_id = window.fault_id
    metrics.emit("payments.channel_outage", event="opened")
    notify_outage(session, window, ends_on or business_day(now))
    return outage


def _end(session: Session, outage: ChannelOutage, span: OutageSpan, now: datetime) -> bool:
    """End an open outage and its window at the channel's first answer; False when already ended."""
    stmt = select(ChannelOutage).where(ChannelOutage.id == outage.id).with_for_update()
    locked = session.scalars(stmt.execution_options(populate_existing=True)).one()
    if locked.ended_at is not None or span.ended_at is None:
        return False
    locked.ended_at = span.ended_at
    locked.last_failure_at = span.last_failure_at
    locked.failures = span.failures
    fault = session.get(LenderFault, locked.fault_id) if locked.fault_id else None
    if fault is None:
        return True
    fault.ends_on = max(fault.starts_on, business_day(span.ended_at))
    record_audit(
        session,
        actor=SYSTEM_ACTOR,
        action="fault.end",
        target_type="lender_fault",
        target_id=fault.id,
        details={"ends_on": fault.ends_on.isoformat(), "channel_answered_at": span.ended_at.isoformat()},
        reason="the channel answers again",
    )
    metrics.emit("payments.channel_outage", event="ended")
    window = FaultWindow(fault.id, FaultKind.CHANNEL_OUTAGE, fault.starts_on, fault.ends_on)
    notify_outage(session, window, fault.ends_on)
    return True


def notify_outage(session: Session, window: FaultWindow, through: date) -> int:
    """Tell the customers with an installment due from the window's start to ``through`` (active
    contracts, current schedule; at most :data:`NOTIFY_LIMIT`), once per customer and window."""
    stmt = (
        select(Contract.customer_id)
        .join(ScheduleRow, ScheduleRow.contract_id == Contract.id)
        .where(
            Contract.status == Status.ACTIVE.value,
            ScheduleRow.version == Contract.schedule_version,
            ScheduleRow.due_date >= window.starts_on,
            ScheduleRow.due_date <= through,
        )
        .distinct()
        .order_by(Contract.customer_id)
        .limit(NOTIFY_LIMIT)
    )
    customers = list(session.scalars(stmt))
    for customer_id in customers:
        enqueue(
            session,
            "customer.notify",
            {
                "customer_id": customer_id,
                "payment_id": None,
                "template": "lender_fault_opened",
                "fault_id": window.fault_id,
                "kind": window.kind.value,
                "starts_on": window.starts_on.isoformat(),
            },
            dedupe_key=f"notify:fault:{window.fault_id}:{customer_id}",
        )
    return len(customers)
