"""The set-based part of the aggregate close: find the quiet contracts of a business date in SQL,
accrue them in aggregate, and post the day's interest to the general ledger, one entry per product.

For a business date ``D`` a contract is **quiet** (:func:`quiet_on`, a function of its stored
snapshot alone) when it is active, started before ``D``, its snapshot is older than ``D`` (nothing
booked on it on ``D``: no payment, credit, waiver, draw) and accrued before ``D``, and its quiet-day
columns say no installment falls due by ``D`` and nothing is overdue (``quiet_until ≥ D``,
:mod:`lendcore.core.quiet`). Every other active contract is an **event** contract and takes the
per-contract fold (:mod:`lendcore.batch.close`), and so do, before this step, the contracts of
customers with a payment in flight.

:func:`accrue_partition` handles one id range ``(after, upto]`` in the caller's transaction: it reads
the range's quiet contracts (under row locks on PostgreSQL: a concurrent booking either happened
before, and made the contract an event, or waits for this transaction and then takes the covered
interest back out, :mod:`lendcore.servicing.aggregate_accrual`), computes each one's interest of
``[previous, D)`` (:func:`lendcore.batch.close_plan.aggregate_day`: ``previous`` is ``D − 1`` in a
run of quiet days, ``accrued_through`` on its first day), marks the first day of new runs
(``aggregated_from = D``: the only contract rows written, those that became quiet) and records the
range as done for ``D`` (``close_ranges``). No transaction, entry or posting row is written per
contract, and a contract in a run is not written at all. A range done for ``D`` is not done again:
idempotent per date, resumable at partition grain.

:func:`post_aggregates` posts the date's totals, one journal entry per product (Dr 1132.91 accrued
interest in aggregate, Cr 6011.01 interest income), once: ``accrual_aggregates`` is unique per date
and product.

Invariant (:func:`lendcore.servicing.invariants.check_invariants`): for every product, the balance of
1132.91 equals Σ over its contracts of their aggregated interest, derived from their columns and
``close_ranges``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from lendcore.batch.close_plan import ProductDay, QuietRow, aggregate_day
from lendcore.core.contract import Status
from lendcore.core.errors import ConflictError
from lendcore.core.ledger import Account
from lendcore.servicing.aggregate_accrual import AFTER_ALL, UPTO_ALL
from lendcore.store.ids import new_id
from lendcore.store.models import Contract, Payment
from lendcore.store.models import JournalEntry as JournalEntryRow
from lendcore.store.models import Posting as PostingRow
from lendcore.store.models_close import AccrualAggregate, CloseRange
from lendcore.store.models_privacy import ContractFunding
from lendcore.store.types import utc_now

__all__ = [
    "IN_FLIGHT",
    "accrue_partition",
    "in_flight",
    "partition_bounds",
    "post_aggregates",
    "progress_counts",
    "quiet_on",
    "range_done",
    "stored_totals",
]

#: Payment states still in flight: the customer's contracts are event contracts until they settle.
IN_FLIGHT: Final = ("created", "processing")
_CONTRACTS = cast(Table, Contract.__table__)


def quiet_on(day: date) -> ColumnElement[bool]:
    """The SQL predicate of a quiet contract on ``day`` (module docstring)."""
    return and_(
        Contract.status == Status.ACTIVE.value,
        Contract.start_date < day,
        Contract.as_of < day,
        Contract.quiet_until >= day,
        Contract.accrual_basis.is_not(None),
        Contract.accrued_through < day,
        # jointly funded contracts are folded: partners' ledgers share each contract's own entries
        # (lendcore.servicing.partners); a contract's funding is fixed at its draw
        ~exists().where(ContractFunding.contract_id == Contract.id),
    )


def in_flight() -> ColumnElement[bool]:
    """The contract's customer has a payment in flight (the contract is folded, not aggregated)."""
    return exists().where(Payment.customer_id == Contract.customer_id, Payment.state.in_(IN_FLIGHT))


