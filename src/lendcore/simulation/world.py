"""The simulated world: customers, their habits, the channel, the worker and the days.

:func:`simulate` ``(session_factory, SimConfig)`` runs ``config.days`` business days on an empty
database and returns a :class:`SimReport`. Everything random comes from ``random.Random(seed)`` (the
world) and the channel engine's own seeded draws, and time from a :class:`SimClock`, so a seed is a
reproducible run: a violation found by seed 17 is found again by seed 17.

A business day, in order (times Asia/Shanghai, on the simulated clock):

* 08:00 the channel's statement of the day before is reconciled;
* 10:00 customers act by their habit (on time, a few days early, late, never, prepaying, paying off),
  through :func:`~lendcore.servicing.settlement.request_repayment`; some double-tap (the same
  idempotency key again: the same payment back) and some reuse a key for another amount (refused,
  nothing written);
* 10:00–22:00 every two hours the worker runs the due jobs (submit, settle) and the channel's due
  callbacks are delivered, signed, through :func:`~lendcore.payments.inbound.handle_callback`; a
  callback not acknowledged is redelivered later. With probability ``kill_rate`` a job's worker dies
  after the job's effect and before its acknowledgement (``WorkerKilled`` is not an ``Exception``:
  nothing catches it): the transaction rolls back, the claim's lease runs out and another worker
  takes the job over;
* 22:00 the stuck-payment sweeper queries the channel and raises what is past its SLA;
* 23:30 the daily close of the business date, then every check of :mod:`lendcore.simulation.checks`.

On an outage day the channel is down 09:00–15:00 and operations record a channel-outage lender fault
for that business date (everyone): the close must not charge anyone penalty for it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError
from lendcore.core.faults import FaultKind
from lendcore.core.schedule import Method
from lendcore.jobs.registry import Handler, JobContext, Registry
from lendcore.jobs.worker import Worker
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.payments.callbacks import sign
from lendcore.payments.inbound import handle_callback
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.sim.faults import parse_faults
from lendcore.payments.sweeper import sweep_stuck_payments
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.faults import record_fault
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import request_repayment
from lendcore.simulation.channel import OrderedChannelSimulation, SimClock, simulated_channel
from lendcore.simulation.checks import every_check
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Customer, ScheduleRow

BUSINESS_TZ: Final = ZoneInfo("Asia/Shanghai")
SECRET: Final = "simulation-callback-secret"
#: The default faults: every kind the channel can act out, often enough to meet each one many times.
DEFAULT_FAULTS: Final = (
    "settle_after=600,callback_delay=60,lost_callback=0.15,duplicate_callback=0.15,out_of_order=0.1,"
    "late_success=0.05,late_after=86400,hang=0.03,slow=0.03,wrong_amount=0.02,insufficient_funds=0.06,"
    "card_frozen=0.02,limit_exceeded=0.01,bank_maintenance=0.02,statement_missing=0.03,"
    "statement_mismatch=0.02,statement_extra=1"
)
_RELAXED: Final = DrawdownConfig(max_drawdowns_per_window=10**9, max_failed_repayments=10**9)
_JOB_KINDS: Final = ("payment.submit", "payment.settled")
_ROUNDS: Final = (10, 12, 14, 16, 18, 20, 22)  # hours at which the worker runs and callbacks arrive


class Habit(StrEnum):
    ON_TIME = "on-time"  # pays each installment on its due date
    EARLY = "early"  # a few days before
    LATE = "late"  # some days after
    NEVER = "never"  # does not pay
    PREPAYER = "prepayer"  # on time, and pays extra now and then


_HABITS: Final = (
    (Habit.ON_TIME, 0.35),
    (Habit.EARLY, 0.2),
    (Habit.LATE, 0.2),
    (Habit.NEVER, 0.1),
    (Habit.PREPAYER, 0.15),
)
_LOANS: Final = (  # product, method, terms, amount range (fen)
    ("quick", Method.EQUAL_INSTALLMENT, (1, 3, 6), (100_000, 2_000_000)),
    ("quick", Method.BULLET, (1,), (50_000, 500_000)),
    ("premium", Method.EQUAL_PRINCIPAL, (3, 6, 12), (500_000, 4_000_000)),
)


class WorkerKilled(BaseException):
    """The worker process died (simulated): raised past every ``except Exception``."""


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 0
    customers: int = 20
    days: int = 30
    start: date = date(2026, 1, 5)
    faults: str = DEFAULT_FAULTS
    kill_rate: float = 0.05
    outage_rate: float = 0.05
    double_tap_rate: float = 0.05
    key_reuse_rate: float = 0.02


@dataclass
class SimReport:
    seed: int
    days: int = 0
    operations: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    checks: int = 0
    seconds: float = 0.0

    def count(self, what: str, n: int = 1) -> None:
        self.operations[what] = self.operations.get(what, 0) + n

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "operations": dict(sorted(self.operations.items())),
            "total_operations": self.total_operations,
            "checks": self.checks,
            "violations": list(self.violations),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class _Borrower:
    customer_id: str
    habit: Habit
    lateness: int  # days early (EARLY) or late (LATE)
    dues: list[tuple[date, int]]  # the planned installments: due date, total
    keys: int = 0

    def key(self) -> str:
        self.keys += 1
        return f"sim-{self.customer_id}-{self.keys}"


def _pick_habit(rng: random.Random) -> Habit:
    draw_ = rng.random()
    for habit, weight in _HABITS:
        draw_ -= weight
        if draw_ < 0:
            return habit
    return Habit.ON_TIME


def _borrower(session: Session, rng: random.Random, on: date, number: int) -> _Borrower:
    customer = Customer(status="active")
    session.add(customer)
    session.flush()
    product, method, terms, (low, high) = rng.choice(_LOANS)
    line = open_credit_line(
        session,
        customer_id=customer.id,
        product_code=product,
        credit_limit=5_000_000,
        pricing_grade=rng.choice("ABC"),
        business_date=on,
        actor="simulation",
    )
    request = DrawRequest(
        line_id=line.id,
        amount=rng.randrange(low, high, 100),
        term=rng.choice(terms),
        business_date=on,
        idempotency_key=f"sim-draw-{number}",
        method=method,
    )
    contract_id = draw(session, request, gate=drawdown_gate(_RELAXED)).contract_id
    dues = session.execute(
        select(ScheduleRow.due_date, ScheduleRow.total)
        .where(ScheduleRow.contract_id == contract_id)
        .order_by(ScheduleRow.period)
    ).all()
    habit = _pick_habit(rng)
    return _Borrower(
        customer.id,
        habit,
        rng.randint(1, 20) if habit is Habit.LATE else rng.randint(1, 5),
        [(d, t) for d, t in dues],
    )


def _wanted(borrower: _Borrower, day: date, rng: random.Random) -> tuple[CustomerMode, int | None] | None:
    """What the borrower pays today, by habit: (mode, amount) or None."""
    if borrower.habit is Habit.NEVER:
        return None
    if rng.random() < 0.003:
        return CustomerMode.PAY_OFF_ALL, None
    shift = {Habit.EARLY: -borrower.lateness, Habit.LATE: borrower.lateness}.get(borrower.habit, 0)
    for due, total in borrower.dues:
        if due + timedelta(days=shift) == day:
            return CustomerMode.BY_AMOUNT, total
    if borrower.habit is Habit.PREPAYER and rng.random() < 0.02:
        return CustomerMode.BY_AMOUNT, rng.randrange(100, 50_000)
    return None


class Simulation:
    def __init__(self, session_factory: sessionmaker[Session], config: SimConfig) -> None:
        self.factory = session_factory
        self.config = config
        self.rng = random.Random(config.seed)
        # day 0 starts at the next local midnight after now: jobs are stamped with the wall clock
        # (outbox), so simulated time must never be behind it
        local = datetime.now(BUSINESS_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        self.epoch = (local + timedelta(days=1)).timestamp()
        self.clock = SimClock(self.epoch)
        self.outage_days = {d for d in range(config.days) if self.rng.random() < config.outage_rate}
        # outage windows span days, beyond what a --faults spec may say: set on the parsed spec
        outages = tuple((d * 86400.0 + 9 * 3600, d * 86400.0 + 15 * 3600) for d in sorted(self.outage_days))
        spec = replace(parse_faults(config.faults), outages=outages)
        self.engine = OrderedChannelSimulation(config.seed, spec, clock=self.clock)
        self.channel = simulated_channel(self.engine)
        self.report = SimReport(config.seed)
        self.borrowers: list[_Borrower] = []
        self.workers = 0

    # --- time ---------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def at(self, day_index: int, hour: float) -> None:
        target = self.epoch + day_index * 86400 + hour * 3600
        self.clock.advance(max(0.0, target - self.clock()))

    # --- the worker, which may die ----------------------------------------------------------------------
    def _registry(self) -> Registry:
        source = default_registry(self.channel)
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

    # --- the customers' side ------------------------------------------------------------------------
    def _request(
        self, borrower: _Borrower, day: date, mode: CustomerMode, amount: int | None, key: str
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
            wanted = _wanted(borrower, day, self.rng)
            if wanted is None:
                continue
            mode, amount = wanted
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
        the first simulated days on."""
        start = self.config.start
        days = sorted(start - timedelta(days=self.rng.randrange(30)) for _ in range(self.config.customers))
        for number, on in enumerate(days):
            if number and on > days[number - 1]:
                run_daily_close(self.factory, on - timedelta(days=1))
            with unit_of_work(self.factory) as session:
                self.borrowers.append(_borrower(session, self.rng, on, number))
        if days[-1] < start:
            run_daily_close(self.factory, start - timedelta(days=1))
        self.report.count("drawdowns", self.config.customers)

    def day(self, index: int) -> None:
        day = self.config.start + timedelta(days=index)
        self.at(index, 8)
        if index:
            self.reconcile(index)
        if index in self.outage_days:
            with unit_of_work(self.factory) as session:
                record_fault(
                    session,
                    kind=FaultKind.CHANNEL_OUTAGE,
                    starts_on=day,
                    ends_on=day,
                    reason="channel down 09:00-15:00",
                    actor="operations",
                    now=self.now(),
                )
        self.at(index, 10)
        self.customers_act(day)
        for hour in _ROUNDS:
            self.at(index, hour)
            self.run_jobs()
            self.deliver_callbacks()
            self.run_jobs()
        report = sweep_stuck_payments(self.factory, self.channel, now=self.now())
        self.report.count("channel_queries", report.queried)
        self.run_jobs()
        self.at(index, 23.5)
        run_daily_close(self.factory, day)
        self.report.count("contract_days", len(self.borrowers))
        with unit_of_work(self.factory, read_only=True) as session:
            found = every_check(session, self.engine, day, self.now())
        self.report.checks += 1
        self.report.violations.extend(f"{day}: {v}" for v in found)
        self.report.days = index + 1


def simulate(session_factory: sessionmaker[Session], config: SimConfig) -> SimReport:
    """Run the simulation (see the module docstring) on an empty database."""
    started = time.perf_counter()
    world = Simulation(session_factory, config)
    world.open_book()
    for index in range(config.days):
        world.day(index)
    world.report.seconds = time.perf_counter() - started
    world.channel.close()
    return world.report
