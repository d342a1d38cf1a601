"""The scheduler: turns timed schedules into jobs, each scheduled instant exactly once.

A tick looks at every schedule whose kind has a handler, lists its instants in ``(now − grace, now]``
(:func:`lendcore.jobs.schedule.instants`) and enqueues one job per instant with
``dedupe_key = "schedule:<name>:<instant in UTC>"``. The key is unique in ``jobs``, so however many
workers tick, however often, and whatever crashes in between, an instant gets one job. An instant
missed by more than its ``grace`` (every worker down) is skipped, as APScheduler's misfire grace time
does: a sweep that is an hour late is replaced by the next one.

A daily job that must happen every day, however late, has its whole period (a day) as its grace, so
at any minute its latest instant is due: the daily close (a worker back at 23:30 still closes
yesterday; with 23 hours, 23:05–00:05 found no close due, and the close catches up every date not
closed before it), reconciliation (which also reads any of the week's statements left unread) and
privacy retention. The 预约还款 take must happen on its own business day: its grace runs to the end
of that day (16 hours from 08:00), and a booking whose due date passed untaken is our fault (a
``scheduled_missed`` window, :mod:`lendcore.servicing.scheduled`). Autopay (2 h: a missed run is a
fault window too) and reminders (6 h: a reminder in the night is worse than none) are deliberately
shorter.

No state but the jobs table: nothing to keep in step between schedulers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from lendcore.jobs.outbox import enqueue
from lendcore.jobs.schedule import BUSINESS_TZ, Spec, instants, parse_schedule
from lendcore.store.engine import unit_of_work

Payload = Callable[[datetime], dict[str, Any]]


def _no_payload(_instant: datetime) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    spec_text: str
    kind: str
    payload: Payload = _no_payload  # from the scheduled instant (e.g. the business date it covers)
    grace: timedelta = timedelta(minutes=10)
    spec: Spec = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", parse_schedule(self.spec_text))


@dataclass(frozen=True, slots=True)
class DueRun:
    schedule: ScheduledJob
    instant: datetime

    @property
    def dedupe_key(self) -> str:
        return f"schedule:{self.schedule.name}:{self.instant.isoformat()}"


def due_runs(schedules: Iterable[ScheduledJob], now: datetime) -> list[DueRun]:
    """Every schedule's instants within its grace before ``now`` (pure)."""
    return [
        DueRun(schedule, instant)
        for schedule in schedules
        for instant in instants(schedule.spec, now - schedule.grace, now, BUSINESS_TZ)
    ]


def tick(
    session_factory: sessionmaker[Session],
    schedules: Sequence[ScheduledJob],
    now: datetime,
    kinds: Iterable[str] | None = None,
) -> list[DueRun]:
    """Enqueue the due runs of ``schedules`` (only those of ``kinds``, when given) in one transaction;
    the runs looked at (a run already enqueued is left as it is)."""
    allowed = set(kinds) if kinds is not None else None
    runs = due_runs([s for s in schedules if allowed is None or s.kind in allowed], now)
    if runs:
        with unit_of_work(session_factory) as session:
            for run in runs:
                payload = {"scheduled_for": run.instant.isoformat(), **run.schedule.payload(run.instant)}
                enqueue(session, run.schedule.kind, payload, run_at=run.instant, dedupe_key=run.dedupe_key)
    return runs


def local_date(instant: datetime) -> date:
    return instant.astimezone(BUSINESS_TZ).date()


def _today(instant: datetime) -> dict[str, Any]:
    return {"business_date": local_date(instant).isoformat()}


def _autopay(instant: datetime) -> dict[str, Any]:
    """The morning run is attempt 1, the afternoon run (from noon, local time) attempt 2."""
    attempt = 1 if instant.astimezone(BUSINESS_TZ).hour < 12 else 2
    return {**_today(instant), "attempt": attempt}


def _yesterday(instant: datetime) -> dict[str, Any]:
    return {"business_date": (local_date(instant) - timedelta(days=1)).isoformat()}


ONE_DAY: Final = timedelta(days=1)

#: lendcore's timed jobs (Asia/Shanghai). A schedule runs only where a handler for its kind is
#: registered (:func:`lendcore.batch.jobs.default_registry`; reconciliation only with a channel).
DEFAULT_SCHEDULES: Final = (
    ScheduledJob("payments-sweep", "every 1m", "payments.sweep", grace=timedelta(minutes=5)),
    ScheduledJob("channel-outages", "every 5m", "channel.outages", grace=timedelta(minutes=10)),
    ScheduledJob("autopay", "30 9,15 * * *", "autopay.run", _autopay, grace=timedelta(hours=2)),
    ScheduledJob("reminders", "0 10 * * *", "reminders.run", _today, grace=timedelta(hours=6)),
    ScheduledJob("reconciliation", "0 11 * * *", "reconciliation.run", _yesterday, grace=ONE_DAY),
    ScheduledJob("daily-close", "5 0 * * *", "daily-close", _yesterday, grace=ONE_DAY),
    ScheduledJob("notifications-sweep", "every 1m", "notifications.sweep", grace=timedelta(minutes=5)),
    # to the end of its own business day (08:00 + 16 h): the next day's take sees the bookings it missed
    ScheduledJob("scheduled-repayments", "0 8 * * *", "scheduled.take", _today, grace=timedelta(hours=16)),
    ScheduledJob("privacy-retention", "30 2 * * *", "privacy.retention", _yesterday, grace=ONE_DAY),
)
