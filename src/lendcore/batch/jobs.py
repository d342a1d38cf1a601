"""lendcore's own job handlers, and the registry ``lendcore worker`` runs.

* ``payments.sweep``: :func:`lendcore.payments.sweeper.sweep_stuck_payments` (queries need a channel:
  ``LENDCORE_CHANNEL_URL``; without one the sweep still raises payments past their SLA), then
  :func:`lendcore.servicing.faults.open_payment_faults` (a repayment past its SLA opens a
  ``payment_past_sla`` window for its customer, who is told), then
  :func:`lendcore.servicing.outages.detect_channel_outages` (a channel outage opens a ``channel_outage``
  window for everyone, ended when the channel answers again);
* ``channel.outages``: the outage detector alone (scheduled every 5 minutes, so it runs even when no
  sweep does);
* ``payment.submit``: :func:`lendcore.payments.submit.submit_payment` (registered with a channel);
* ``payment.settled``: :func:`lendcore.servicing.settlement.settle_payment`, transactional: the booking
  and the job's acknowledgement commit together (exactly once for a recorded repayment or drawdown);
* ``daily-close``: :func:`lendcore.batch.close.run_daily_close` for the payload's business date (itself
  idempotent per date; a close whose invariant check fails is dead at once, for a person to look at);
* ``autopay.run``: :func:`lendcore.batch.autopay.run_autopay_chunked` for the payload's
  ``business_date`` and ``attempt`` (1 at 09:30, 2 at 15:30), 1,000 contracts per transaction, so not
  transactional with its acknowledgement: a run that dies is run again and requests only what it had
  not (the per-contract key is the marker); attempt 1 first records missed runs of the day before
  (``autopay_missed`` faults).

* ``customer.notify``: :func:`lendcore.notify.jobs.notify_customer` through the sink of
  ``LENDCORE_NOTIFY_SINK`` (not transactional: it calls the sink; each message is sent at most once);
* ``notifications.sweep``: receipts, polls, deadlines, flags and ``reminder_undelivered`` faults;
* ``reminders.run``: :func:`lendcore.batch.reminders.run_reminders` for the payload's business date;
* ``scheduled.take``: :func:`lendcore.servicing.scheduled.take_scheduled` for the payload's date;
* ``reconciliation.run`` (registered with a channel): :func:`lendcore.payments.reconcile.reconcile_day`
  for the payload's date (yesterday's statement at 11:00), and each day of the week before it that has
  no report yet; a channel that cannot answer is retried, a malformed file is dead at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from lendcore.jobs.registry import DEFAULT_LEASE, JobContext, Registry
from lendcore.jobs.worker import PermanentJobError
from lendcore.notify.delivery import AddressBook
from lendcore.notify.sinks import NotificationSink
from lendcore.payments.adapter import ChannelAdapter
from lendcore.payments.sweeper import DEFAULT_LIMITS, SweepLimits, limits_from_env

#: A day's autopay run over a large book takes minutes: no other worker takes it over meanwhile.
AUTOPAY_LEASE = timedelta(hours=1)


def _payload_text(ctx: JobContext, key: str) -> str:
    value = ctx.payload.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentJobError(f"job {ctx.job_id} ({ctx.kind}) has no {key!r} in its payload")
    return value


def sweep_payments(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter | None,
    *,
    now: datetime,
    limits: SweepLimits = DEFAULT_LIMITS,
) -> list[str]:
    """What the ``payments.sweep`` job does: query and escalate stuck payments, then open a lender-fault
    window for each repayment raised past its SLA (the customer is told), then for each channel outage
    the sweep's own queries may have revealed. The faults opened."""
    from lendcore.payments.sweeper import sweep_stuck_payments
    from lendcore.servicing.faults import open_payment_faults
    from lendcore.store.engine import unit_of_work

    sweep_stuck_payments(session_factory, channel, now=now, limits=limits)
    with unit_of_work(session_factory) as session:  # a repayment past its SLA is our fault
        opened = [w.fault_id for w in open_payment_faults(session, now=now)]
    return opened + detect_outages(session_factory, now=now)


def detect_outages(session_factory: sessionmaker[Session], *, now: datetime) -> list[str]:
    """What the ``channel.outages`` job does (and each sweep after it): the outage windows opened."""
    from lendcore.servicing.outages import detect_channel_outages
    from lendcore.store.engine import unit_of_work

    with unit_of_work(session_factory) as session:  # a channel outage is our fault
        return detect_channel_outages(session, now=now).opened


def channel_outages(ctx: JobContext) -> None:
    detect_outages(ctx.session_factory, now=ctx.now)


def _sweep(channel: ChannelAdapter | None, limits: SweepLimits) -> Callable[[JobContext], None]:
    def sweep(ctx: JobContext) -> None:
        sweep_payments(ctx.session_factory, channel, now=ctx.now, limits=limits)

    return sweep


def _submit(channel: ChannelAdapter) -> Callable[[JobContext], None]:
    def submit(ctx: JobContext) -> None:
        from lendcore.payments.submit import submit_payment

        payment_id = _payload_text(ctx, "payment_id")
        submit_payment(
            ctx.session_factory, channel, payment_id, _payload_text(ctx, "account_token"), now=ctx.now
        )

    return submit


def _reconcile(channel: ChannelAdapter) -> Callable[[JobContext], None]:
    def reconcile(ctx: JobContext) -> None:
        from lendcore.payments.reconcile import reconcile_day
        from lendcore.payments.statement import StatementError

        try:
            reconcile_day(ctx.session_factory, channel, _business_date(ctx), now=ctx.now)
        except StatementError as error:  # a malformed file does not improve by asking again
            raise PermanentJobError(f"the channel's statement is not readable: {error}") from error

    return reconcile


