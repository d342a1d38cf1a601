"""The end-of-day close (日终批量): accrue every active contract to the business date, check the books,
advance the business date.

:func:`run_daily_close` ``(session_factory, D)`` closes every business date not yet closed up to ``D``,
in date order, each date its own close (its own ``job_runs`` row and report), as Apache Fineract's close
of business catches up: with the open business date B (:mod:`lendcore.servicing.business_day`), it
closes B, B+1 … D; a date before B is already closed and the call is a no-op (``skipped``); on a fresh
database the first close establishes B = D. After closing D the open business date is D+1. It stops at
the first date whose close fails. :func:`close_business_days` returns every date's report.

The close of one date D:

1. **claims** the ``daily-close`` job for D under a lease (:mod:`lendcore.batch.lease`): one process at
   a time (``CLOSE_IN_PROGRESS``); a crashed run's lease expires and the next run takes over and
   resumes. A date already closed is not closed again;
2. **applies customer credit**: every customer holding unapplied funds who has an active contract gets
   them applied to what is due on D (:func:`~lendcore.servicing.credit.apply_customer_credit`), one
   transaction per chunk of customers, *before* penalty accrues: a row falling due today is paid
   today. Idempotent: after it, either no credit is left or nothing is due;
3. **accrues** active contracts started by D in chunks of ``chunk_size``, one transaction each: the
   contracts are locked, those already accrued for D are skipped (re-checked under the lock), each
   other one gets one :class:`~lendcore.core.loan.PenaltyAccrual` value-dated D (interest for the days
   before D, penalty for the DPD on D) and its DPD, bucket and classification. The database holds at
   most one such accrual per contract and date (a partial unique index), whatever happens. A chunk
   renews the lease and adds its totals to the job's progress in its own transaction, so a resumed
   close reports the whole date;
4. **checks the invariants** (:func:`~lendcore.servicing.invariants.check_invariants`): every entry
   balances, the trial balance balances, sub-ledger = control accounts, cash received = allocated +
   unapplied; then replays a sample of active contracts (``replay_sample``, 50 by default, picked by
   D: :func:`~lendcore.servicing.replay_sample.check_replay_sample`) against their stored snapshots,
   unless ``verify_replay`` replayed them all. A failed check (a mismatch of the sample included)
   marks the job ``failed`` and leaves the business date on D (a rerun processes nothing new and
   checks again);
5. **advances the business date** to D+1 in the final transaction, which waits for the operations in
   flight on D to commit (:func:`~lendcore.servicing.business_day.advance_business_date`), accrues any
   contract drawn on D while the close ran, and marks the job ``succeeded`` with its report.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from typing import Final

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close_options import (
    DEFAULT_CHUNK,
    DEFAULT_ENGINE,
    ENGINES,
    CloseOptions,
    Timer,
    replay_seed,
)
from lendcore.batch.close_partitions import Progress, accrue_quiet, post_day_aggregates
from lendcore.batch.close_sql import in_flight, quiet_on
from lendcore.batch.lease import DEFAULT_LEASE, Clock, Lease, claim, process_owner
from lendcore.batch.report import CloseReport
from lendcore.core.contract import Status
from lendcore.core.delinquency import bucket
from lendcore.core.errors import ConflictError
from lendcore.core.loan import PenaltyAccrual
from lendcore.core.money import Fen
from lendcore.servicing.aggregate_accrual import aggregated_interest, coverage
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.business_day import (
    advance_business_date,
    hold_for_close,
    next_business_date,
    open_business_date,
)
from lendcore.servicing.credit import apply_customer_credit
from lendcore.servicing.faults import fault_windows, in_recent_window_scope, waive_penalty_in_fault_windows
from lendcore.servicing.invariants import InvariantReport, check_invariants
from lendcore.servicing.partners import sync_partner_ledgers
from lendcore.servicing.replay_sample import check_replay_sample
from lendcore.servicing.repository import RowWriter, write_contracts
from lendcore.servicing.standing import judgements
from lendcore.store.engine import unit_of_work
from lendcore.store.models import DAILY_ACCRUAL_TYPE, Contract, JobRun, LoanTransaction, UnappliedFunds
from lendcore.store.models_close import CloseRange
from lendcore.store.types import utc_now

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_ENGINE",
    "ENGINES",
    "JOB",
    "CloseOptions",
    "CloseReport",
    "close_business_days",
    "run_daily_close",
]

JOB: Final = "daily-close"


def _pending_ids(
    session: Session,
    business_date: date,
    limit: int,
    after: str | None = None,
    *,
    before_quiet: bool = False,
) -> list[str]:
    """Active contracts started by the date, neither folded for it nor accrued in aggregate for it
    (quiet in a range the date's aggregate step has done), in id order after ``after``; with
    ``before_quiet`` only those the quiet step must not take (:func:`_folded_before_quiet`)."""
    done = exists().where(
        LoanTransaction.contract_id == Contract.id,
        LoanTransaction.value_date == business_date,
        LoanTransaction.type == DAILY_ACCRUAL_TYPE,
    )
    counted = exists().where(
        CloseRange.business_date == business_date,
        CloseRange.after_id < Contract.id,
        CloseRange.upto_id >= Contract.id,
    )
    query = select(Contract.id).where(
        Contract.status == Status.ACTIVE.value,
        Contract.start_date <= business_date,
        ~done,
        ~and_(quiet_on(business_date), counted),
    )
    if before_quiet:
        query = query.where(_folded_before_quiet(business_date))
    if after is not None:
        query = query.where(Contract.id > after)
    return list(session.scalars(query.order_by(Contract.id).limit(limit)).all())


def _daily_accrual(on: date, covered: Fen, txn_id: str, seq: int) -> PenaltyAccrual:
    return PenaltyAccrual(txn_id, on, seq, covered)


def _accrue_chunk(session: Session, business_date: date, ids: list[str]) -> tuple[int, int, int]:
    """Accrue the contracts ``ids`` for the date in the caller's transaction: (contracts, interest,
    penalty). One chunk is a handful of statements: the locked contracts' snapshots in one executemany
    UPDATE (version-checked), their accrual rows, entries and postings in one multi-row INSERT each."""
    contracts = session.scalars(
        select(Contract)
        .where(Contract.id.in_(ids))
        .order_by(Contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    # re-checked under the lock: what another close accrued before we got the rows is not redone
    accrued = set(
        session.scalars(
            select(LoanTransaction.contract_id).where(
                LoanTransaction.contract_id.in_(ids),
                LoanTransaction.value_date == business_date,
                LoanTransaction.type == DAILY_ACCRUAL_TYPE,
            )
        ).all()
    )
    writer = RowWriter()
    in_runs = coverage(session)
    processed = interest = penalty = 0
    # the hook every close keeps: money in flight holds penalty and is judged as paid on its value
    # date; overdue status that began in a lender-fault window is suppressed (servicing.standing)
    judged = judgements(session, contracts, business_date, fault_windows(session, business_date))
    for contract in contracts:
        if (
            contract.status != Status.ACTIVE.value
            or contract.start_date > business_date
            or contract.id in accrued
        ):
            continue
        # accrued already, in aggregate: not this date's interest (booking moves it onto the contract)
        # (an overdue contract's run is first booked on it by its own accrual, servicing.booking)
        in_run = contract.aggregated_from is not None and contract.accrual_penalty is None
        until = in_runs.until(contract.id) if in_run else None
        moved = aggregated_interest(contract, until) if until is not None else 0
        judgement = judged.get(contract.id)
        covered = judgement.covered if judgement else 0
        posted = post_transaction(
            session,
            contract,
            partial(_daily_accrual, business_date, covered),
            business_date=business_date,
            writer=writer,
            judge=judgement.judge if judgement else None,
        )
        processed += 1
        interest += (
            sum(r.interest_accrued for r in posted.after.rows)
            - sum(r.interest_accrued for r in posted.before.rows)
            - moved
        )
        penalty += sum(r.penalty_accrued for r in posted.after.rows) - sum(
            r.penalty_accrued for r in posted.before.rows
        )
    write_contracts(session, contracts, detach=True)
    try:
        writer.write(session)
    except IntegrityError as error:  # the unique index: another close booked one of these meanwhile
        raise ConflictError(
            f"a contract of this chunk already has its accrual for {business_date}",
            code="ACCRUAL_ALREADY_BOOKED",
        ) from error
    return processed, interest, penalty


def _credit_customers(session: Session, business_date: date, after: str, limit: int) -> list[str]:
    """Customers holding unapplied funds with an active contract started by the date (id order)."""
    has_active = exists().where(
        Contract.customer_id == UnappliedFunds.customer_id,
        Contract.status == Status.ACTIVE.value,
        Contract.start_date <= business_date,
    )
    return list(
        session.scalars(
            select(UnappliedFunds.customer_id)
            .where(UnappliedFunds.balance > 0, UnappliedFunds.customer_id > after, has_active)
            .order_by(UnappliedFunds.customer_id)
            .limit(limit)
        ).all()
    )


def _apply_credit(factory: sessionmaker[Session], lease: Lease, chunk_size: int) -> None:
    day, after = lease.business_date, ""
    while True:
        with unit_of_work(factory) as session:
            customers = _credit_customers(session, day, after, chunk_size)
            if not customers:
                return  # nothing written: no commit to wait for
            run = lease.renew(session)  # the job row before the contracts (lock order)
            applications = [a for c in customers for a in apply_customer_credit(session, c, day)]
            lease.add_progress(
                run, applications=applications, credit_applied=sum(a["amount"] for a in applications)
            )
            after = customers[-1]


def _folded_before_quiet(day: date) -> ColumnElement[bool]:
    """Contracts folded before the quiet step (a fold books the day, so they are not quiet): their
    rules live on the per-contract path. The customer has money in flight, or the contract is in the
    scope of a lender-fault window covering the day or ended in the waiver's look-back (the waiver
    reads their snapshots). Only those: a window for one customer used to fold the whole book."""
    return or_(in_flight(), in_recent_window_scope(day))


def _accrue(
    factory: sessionmaker[Session],
    lease: Lease,
    chunk_size: int,
    progress: Progress | None,
    *,
    before_quiet: bool = False,
) -> None:
    after: str | None = None
    done = 0
    while True:
        with unit_of_work(factory) as session:
            ids = _pending_ids(session, lease.business_date, chunk_size, after, before_quiet=before_quiet)
            if not ids:
                return
            run = lease.renew(session)  # the job row before the contracts (lock order)
            n, interest, penalty = _accrue_chunk(session, lease.business_date, ids)
            lease.add_progress(run, contracts=n, chunks=1, interest_accrued=interest, penalty_accrued=penalty)
        after, done = ids[-1], done + len(ids)
        if progress is not None:
            progress("events", done, 0)


def _portfolio(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    buckets: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for dpd, cls in session.execute(
        select(Contract.days_past_due, Contract.classification).where(Contract.status == Status.ACTIVE.value)
    ).all():
        buckets[bucket(dpd).value] += 1
        classes[cls or "normal"] += 1
    return dict(sorted(buckets.items())), dict(sorted(classes.items()))


def _finish(
    factory: sessionmaker[Session],
    lease: Lease,
    check: InvariantReport,
    portfolio: tuple[dict[str, int], dict[str, int]],
    *,
    options: CloseOptions,
    started: float,
    steps: dict[str, float],
) -> CloseReport:
    """The final transaction: advance the business date (if the books are right), accrue contracts
    drawn while the close ran, store the report and free the lease."""
    day, status = lease.business_date, "succeeded" if check.ok else "failed"
    with unit_of_work(factory) as session:
        # lock order: the business date (waits for operations in flight on the date), the job, contracts
        opened = advance_business_date(session, day) if check.ok else None
        run = lease.renew(session)
        while check.ok and (ids := _pending_ids(session, day, options.chunk_size)):
            n, interest, penalty = _accrue_chunk(session, day, ids)
            lease.add_progress(run, contracts=n, chunks=1, interest_accrued=interest, penalty_accrued=penalty)
        totals = CloseReport.stored(day, run.details or {}, status)
        buckets, classes = portfolio
        report = replace(
            totals,
            overdue=sum(n for b, n in buckets.items() if b != "M0"),
            buckets=buckets,
            classes=classes,
            invariants=check.to_dict(),
            seconds=time.perf_counter() - started,
            accrual_seconds=sum(v for k, v in steps.items() if k not in ("check", "replay_sample")),
            open_business_date=opened,
            engine=options.engine,
            steps={k: round(v, 4) for k, v in steps.items()},
        )
        run.status = status
        run.finished_at = lease.clock()
        run.lease_owner = None
        run.lease_expires_at = None
        run.details = (run.details or {}) | report.to_dict()
    return report


def _skipped(factory: sessionmaker[Session], business_date: date) -> CloseReport:
    """A date already closed (or before the first business date): its stored report, status skipped,
    with the open business date as it is now."""
    with unit_of_work(factory, read_only=True) as session:
        run = session.scalars(
            select(JobRun).where(JobRun.job == JOB, JobRun.business_date == business_date)
        ).one_or_none()
        opened = open_business_date(session)
        if run is None:
            return CloseReport(business_date, "skipped", open_business_date=opened)
        stored = CloseReport.stored(business_date, run.details or {}, "skipped")
        return replace(stored, open_business_date=opened)


def _claim(
    factory: sessionmaker[Session], day: date, *, owner: str, lease_ttl: timedelta, clock: Clock
) -> Lease | None:
    with unit_of_work(factory) as session:
        opened = hold_for_close(session, day)
        if opened > day:  # closed meanwhile by another process
            return None
        if opened < day:
            raise ConflictError(
                f"the open business date is {opened}: {day} cannot be closed before it",
                code="CLOSE_OUT_OF_ORDER",
                open_business_date=opened.isoformat(),
            )
        claimed = claim(session, JOB, day, owner=owner, ttl=lease_ttl, clock=clock)
    return claimed if isinstance(claimed, Lease) else None


def _accrue_all(factory: sessionmaker[Session], lease: Lease, options: CloseOptions, timer: Timer) -> None:
    """Steps 2 and 3 of the module docstring, timed: credit, quiet contracts in aggregate (aggregate
    engine), the event contracts folded, fault-window waivers, the aggregate posted."""
    _apply_credit(factory, lease, options.chunk_size)
    timer.lap("credit")
    if options.engine == "aggregate":
        _accrue(factory, lease, options.chunk_size, None, before_quiet=True)
        accrue_quiet(
            factory,
            lease,
            partition=options.partition,
            workers=options.workers,
            progress=options.progress,
            overdue=options.quiet_overdue,
        )
        timer.lap("quiet")
    _accrue(factory, lease, options.chunk_size, options.progress)
    timer.lap("events")
    waive_penalty_in_fault_windows(factory, lease.business_date)  # nobody is charged for our fault
    timer.lap("faults")
    post_day_aggregates(factory, lease)
    timer.lap("aggregate")
    with unit_of_work(factory) as session:  # funding partners' ledgers up to the day's entries
        sync_partner_ledgers(session)
    timer.lap("partners")


def _close_one(
    factory: sessionmaker[Session],
    day: date,
    *,
    options: CloseOptions,
    owner: str,
    lease_ttl: timedelta,
    clock: Clock,
) -> CloseReport:
    started = time.perf_counter()
    lease = _claim(factory, day, owner=owner, lease_ttl=lease_ttl, clock=clock)
    if lease is None:
        return _skipped(factory, day)
    timer = Timer()
    try:
        _accrue_all(factory, lease, options, timer)
        if lease.half_spent():  # the check can take a while on a large book: start it with a fresh lease
            with unit_of_work(factory) as session:
                lease.renew(session)
        with unit_of_work(factory, read_only=True) as session:
            portfolio = _portfolio(session)
            check = check_invariants(session, replay_contracts=options.verify_replay)
            timer.lap("check")
            if options.sample_size:
                seed = replay_seed(day)
                sample = check_replay_sample(session, size=options.sample_size, seed=seed, active_only=True)
                check = check.with_replay_sample(sample, seed)
                timer.lap("replay_sample")
        return _finish(factory, lease, check, portfolio, options=options, started=started, steps=timer.steps)
    except BaseException as error:
        lease.release(factory, error)
        raise


def close_business_days(
    session_factory: sessionmaker[Session],
    through: date,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    verify_replay: bool = False,
    lease: timedelta = DEFAULT_LEASE,
    owner: str | None = None,
    clock: Clock = utc_now,
    options: CloseOptions | None = None,
) -> list[CloseReport]:
    """Close every business date not yet closed up to ``through``, in order (module docstring); the
    report of each date closed, or one ``skipped`` report if ``through`` is already closed. ``options``
    (engine, partitions, workers, progress) override ``chunk_size`` and ``verify_replay``."""
    next_business_date(through)  # the last representable date: refused before anything is done
    options = options or CloseOptions(chunk_size=chunk_size, verify_replay=verify_replay)
    options.validate()
    owner = owner or process_owner()
    with unit_of_work(session_factory, read_only=True) as session:
        opened = open_business_date(session)
    day = through if opened is None else opened
    if through < day:
        return [_skipped(session_factory, through)]
    reports: list[CloseReport] = []
    while True:
        report = _close_one(session_factory, day, options=options, owner=owner, lease_ttl=lease, clock=clock)
        reports.append(report)
        if not report.ok or day >= through:
            return reports
        day = next_business_date(day)


def run_daily_close(
    session_factory: sessionmaker[Session],
    business_date: date,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    verify_replay: bool = False,
    lease: timedelta = DEFAULT_LEASE,
    owner: str | None = None,
    clock: Clock = utc_now,
    options: CloseOptions | None = None,
) -> CloseReport:
    """Close ``business_date`` (and every unclosed date before it: module docstring). The report of
    ``business_date``, or of the first date whose close failed. Idempotent per date."""
    return close_business_days(
        session_factory,
        business_date,
        chunk_size=chunk_size,
        verify_replay=verify_replay,
        lease=lease,
        owner=owner,
        clock=clock,
        options=options,
    )[-1]
