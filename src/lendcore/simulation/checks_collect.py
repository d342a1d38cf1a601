"""What must hold after every simulated day for collection and outages (the sibling of
:mod:`lendcore.simulation.checks`; each check returns its violations as sentences naming the object):

6. **autopay ran, or it is our fault**: every contract with a mandate and an installment due on a
   day of the look back has a successful ``autopay.run`` for that day, or an ``autopay_missed``
   fault from it once a later day's run has succeeded (its morning start raises every missed day
   of its look back);
7. **autopay debits an installment once**: at most one succeeded autopay payment per contract and
   due date, whatever the attempts, retries and fallback cards did;
8. **an undelivered reminder is flagged and faulted**: once past its deadline no reminder message is
   still pending; every reminder none of whose messages was delivered is flagged and names a
   ``reminder_undelivered`` fault of its customer covering its due date (or the day it was sent);
9. **a scheduled repayment is taken at most once, that day, and applied on its due date**: at most
   one payment per booking; nothing booked is left untaken past its take date; a taken booking's
   payment is value-dated its take date; a failed payment fails the booking; held money booked by
   the close of its due date is applied that day (a credit application on the due date) and not on
   the days before, unless the contract was in arrears (held money pays what is already due at
   once, stopping its penalty; it never pays the booked installment early);
10. **every channel outage gets exactly one window**: for each outage the world injected, if the
    outage rule (:func:`~lendcore.core.outages.outage_spans`) finds an outage in what the channel
    answered within the reach of one of the detector's runs (its look back, followed back to the
    channel's last answer), exactly one ``channel_outages`` row started inside it, with a
    ``channel_outage`` fault covering its day; otherwise no row; and no row starts outside an injected
    outage. (``outages_too_sparse`` counts outages the rule finds over their whole length with no row:
    0 since the detector follows a run of failures back past its look back.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.batch.autopay import JOB_KIND as AUTOPAY_JOB
from lendcore.batch.autopay import contracts_due
from lendcore.batch.autopay_missed import MISSED_RUN_LOOK_BACK_DAYS
from lendcore.core.faults import FaultKind
from lendcore.core.outages import DEFAULT_RULE, outage_spans
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.notify.delivery import UNDELIVERED
from lendcore.origination.autopay import active_mandates
from lendcore.servicing.outages import LOOKBACK, MAX_REACH_BACK, channel_outcomes
from lendcore.servicing.repository import state_as_of
from lendcore.store.models import Contract, LoanTransaction, Payment
from lendcore.store.models_jobs import Job
from lendcore.store.models_notify import Notification, ScheduledRepayment
from lendcore.store.models_payments import ChannelOutage, LenderFault

_AUTOPAY_KEY = "repay-request:autopay:"
_SCHEDULED_KEY = "repay-request:scheduled:"


def autopay_ran(session: Session, day: date) -> list[str]:
    """Check 6 for the days of the look back before ``day``: a day with no succeeded run, once a
    later day's run has succeeded (its morning start looks back for missed days), has an
    ``autopay_missed`` fault for each contract due that day with a mandate. (Only the day before was
    checked, at the end of the next day: two missed days in a row were reported although the first
    run back raises both.)"""
    done = select(Job.payload).where(Job.kind == AUTOPAY_JOB, Job.status == "succeeded")
    ran = {str(p.get("business_date")) for p in session.scalars(done)}
    found = []
    for back in range(MISSED_RUN_LOOK_BACK_DAYS, 0, -1):
        missed_day = day - timedelta(days=back)
        later_ran = any((missed_day + timedelta(days=k)).isoformat() in ran for k in range(1, back + 1))
        if missed_day.isoformat() in ran or not later_ran:
            continue
        faulted = select(LenderFault.contract_id).where(
            LenderFault.kind == FaultKind.AUTOPAY_MISSED.value, LenderFault.starts_on == missed_day
        )
        raised = set(session.scalars(faulted))
        found += [
            f"contract {c.id}: due {missed_day} with a mandate, no autopay run and no autopay_missed fault"
            for c in contracts_due(session, missed_day)
            if c.id not in raised and active_mandates(session, c.customer_id)
        ]
    return found


def autopay_once(session: Session) -> list[str]:
    """Check 7: keys are ``autopay:<contract>:<due date>:<attempt>``."""
    keys = select(Payment.idempotency_key).where(
        Payment.idempotency_key.like(f"{_AUTOPAY_KEY}%"), Payment.state == "succeeded"
    )
    debits = Counter(tuple(str(k).removeprefix(_AUTOPAY_KEY).split(":")[:2]) for k in session.scalars(keys))
    return [f"contract {c} debited {n}× by autopay for {d}" for (c, d), n in sorted(debits.items()) if n > 1]


def reminders_flagged(session: Session, swept: datetime) -> list[str]:
    """Check 8, for the reminders the last notifications sweep (at ``swept``) had to decide."""
    rows = session.scalars(
        select(Notification).where(Notification.group_key.like("reminder:%")).order_by(Notification.id)
    ).all()
    found = [
        f"reminder message {r.id} still {r.state} past its deadline {r.confirm_by}"
        for r in rows
        if r.state in ("queued", "sent") and r.confirm_by is not None and r.confirm_by <= swept
    ]
    groups: dict[str, list[Notification]] = {}
    for row in rows:
        groups.setdefault(str(row.group_key), []).append(row)
    faults = {
        f.id: f
        for f in session.scalars(select(LenderFault).where(LenderFault.kind == "reminder_undelivered"))
    }
    for group, members in groups.items():
        if not all(m.state in UNDELIVERED for m in members):
            continue
        first = members[0]
        starts = max(first.due_date or date.min, first.queued_at.astimezone(BUSINESS_TZ).date())
        for m in members:
            fault = faults.get(m.fault_id or "")
            if m.flagged_at is None or fault is None:
                found.append(f"reminder {group} undelivered ({m.state}) and not flagged with a fault")
            elif fault.customer_id != m.customer_id or not (
                fault.starts_on <= starts and (fault.ends_on is None or starts <= fault.ends_on)
            ):
                found.append(f"reminder {group}: fault {fault.id} does not cover {starts} for its customer")
    return found


def _credit_days(session: Session, contract_id: str) -> list[date]:
    stmt = select(LoanTransaction.value_date).where(
        LoanTransaction.contract_id == contract_id, LoanTransaction.type == "credit-application"
    )
    return list(session.scalars(stmt))


def scheduled_taken_once_and_applied(session: Session, day: date) -> list[str]:
    """Check 9."""
    found = []
    keys = select(Payment.idempotency_key).where(Payment.idempotency_key.like(f"{_SCHEDULED_KEY}%"))
    taken = Counter(str(k).removeprefix(_SCHEDULED_KEY) for k in session.scalars(keys))
    found += [f"scheduled repayment {s} taken {n}×" for s, n in sorted(taken.items()) if n > 1]
    bookings = session.scalars(select(ScheduledRepayment).order_by(ScheduledRepayment.id)).all()
    for row in bookings:
        if row.status == "booked" and row.take_on <= day:
            found.append(f"scheduled repayment {row.id} still booked after its take date {row.take_on}")
        if row.status != "taken" and not (row.status == "failed" and row.payment_id):
            continue
        payment = session.get(Payment, row.payment_id) if row.payment_id else None
        if payment is None:
            found.append(f"scheduled repayment {row.id} is {row.status} without a payment")
            continue
        if payment.value_date != row.take_on:
            found.append(f"scheduled repayment {row.id} taken for {payment.value_date}, not {row.take_on}")
        if payment.state == "failed" and row.status != "failed":
            found.append(f"scheduled repayment {row.id}: its payment failed, the booking is {row.status}")
        if row.due_date == day and payment.state == "succeeded":
            found += _applied_on_due_date(session, row, payment)
    return found


def _arrears(session: Session, row: ScheduledRepayment, on: date) -> bool:
    """Whether the contract owed something due by ``on`` the evening before: held money may pay
    arrears at once (a credit application pays only what is due, so never the booked installment
    before its due date), which stops their penalty; waiting for the due date would charge the
    customer penalty on money we hold."""
    contract = session.get(Contract, row.contract_id)
    if contract is None:
        return False
    state = state_as_of(session, contract, on - timedelta(days=1))
    return any(r.due_date <= on and r.outstanding > 0 for r in state.rows)


def _applied_on_due_date(session: Session, row: ScheduledRepayment, payment: Payment) -> list[str]:
    held = select(LoanTransaction.id).where(
        LoanTransaction.payment_id == payment.id, LoanTransaction.type == "repayment"
    )
    if session.scalars(held.limit(1)).first() is None:
        return []  # not booked yet (confirmed late): applied by the close of the day it is
    days = _credit_days(session, row.contract_id)
    early = sorted(d for d in days if row.take_on <= d < row.due_date and not _arrears(session, row, d))
    found = [
        f"scheduled repayment {row.id}: credit applied on {d}, before its due date {row.due_date}"
        for d in early[:1]
    ]
    if row.due_date not in days:
        found.append(f"scheduled repayment {row.id}: held money not applied on its due date {row.due_date}")
    return found


def _seen(session: Session, start: datetime, end: datetime, sweeps: Sequence[datetime]) -> bool:
    """Whether a detector run at one of ``sweeps`` could find an outage starting in ``[start, end)``:
    the rule over what the channel answered in that run's look back."""
    for at in sweeps:
        if start < at <= end + LOOKBACK:
            # the detector's reach: its look back, followed back to the channel's last answer
            since = at - LOOKBACK - MAX_REACH_BACK
            spans = outage_spans(channel_outcomes(session, since, at), DEFAULT_RULE)
            if any(start <= span.started_at < end for span in spans):
                return True
    return False


