"""Running the aggregate close's partitions: one transaction per contract id range, in this process or
over several worker processes, with the lease renewed and the progress recorded by every partition.

Each partition's transaction accrues its quiet contracts in aggregate
(:func:`lendcore.batch.close_sql.accrue_partition`), then renews the lease and adds its per-product
totals to the job's progress (the job row is locked last and briefly, so workers do not queue on it
while they accrue). A crash loses at most the partitions in flight: they roll back whole, and a rerun
redoes only what is not covered yet (the quiet predicate excludes contracts covered for the date).
After the event contracts are folded, :func:`post_day_aggregates` posts the date's totals from the
committed progress, once per product.

Workers (``workers > 1``) are spawned processes, each with its own engine on the same database URL;
the parent only plans the ranges and counts. Memory is bounded by the partition size in every process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close_plan import id_ranges
from lendcore.batch.close_sql import (
    accrue_partition,
    partition_bounds,
    post_aggregates,
    progress_counts,
    stored_totals,
)
from lendcore.batch.lease import Lease
from lendcore.servicing.faults import recent_fault_windows
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work

__all__ = ["DEFAULT_PARTITION", "Progress", "accrue_quiet", "post_day_aggregates"]

#: Contracts per partition (one transaction): memory and the work a crash can lose are bounded by it.
DEFAULT_PARTITION: Final = 10_000

#: ``progress(step, done, total)``: a step of the close has done ``done`` of ``total`` units (0: unknown).
Progress = Callable[[str, int, int], None]

_worker_factory: sessionmaker[Session] | None = None


def _run_partition(
    factory: sessionmaker[Session], lease: Lease, after: str | None, upto: str | None, overdue: bool
) -> tuple[int, int]:
    day = lease.business_date
    with unit_of_work(factory) as session:
        totals = accrue_partition(session, day, after, upto, overdue=overdue)
        run = lease.renew(session)  # after the contracts: the job row is held only to commit
        contracts = sum(t.contracts for t in totals.values())
        interest = sum(t.interest for t in totals.values())
        lease.add_progress(
            run,
            applications=(),
            partitions=1,
            contracts=contracts,
            quiet_contracts=contracts,
            interest_accrued=interest,
            penalty_accrued=sum(t.penalty for t in totals.values()),
            **progress_counts(totals),
        )
    return contracts, interest


def _init_worker(url: str) -> None:
    global _worker_factory  # one engine per worker process, made once
    _worker_factory = create_session_factory(create_engine(url))


def _worker_partition(lease: Lease, after: str | None, upto: str | None, overdue: bool) -> tuple[int, int]:
    if _worker_factory is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    return _run_partition(_worker_factory, lease, after, upto, overdue)


def _windows_for_everyone(factory: sessionmaker[Session], day: date) -> tuple[bool, bool]:
    """(a window for everyone covers the date, one covers it or ended in the waiver's look-back). A
    window naming a contract or a customer does not concern this step: the close folds its
    contracts before it (``batch.close._folded_before_quiet``), so they are not quiet."""
    with unit_of_work(factory, read_only=True) as session:
        everyone = [w for w in recent_fault_windows(session, day) if not (w.contract_id or w.customer_id)]
        return any(w.covers(day) for w in everyone), bool(everyone)


def accrue_quiet(
    factory: sessionmaker[Session],
    lease: Lease,
    *,
    partition: int = DEFAULT_PARTITION,
    workers: int = 1,
    progress: Progress | None = None,
    overdue: bool = False,
) -> int:
    """Accrue every quiet contract of the lease's date in aggregate, partition by partition; the
    number of partitions run. A date inside a lender-fault window for everyone (a channel outage) has
    no quiet contract: every contract is folded (its penalty waiver runs on the per-contract path).
    Overdue contracts are quiet only with ``overdue`` (CloseOptions.quiet_overdue), and not within the
    waiver's look-back after a window for everyone. The contracts of a window naming a contract or a
    customer were folded before this step."""
    day = lease.business_date
    covering, recent = _windows_for_everyone(factory, day)
    if covering:
        return 0
    # the close's penalty waiver reads snapshots for the recent windows: overdue contracts are folded
    overdue = overdue and not recent
    with unit_of_work(factory, read_only=True) as session:
        ranges = id_ranges(partition_bounds(session, partition))
    done = 0
    if workers <= 1:
        for after, upto in ranges:
            _run_partition(factory, lease, after, upto, overdue)
            done += 1
            if progress is not None:
                progress("quiet", done, len(ranges))
        return done
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(url,)) as pool:
        futures = [pool.submit(_worker_partition, lease, after, upto, overdue) for after, upto in ranges]
        for future in as_completed(futures):
            future.result()  # a failed partition fails the close (the others' work is kept)
            done += 1
            if progress is not None:
                progress("quiet", done, len(ranges))
    return done


def post_day_aggregates(factory: sessionmaker[Session], lease: Lease) -> int:
    """Post the date's aggregate accrual from the committed progress (once per product); the
    interest posted now (0 on a rerun that finds it posted)."""
    with unit_of_work(factory) as session:
        run = lease.renew(session)
        return post_aggregates(session, lease.business_date, stored_totals(run.details or {}))
