"""The simulated world: customers, their habits, the channel, the worker and the days.

:func:`simulate` ``(session_factory, SimConfig)`` runs ``config.days`` business days on an empty
database and returns a :class:`SimReport`. Everything random comes from ``random.Random(seed)`` (the
world), the channel engine's and the notification provider's own seeded draws, and time from a
:class:`SimClock` whose dates are the business dates, so a seed is a reproducible run: a violation
found by seed 17 is found again by seed 17.

A business day, in order (times Asia/Shanghai, on the simulated clock):

* 08:00 the channel's statement of the day before is reconciled; the ``scheduled.take`` job takes the
  day's booked repayments (:mod:`lendcore.simulation.collect`);
* 09:30 the ``autopay.run`` job, attempt 1 (not on a missed-run day);
* 10:00 customers who book ahead book and cancel; customers act by their habit (on time, a few days
  early, late, never, prepaying, paying off), through
  :func:`~lendcore.servicing.settlement.request_repayment`; some double-tap (the same idempotency key
  again: the same payment back) and some reuse a key for another amount (refused, nothing written);
  the ``reminders.run`` job;
* 10:00–22:00 every two hours (and at 15:30, after autopay attempt 2) the worker runs the due jobs
  (submit, settle, autopay, reminders, notifications) and the channel's due callbacks are delivered,
  signed, through :func:`~lendcore.payments.inbound.handle_callback`; a callback not acknowledged is
  redelivered later; then what the ``payments.sweep`` job does
  (:func:`~lendcore.batch.jobs.sweep_payments`: the stuck-payment sweeper, payment faults, and the
  channel-outage detector) and what the ``notifications.sweep`` job does (receipts, polls, deadlines,
  flags, ``reminder_undelivered`` faults). With probability ``kill_rate`` a job's
  worker dies after the job's effect and before its acknowledgement (``WorkerKilled`` is not an
  ``Exception``: nothing catches it): the transaction rolls back, the claim's lease runs out and
  another worker takes the job over;
* 23:30 the daily close of the business date, then every check of :mod:`lendcore.simulation.checks`
  and :mod:`lendcore.simulation.checks_collect`.

On an outage day the channel is down 09:00–15:00 (it refuses every call and sends no callbacks); the
outage detector must open exactly one channel-outage window for it from what the channel answered.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry, sweep_payments
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError
from lendcore.jobs.registry import Handler, JobContext, Registry
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.jobs.worker import Worker
from lendcore.notify.delivery import CustomerAddresses
from lendcore.payments.callbacks import sign
from lendcore.payments.inbound import handle_callback
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.sim.faults import parse_faults
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import request_repayment
from lendcore.simulation.borrowers import Borrower, new_borrower, wanted
from lendcore.simulation.channel import OrderedChannelSimulation, SimClock, simulated_channel
from lendcore.simulation.checks import every_check
from lendcore.simulation.checks_collect import every_collect_check, outages_too_sparse
from lendcore.simulation.collect import AUTOPAY_HOURS, JOB_KINDS, Collection
from lendcore.simulation.config import DEFAULT_FAULTS, CollectConfig, SimConfig, SimReport
from lendcore.simulation.desk import clear_open_suspense
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.models_notify import Notification, ScheduledRepayment
from lendcore.store.models_payments import ChannelSuspense, LenderFault

__all__ = ["DEFAULT_FAULTS", "CollectConfig", "SimConfig", "SimReport", "Simulation", "simulate"]

SECRET: Final = "simulation-callback-secret"
_JOB_KINDS: Final = ("payment.submit", "payment.settled", *JOB_KINDS)
_ROUNDS: Final = (10, 12, 14, AUTOPAY_HOURS[2], 16, 18, 20, 22)  # worker runs, callbacks arrive
_OUTAGE_HOURS: Final = (9, 15)


class WorkerKilled(BaseException):
    """The worker process died (simulated): raised past every ``except Exception``."""


class Simulation:
    def __init__(self, session_factory: sessionmaker[Session], config: SimConfig) -> None:
        self.factory = session_factory
        self.config = config
        self.rng = random.Random(config.seed)
        # day 0 starts at the start date's local midnight: business dates are the clock's dates (the
        # outage detector and the reminder faults date their windows by the clock). Jobs are stamped
        # with the wall clock (outbox), so simulated time must never be behind it.
        local = datetime(config.start.year, config.start.month, config.start.day, tzinfo=BUSINESS_TZ)
        if local < datetime.now(UTC):
            raise ValueError(f"the simulation starts after today, not on {config.start}")
        self.epoch = local.timestamp()
        self.clock = SimClock(self.epoch)
        self.outage_days = {d for d in range(config.days) if self.rng.random() < config.outage_rate}
        # outage windows span days, beyond what a --faults spec may say: set on the parsed spec
        start, end = (h * 3600.0 for h in _OUTAGE_HOURS)
        outages = tuple((d * 86400.0 + start, d * 86400.0 + end) for d in sorted(self.outage_days))
        self.outages = [(self._instant(a), self._instant(b)) for a, b in outages]
        spec = replace(parse_faults(config.faults), outages=outages)
        self.engine = OrderedChannelSimulation(config.seed, spec, clock=self.clock)
        self.channel = simulated_channel(self.engine)
        self.report = SimReport(config.seed)
        self.collect = Collection(
            session_factory, config.collect, config.seed, config.days, self.now, self.report
        )
        self.borrowers: list[Borrower] = []
        self.workers = 0
        self._handlers: Registry | None = None
        self.sweeps: list[datetime] = []  # when the outage detector ran

    # --- time ---------------------------------------------------------------------------------------
    def _instant(self, since_epoch: float) -> datetime:
        return datetime.fromtimestamp(self.epoch + since_epoch, UTC)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def at(self, day_index: int, hour: float) -> None:
        target = self.epoch + day_index * 86400 + hour * 3600
        self.clock.advance(max(0.0, target - self.clock()))

    # --- the worker, which may die ----------------------------------------------------------------------
    def _registry(self) -> Registry:
        if self._handlers is None:
            self._handlers = self._build_registry()
        return self._handlers

    def _build_registry(self) -> Registry:
        source = default_registry(self.channel, self.collect.provider, CustomerAddresses())
        registry = Registry()
        for kind in _JOB_KINDS:
            handler = source.get(kind)
            assert handler is not None
            registry.handlers[kind] = Handler(
                kind, self._mortal(handler), handler.transactional, handler.lease
            )
        return registry

    def _mortal(self, handler: Handler) -> Any:
        def run(ctx: JobContext) -> None:
            handler.fn(ctx)
            if self.rng.random() < self.config.kill_rate:
                raise WorkerKilled(f"killed after job {ctx.job_id} ({ctx.kind})")

        return run

    def run_jobs(self) -> None:
        registry = self._registry()
        while True:
            self.workers += 1
            worker = Worker(
                self.factory,
                registry,
                worker_id=f"sim-{self.workers}",
                clock=self.now,
                rng=random.Random(self.rng.random()),
            )
            try:
                self.report.count("jobs", worker.run_until_idle())
                return
            except WorkerKilled:
                self.report.count("worker_kills")
                # the dead worker's claim runs out before anyone else may take the job over
                self.clock.advance(max(h.lease for h in registry).total_seconds() + 1)

    # --- the channel's side -------------------------------------------------------------------------
    def deliver_callbacks(self) -> None:
        for delivery in self.engine.due_callbacks():
            at = self.now()
            body = delivery.body
            headers = {"Content-Type": "application/json", **sign([SECRET], body, at)}
            ack = handle_callback(self.factory, headers, body, secrets=[SECRET], now=at)
            self.report.count("callbacks")
            if not 200 <= ack.status < 300 and delivery.attempt < 5:
                self.engine.redeliver(delivery, self.clock() + 60.0 * 2**delivery.attempt)

    def reconcile(self, day_index: int) -> None:
        wall_day = datetime.fromtimestamp(self.epoch + (day_index - 1) * 86400 + 43200, BUSINESS_TZ).date()
        statement = self.engine.statement(wall_day)
        report = reconcile_statement(self.factory, statement, now=self.now())
        self.report.count("statement_rows", len(statement.rows))
        self.report.count("reconciled_discrepancies", report.discrepancies)
        for action, n in clear_open_suspense(self.factory, self.engine, self.now()).items():
            self.report.count(f"suspense_{action}", n)

    def sweep(self) -> None:
        """What the scheduled ``payments.sweep`` and ``notifications.sweep`` jobs do (their handlers'
        functions, called as the handlers call them); the jobs they queue run in the next round."""
        opened = sweep_payments(self.factory, self.channel, now=self.now())
        self.report.count("faults_opened_by_sweeps", len(opened))
        self.report.count("sweeps")
        self.sweeps.append(self.now())
        self.collect.sweep_notifications()

    # --- the customers' side ------------------------------------------------------------------------
    def _request(
        self, borrower: Borrower, day: date, mode: CustomerMode, amount: int | None, key: str
    ) -> str | None:
        request = RepayRequest(
            customer_id=borrower.customer_id, business_date=day, idempotency_key=key, amount=amount, mode=mode
        )
        try:
            with unit_of_work(self.factory) as session:
                return request_repayment(session, request, now=self.now()).payment_id
        except LendcoreError as error:
            self.report.count(f"refused:{error.code}")
            return None

    def customers_act(self, day: date) -> None:
        for borrower in self.borrowers:
            want = wanted(borrower, day, self.rng)
            if want is None:
                continue
            mode, amount = want
            key = borrower.key()
            first = self._request(borrower, day, mode, amount, key)
            self.report.count("repayment_requests")
            if first is not None and self.rng.random() < self.config.double_tap_rate:
                again = self._request(borrower, day, mode, amount, key)
                self.report.count("double_taps")
                if again != first:
                    self.report.violations.append(f"{day}: a replayed key gave payment {again}, not {first}")
            if first is not None and amount and self.rng.random() < self.config.key_reuse_rate:
                if self._request(borrower, day, mode, amount + 1, key) is not None:
                    self.report.violations.append(f"{day}: key {key} reused for another amount was accepted")
                self.report.count("key_reuses")

    # --- a day --------------------------------------------------------------------------------------
    def open_book(self) -> None:
        """Every customer draws on a day of the month before the start, in date order, each day
        closed before the next (the business date only moves forward): installments fall due from
        the first simulated days on. Some mandate autopay or book ahead (collect)."""
        start = self.config.start
        days = sorted(start - timedelta(days=self.rng.randrange(30)) for _ in range(self.config.customers))
        for number, on in enumerate(days):
            if number and on > days[number - 1]:
                run_daily_close(self.factory, on - timedelta(days=1))
            with unit_of_work(self.factory) as session:
                borrower = new_borrower(session, self.rng, on, number)
                self.collect.enroll(session, borrower)
                self.borrowers.append(borrower)
        if days[-1] < start:
            run_daily_close(self.factory, start - timedelta(days=1))
        self.report.count("drawdowns", self.config.customers)

    def morning(self, index: int, day: date) -> None:
        self.at(index, 8)
        if index:
            self.reconcile(index)
        self.collect.take_scheduled(day)
        self.run_jobs()
        self.at(index, AUTOPAY_HOURS[1])
        self.collect.autopay(index, day, 1)
        self.run_jobs()
        self.at(index, 10)
        self.collect.book_and_cancel(self.borrowers, day)
        self.customers_act(day)
        self.collect.remind(day)

    def day(self, index: int) -> None:
        day = self.config.start + timedelta(days=index)
        self.morning(index, day)
        for hour in _ROUNDS:
            self.at(index, hour)
            if hour == AUTOPAY_HOURS[2]:
                self.collect.autopay(index, day, 2)
            self.run_jobs()
            self.deliver_callbacks()
            self.run_jobs()
            self.sweep()
        self.run_jobs()  # what the last sweep queued, before the close
        self.at(index, 23.5)
        run_daily_close(self.factory, day)
        self.report.count("contract_days", len(self.borrowers))
        with unit_of_work(self.factory, read_only=True) as session:
            now = self.now()
            found = every_check(session, self.engine, day, now, self.sweeps[-1] if self.sweeps else None)
            found += every_collect_check(session, day, now, self.outages, self.sweeps)
        self.report.checks += 1
        self.report.violations.extend(f"{day}: {v}" for v in found)
        self.report.days = index + 1

    def tally(self) -> None:
        """What the run met, from the database: faults by kind, reminders by state, bookings by status,
        autopay debits by state."""
        with unit_of_work(self.factory, read_only=True) as session:
            for name, column in (
                ("faults", LenderFault.kind),
                ("reminders", Notification.state),
                ("bookings", ScheduledRepayment.status),
                ("suspense", ChannelSuspense.status),
            ):
                stmt = select(column, func.count()).group_by(column)
                if name == "reminders":
                    stmt = stmt.where(Notification.group_key.like("reminder:%"))
                for value, n in session.execute(stmt).all():
                    self.report.met[f"{name}:{value}"] = int(n)
            autopay = select(Payment.state, func.count()).where(Payment.idempotency_key.like("%:autopay:%"))
            for state, n in session.execute(autopay.group_by(Payment.state)).all():
                self.report.met[f"autopay_debits:{state}"] = int(n)
            self.report.met["outages_too_sparse"] = outages_too_sparse(session, self.outages)


def simulate(session_factory: sessionmaker[Session], config: SimConfig) -> SimReport:
    """Run the simulation (see the module docstring) on an empty database."""
    started = time.perf_counter()
    world = Simulation(session_factory, config)
    world.open_book()
    for index in range(config.days):
        world.day(index)
    world.report.seconds = time.perf_counter() - started
    world.tally()
    world.channel.close()
    return world.report