def outages_windowed(
    session: Session, injected: Sequence[tuple[datetime, datetime]], sweeps: Sequence[datetime], now: datetime
) -> list[str]:
    """Check 10, for the injected outages ``(start, end)`` that ended in the two days before ``now``
    (a detector finds an outage at most a look back after its end); the sweeps are the instants the
    detector ran."""
    rows = session.scalars(select(ChannelOutage).order_by(ChannelOutage.started_at)).all()
    found = [
        f"channel outage {o.id} from {o.started_at} opened outside any injected outage"
        for o in rows
        if not any(start <= o.started_at < end for start, end in injected)
    ]
    for start, end in injected:
        if not now - timedelta(days=2) < end <= now:
            continue
        seen = _seen(session, start, end, sweeps)
        inside = [o for o in rows if start <= o.started_at < end]
        if len(inside) != int(seen):
            found.append(
                f"outage {start}–{end}: {'an' if seen else 'no'} outage within a look back, "
                f"{len(inside)} channel outage rows opened"
            )
        for outage in inside:
            fault = session.get(LenderFault, outage.fault_id) if outage.fault_id else None
            on = start.astimezone(BUSINESS_TZ).date()
            if (
                fault is None
                or fault.kind != FaultKind.CHANNEL_OUTAGE.value
                or not (fault.starts_on <= on and (fault.ends_on is None or on <= fault.ends_on))
            ):
                found.append(f"channel outage {outage.id}: no channel_outage window covering {on}")
    return found


def outages_too_sparse(session: Session, injected: Sequence[tuple[datetime, datetime]]) -> int:
    """Injected outages the rule finds over their whole length that have no row (none expected: the
    detector reaches back past :data:`~lendcore.servicing.outages.LOOKBACK` to the last answer)."""
    rows = session.scalars(select(ChannelOutage.started_at)).all()
    return sum(
        1
        for start, end in injected
        if outage_spans(channel_outcomes(session, start, end - timedelta(microseconds=1)), DEFAULT_RULE)
        and not any(start <= at < end for at in rows)
    )


def every_collect_check(
    session: Session,
    day: date,
    now: datetime,
    injected: Sequence[tuple[datetime, datetime]],
    sweeps: Sequence[datetime],
) -> list[str]:
    return (
        autopay_ran(session, day)
        + autopay_once(session)
        + reminders_flagged(session, sweeps[-1])
        + scheduled_taken_once_and_applied(session, day)
        + outages_windowed(session, injected, sweeps, now)
    )