@lru_cache(maxsize=8192)
def _day(value: date | str) -> date:
    """A date column as the driver returns it when read as text: ``date`` (psycopg) or ISO text
    (SQLite). Few distinct values in a partition: cached."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _in_range(after: str | None, upto: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if after is not None:
        conditions.append(Contract.id > after)
    if upto is not None:
        conditions.append(Contract.id <= upto)
    return conditions


def partition_bounds(session: Session, size: int) -> list[str]:
    """Upper id bounds cutting the contracts into ranges of ``size`` (one index scan; every id above
    the last bound is the last range, see :func:`lendcore.batch.close_plan.id_ranges`)."""
    numbered = select(
        Contract.id.label("id"), func.row_number().over(order_by=Contract.id).label("n")
    ).subquery()
    return list(
        session.scalars(select(numbered.c.id).where(numbered.c.n % size == 0).order_by(numbered.c.id))
    )


def range_done(session: Session, day: date, after: str | None) -> bool:
    return (
        session.scalar(
            select(CloseRange.id).where(
                CloseRange.business_date == day, CloseRange.after_id == (after or AFTER_ALL)
            )
        )
        is not None
    )


def days_since(session: Session, day: date, column: ColumnElement[date]) -> ColumnElement[int]:
    """``day − column`` in days, in SQL (PostgreSQL: date − date is an integer; SQLite: Julian days)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(literal(day, Date) - column, Integer)
    return sql_cast(func.julianday(day.isoformat()) - func.julianday(column), Integer)


def _greater(session: Session, a: ColumnElement[int], b: ColumnElement[int]) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(a, b)
    return func.max(a, b)  # SQLite's scalar max of its arguments


def _standing(session: Session, day: date, where: list[ColumnElement[bool]]) -> None:
    """Quiet overdue contracts' DPD on ``day``, one set-based UPDATE: DPD = day − overdue_since (their
    oldest overdue row stays the oldest while nothing is paid; core.delinquency.days_past_due), worst
    DPD the greater of it and the stored one; bucket and class do not change inside a run
    (core.quiet_overdue bounds quiet_until by their next change)."""
    dpd = days_since(session, day, _CONTRACTS.c.overdue_since)
    session.connection().execute(
        update(_CONTRACTS)
        .where(*where, _CONTRACTS.c.overdue_since.is_not(None))
        .values(
            days_past_due=dpd,
            max_days_past_due=_greater(session, _CONTRACTS.c.max_days_past_due, dpd),
            version=_CONTRACTS.c.version + 1,
        )
    )


def accrue_partition(
    session: Session, day: date, after: str | None, upto: str | None, *, overdue: bool = True
) -> dict[str, ProductDay]:
    """Accrue the quiet contracts of ``(after, upto]`` for ``day`` in aggregate (module docstring):
    per product, the contracts covered, their interest and penalty; nothing if the range is done
    already. Without ``overdue`` (a lender-fault window for everyone is open or ended recently: its
    penalty waiver reads snapshots) the range's quiet overdue contracts end their run the day before
    and are folded."""
    if range_done(session, day, after):
        return {}
    where = [quiet_on(day), *_in_range(after, upto)]
    if not overdue:
        session.connection().execute(
            update(_CONTRACTS)
            .where(*where, _CONTRACTS.c.accrual_penalty.is_not(None))
            .values(quiet_until=day - timedelta(days=1), version=_CONTRACTS.c.version + 1)
        )
    read = (
        select(
            Contract.id,
            Contract.product_code,
            Contract.accrual_basis,
            Contract.accrual_rate,
            Contract.accrual_exact,
            Contract.accrual_booked,
            type_coerce(Contract.accrued_through, String),  # SQLite's text as is: parsed below, cached
            type_coerce(Contract.aggregated_from, String),
            Contract.accrual_penalty,
        )
        .where(*where)
        .with_for_update(of=_CONTRACTS)
    )
    yesterday = day - timedelta(days=1)
    rows: list[QuietRow] = []
    starting = 0  # contracts whose run of quiet days starts today: from their accrued_through
    # the predicate guarantees the columns are set (quiet_until and accrual_basis come together)
    for cid, product, basis, rate, exact, booked, start_, run, penalty in cast(
        list[tuple[Any, ...]], session.connection().execute(read).all()
    ):
        start = _day(start_)
        starting += run is None
        rows.append(
            QuietRow(
                cid, product, basis, rate, exact, booked, start, start if run is None else yesterday, penalty
            )
        )
    _standing(session, day, where)
    if starting:
        new_runs = [*where, Contract.aggregated_from.is_(None)]
        marked = (
            session.connection()
            .execute(
                update(_CONTRACTS)
                .where(*new_runs)
                .values(aggregated_from=day, version=_CONTRACTS.c.version + 1)
            )
            .rowcount
        )
        if marked != starting:  # pragma: no cover - rows are locked (PostgreSQL) or the database is (SQLite)
            raise ConflictError(
                f"quiet contracts changed while the partition was accrued ({starting} read, {marked} marked)",
                code="CONCURRENT_UPDATE",
            )
    session.add(
        CloseRange(
            business_date=day, after_id=after or AFTER_ALL, upto_id=upto or UPTO_ALL, contracts=len(rows)
        )
    )
    session.flush()
    return aggregate_day(rows, day)


