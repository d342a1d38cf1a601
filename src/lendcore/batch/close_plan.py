"""The pure part of the aggregate close: partitions by contract id range, and a day's aggregate
interest over quiet contracts' columns (no I/O; :mod:`lendcore.batch.close_sql` reads and writes).

A quiet row is the plain tuple the close reads for one contract (:class:`QuietRow`): its product and
its quiet-day columns (:mod:`lendcore.core.quiet`), with ``previous``, the first day the aggregate
does not yet cover (the day before in a run of quiet days, ``accrued_through`` on its first day).
:func:`aggregate_day` sums :func:`~lendcore.core.quiet.day_interest` per product: exactly what the
fold would have booked for those contracts, to the fen, since the fold uses the same formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from lendcore.core.money import Fen
from lendcore.core.quiet import day_interest
from lendcore.core.quiet_overdue import cumulative_penalty, decode

__all__ = ["ProductDay", "QuietRow", "aggregate_day", "day_penalty", "id_ranges", "merge_days"]


class QuietRow(NamedTuple):
    """A named tuple, not a dataclass: the close makes one per quiet contract per night."""

    contract_id: str
    product_code: str
    basis: Fen
    rate: str  # daily rate, decimal text as stored
    exact: str  # the target row's exact interest, decimal text
    booked: Fen
    accrued_through: date
    previous: date
    penalty: str | None = None  # an overdue contract's penalty columns (core.quiet_overdue.encode)


@dataclass(slots=True)
class ProductDay:
    """One product's aggregate for one business date: contracts covered, interest and penalty (fen)."""

    contracts: int = 0
    interest: Fen = 0
    penalty: Fen = 0


@lru_cache(maxsize=4096)
def _decimal(text: str) -> Decimal:
    # rates repeat across a book (one per product and pricing); exact texts rarely do, the cache is
    # bounded either way
    return Decimal(text)


def aggregate_day(rows: Iterable[QuietRow], day: date) -> dict[str, ProductDay]:
    """Per product: the quiet contracts among ``rows`` and the interest of ``[previous, day)`` for
    each (each contract's day is the difference of two cumulative values: see core.quiet)."""
    totals: dict[str, ProductDay] = {}
    for r in rows:
        amount = day_interest(
            r.basis, _decimal(r.rate), Decimal(r.exact), r.booked, r.accrued_through, r.previous, day
        )
        t = totals.get(r.product_code)
        if t is None:
            t = totals[r.product_code] = ProductDay()
        t.contracts += 1
        t.interest += amount
        if r.penalty is not None:
            t.penalty += day_penalty(r.penalty, r.accrued_through, r.previous, day)
    return totals


def day_penalty(columns: str, accrued_through: date, previous: date, through: date) -> Fen:
    """Penalty of the days ``[previous, through)`` of a quiet overdue contract whose aggregate covers
    ``[accrued_through, previous)``: the difference of two cumulative values (it telescopes)."""
    rate, rows = decode(columns)
    return cumulative_penalty(rate, rows, accrued_through, through) - cumulative_penalty(
        rate, rows, accrued_through, previous
    )


def merge_days(into: dict[str, ProductDay], more: dict[str, ProductDay]) -> dict[str, ProductDay]:
    """Add one partition's per-product totals to another's (in place; returns ``into``)."""
    for product, t in more.items():
        mine = into.setdefault(product, ProductDay())
        mine.contracts += t.contracts
        mine.interest += t.interest
        mine.penalty += t.penalty
    return into


def id_ranges(bounds: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """Id ranges ``(after, upto]`` covering every id, from the sorted upper bounds of all but the last
    partition: ``[b1, b2]`` → ``(None, b1], (b1, b2], (b2, None)`` (None: unbounded)."""
    ranges: list[tuple[str | None, str | None]] = []
    after: str | None = None
    for bound in bounds:
        ranges.append((after, bound))
        after = bound
    ranges.append((after, None))
    return ranges