def payment_settled(ctx: JobContext) -> None:
    from lendcore.servicing.settlement import settle_payment

    settle_payment(ctx.db(), _payload_text(ctx, "payment_id"), now=ctx.now)


def daily_close(ctx: JobContext) -> None:
    from lendcore.batch.close import run_daily_close

    try:
        business_date = date.fromisoformat(_payload_text(ctx, "business_date"))
    except ValueError:
        raise PermanentJobError(f"bad business_date in job {ctx.job_id}") from None
    report = run_daily_close(ctx.session_factory, business_date)
    if not report.ok:
        raise PermanentJobError(f"the daily close of {business_date} failed: {report.invariants}")


def autopay_run(ctx: JobContext) -> None:
    from lendcore.batch.autopay import run_autopay_chunked
    from lendcore.batch.autopay_missed import record_missed_days
    from lendcore.store.engine import unit_of_work

    try:
        business_date = date.fromisoformat(_payload_text(ctx, "business_date"))
    except ValueError:
        raise PermanentJobError(f"bad business_date in job {ctx.job_id}") from None
    attempt = ctx.payload.get("attempt", 1)
    if attempt not in (1, 2):
        raise PermanentJobError(f"job {ctx.job_id} ({ctx.kind}): attempt must be 1 or 2, got {attempt!r}")
    if attempt == 1:
        with unit_of_work(ctx.session_factory) as session:
            record_missed_days(session, business_date, now=ctx.now)
    run_autopay_chunked(ctx.session_factory, business_date, attempt, now=ctx.now)


def _notify(sink: NotificationSink, addresses: AddressBook) -> Callable[[JobContext], None]:
    def notify(ctx: JobContext) -> None:
        from lendcore.notify.jobs import NotifyPayloadError, notify_customer

        key = ctx.payload.get("dedupe_key")
        try:
            notify_customer(
                ctx.session_factory, sink, ctx.payload, key if isinstance(key, str) else f"job:{ctx.job_id}",
                now=ctx.now, addresses=addresses,
            )  # fmt: skip
        except NotifyPayloadError as error:
            raise PermanentJobError(f"job {ctx.job_id}: {error}") from None

    return notify


def _notifications_sweep(sink: NotificationSink) -> Callable[[JobContext], None]:
    def sweep(ctx: JobContext) -> None:
        from lendcore.notify.delivery import sweep_notifications

        sweep_notifications(ctx.session_factory, sink, now=ctx.now)

    return sweep


def _business_date(ctx: JobContext) -> date:
    try:
        return date.fromisoformat(_payload_text(ctx, "business_date"))
    except ValueError:
        raise PermanentJobError(f"bad business_date in job {ctx.job_id}") from None


def _reminders(sink: NotificationSink, addresses: AddressBook) -> Callable[[JobContext], None]:
    def reminders(ctx: JobContext) -> None:
        from lendcore.batch.reminders import run_reminders

        run_reminders(ctx.session_factory, sink, _business_date(ctx), now=ctx.now, addresses=addresses)

    return reminders


def scheduled_take(ctx: JobContext) -> None:
    from lendcore.servicing.scheduled import take_scheduled

    take_scheduled(ctx.db(), _business_date(ctx), now=ctx.now)


def privacy_retention(ctx: JobContext) -> None:
    """The retention job of the payload's business date, transactional: the erasures and the
    acknowledgement commit together (idempotent: a rerun finds nothing more past its period). The
    key ring is the worker's own (``LENDCORE_PII_KEYS``); a malformed one fails the job for a person."""
    import warnings

    from lendcore.privacy.retention import run_retention
    from lendcore.security.pii import PiiCipher

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the development key ring, as everywhere else
        cipher = PiiCipher.from_env()
    run_retention(ctx.db(), _business_date(ctx), cipher, at=ctx.now)


def default_registry(
    channel: ChannelAdapter | None = None,
    sink: NotificationSink | None = None,
    addresses: AddressBook | None = None,
    sweep_limits: SweepLimits | None = None,
) -> Registry:
    from lendcore.notify.jobs import addresses_from_env, sink_from_env

    notifications = sink or sink_from_env()
    book = addresses or addresses_from_env()
    registry = Registry()
    registry.register("customer.notify", _notify(notifications, book), transactional=False)
    registry.register("notifications.sweep", _notifications_sweep(notifications), transactional=False)
    registry.register("reminders.run", _reminders(notifications, book), transactional=False)
    registry.register("scheduled.take", scheduled_take)
    limits = sweep_limits or limits_from_env()
    # the lease outlasts the sweep's time budget: a long backlog is never taken over mid-run
    sweep_lease = max(DEFAULT_LEASE, limits.time_budget + timedelta(minutes=1))
    registry.register("payments.sweep", _sweep(channel, limits), transactional=False, lease=sweep_lease)
    registry.register("channel.outages", channel_outages, transactional=False)
    registry.register("payment.settled", payment_settled)
    registry.register("daily-close", daily_close, transactional=False, lease=timedelta(hours=2))
    # chunked commits, resumable: a rerun requests nothing twice (lendcore.batch.autopay)
    registry.register("autopay.run", autopay_run, transactional=False, lease=AUTOPAY_LEASE)
    registry.register("privacy.retention", privacy_retention)
    if channel is not None:
        registry.register("payment.submit", _submit(channel), transactional=False)
        # one transaction per statement day, each after its fetch: not transactional with the ack
        registry.register("reconciliation.run", _reconcile(channel), transactional=False)
    return registry