def stored_totals(details: Mapping[str, Any]) -> dict[str, ProductDay]:
    """The per-product totals a close's progress holds (``aggregate:<product>:contracts|interest``)."""
    totals: dict[str, ProductDay] = {}
    for key, value in details.items():
        parts = key.split(":")
        if len(parts) == 3 and parts[0] == "aggregate":
            t = totals.setdefault(parts[1], ProductDay())
            setattr(t, parts[2], int(value))
    return totals


def progress_counts(totals: Mapping[str, ProductDay]) -> dict[str, int]:
    """A partition's totals as job progress counters (added to what earlier partitions committed)."""
    counts: dict[str, int] = {}
    for product, t in totals.items():
        counts[f"aggregate:{product}:contracts"] = t.contracts
        counts[f"aggregate:{product}:interest"] = t.interest
        counts[f"aggregate:{product}:penalty"] = t.penalty
    return counts


def cast_table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _aggregate_postings(entry_id: str, t: ProductDay) -> list[dict[str, Any]]:
    """Dr 1132.91 / Cr 6011.01 the interest, Dr 1132.92 / Cr 6011.02 the penalty (no contract)."""
    legs = (
        (t.interest, Account.INTEREST_ACCRUED_AGGREGATE, Account.INTEREST_INCOME),
        (t.penalty, Account.PENALTY_ACCRUED_AGGREGATE, Account.PENALTY_INCOME),
    )
    postings: list[dict[str, Any]] = []
    for amount, debit, credit in legs:
        if amount:
            postings += [
                {"entry_id": entry_id, "account_code": debit.value, "contract_id": None,
                 "customer_id": None, "debit": amount, "credit": 0},
                {"entry_id": entry_id, "account_code": credit.value, "contract_id": None,
                 "customer_id": None, "debit": 0, "credit": amount},
            ]  # fmt: skip
    return postings


def post_aggregates(session: Session, day: date, totals: Mapping[str, ProductDay]) -> int:
    """Post ``day``'s aggregate accrual, one entry per product not yet posted (idempotent); the
    interest and penalty posted by this call."""
    done = set(
        session.scalars(select(AccrualAggregate.product_code).where(AccrualAggregate.business_date == day))
    )
    posted = 0
    for product in sorted(set(totals) - done):
        t = totals[product]
        entry_id = new_id("je") if t.interest or t.penalty else None
        if entry_id is not None:
            session.execute(
                insert(cast_table(JournalEntryRow)).values(
                    id=entry_id,
                    business_date=day,
                    value_date=day,
                    description=f"AggregateAccrual {product}"[:200],
                    created_at=utc_now(),
                )
            )
            session.execute(insert(cast_table(PostingRow)), _aggregate_postings(entry_id, t))
            posted += t.interest + t.penalty
        session.add(
            AccrualAggregate(
                business_date=day,
                product_code=product,
                contracts=t.contracts,
                interest=t.interest,
                penalty=t.penalty,
                entry_id=entry_id,
            )
        )
    session.flush()
    return posted
