"""Quiet days: interest a contract earns while nothing happens to it, derivable from its snapshot.

A contract is *quiet* on a business date ``D`` when accruing its snapshot to ``D`` does nothing but
add interest to one installment row: it is active, every row due by its ``accrued_through`` is fully
paid (nothing overdue, no penalty still to be recognised after a grace period), and no row falls due
in ``(accrued_through, D]`` (no scheduled fee, no change of the interest base). Then
:func:`lendcore.core.accrual.accrue` to any date ``x ≤ quiet_until`` books, on the target row (the
current row, or the next one not settled early), exactly::

    cumulative(x) = booked(exact₀ + basis × daily_rate × (x − t₀)) − booked₀      (0 if basis or rate is 0)

where ``t₀`` is the snapshot's ``accrued_through``, ``basis`` the principal not yet due, ``exact₀``
and ``booked₀`` the target row's exact and booked interest. :class:`QuietColumns` are those numbers,
stored beside the snapshot (``contracts.accrual_*``), so the daily close can compute a day's interest
for millions of contracts from columns (:func:`day_interest`) without loading or rewriting them, and
anyone can say how much of a contract's interest the general ledger already holds in aggregate
(:func:`cumulative_interest`). The formula is the fold's own (same operands, same order of Decimal
operations), so the fold and the aggregate agree to the fen, whatever the number of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from lendcore.core.accrual import booked, interest_exact
from lendcore.core.contract import LoanState, Status
from lendcore.core.money import Fen, Rounding
from lendcore.core.quiet_overdue import OverdueColumns, overdue_columns

__all__ = ["QuietColumns", "cumulative_interest", "day_interest", "quiet_columns"]

_ONE_DAY: Final = timedelta(days=1)
_ONE_FEN: Final = Decimal(1)


@dataclass(frozen=True, slots=True)
class QuietColumns:
    """What the close needs to accrue a quiet contract from columns (see the module docstring)."""

    basis: Fen  # principal not yet due on accrued_through: the interest base
    daily_rate: Decimal
    exact: Decimal  # the target row's exact interest so far
    booked: Fen  # the target row's booked interest so far
    accrued_through: date  # t₀
    quiet_until: date  # the last business date the contract can be quiet (the next due date − 1)
    #: an overdue contract's penalty and DPD (lendcore.core.quiet_overdue); None when nothing is overdue
    overdue: OverdueColumns | None = None


def _settled_clean(state: LoanState, k: int) -> bool:
    """Rows before ``k`` (due by accrued_through) owe nothing and will recognise no more penalty."""
    rounding = state.terms.rounding
    for row in state.rows[:k]:
        if row.outstanding:
            return False
        if row.penalty_exact and row.penalty_accrued != booked(row.penalty_exact, rounding):
            return False  # provisional penalty of a grace period: its recognition is an event
    return True


def quiet_columns(state: LoanState) -> QuietColumns | None:
    """The columns of a contract that may be quiet after its snapshot, or ``None`` if its next close
    must fold it (not active, overdue or due, matured, or rounding other than half-up)."""
    if state.status is not Status.ACTIVE or state.terms.rounding is not Rounding.HALF_UP:
        return None
    t0 = state.accrued_through
    rows = state.rows
    n = len(rows)
    k = 0
    while k < n and rows[k].due_date <= t0:
        k += 1
    overdue = None
    if k == n or not _settled_clean(state, k):
        # overdue: quiet too while only penalty and DPD move (lendcore.core.quiet_overdue)
        overdue = overdue_columns(state, k)
        if overdue is None:
            return None
    if k == n:  # matured and overdue: no interest any more, penalty only
        assert overdue is not None
        return QuietColumns(0, state.terms.daily_rate, Decimal(0), 0, t0, overdue.stable_until, overdue)
    j = k
    while j < n - 1 and rows[j].settled_on is not None:
        j += 1
    target = rows[j]
    until = rows[k].due_date - _ONE_DAY
    return QuietColumns(
        basis=sum(r.principal_outstanding for r in rows[k:]),
        daily_rate=state.terms.daily_rate,
        exact=target.interest_exact,
        booked=target.interest_accrued,
        accrued_through=t0,
        quiet_until=until if overdue is None else min(until, overdue.stable_until),
        overdue=overdue,
    )


def cumulative_interest(
    basis: Fen, daily_rate: Decimal, exact: Decimal, booked_fen: Fen, accrued_through: date, through: date
) -> Fen:
    """Interest the fold would book accruing a quiet snapshot from ``accrued_through`` to ``through``
    (exclusive): what the aggregate has posted for the contract once it has covered those days."""
    days = (through - accrued_through).days
    if days <= 0 or not basis or not daily_rate:
        return 0
    return booked(exact + interest_exact(basis, daily_rate, days)) - booked_fen


def day_interest(
    basis: Fen, daily_rate: Decimal, exact: Decimal, booked_fen: Fen, accrued_through: date,
    previous: date, through: date,
) -> Fen:  # fmt: skip
    """Interest of the days ``[previous, through)`` of a quiet contract whose aggregate already covers
    ``[accrued_through, previous)``: ``cumulative_interest(…, through) − cumulative_interest(…,
    previous)``, so any split of the days into closes sums to the same total (the rounding telescopes).
    Computed inline (the close calls it for every quiet contract every night), with the same Decimal
    operations in the same order as :func:`cumulative_interest` and the fold."""
    days = (through - accrued_through).days
    if days <= 0 or not basis or not daily_rate:
        return 0
    per_day = Decimal(basis) * daily_rate  # interest_exact(basis, rate, n) is (basis × rate) × n
    high = int((exact + per_day * days).quantize(_ONE_FEN, rounding=ROUND_HALF_UP))
    before = (previous - accrued_through).days
    low = (
        booked_fen
        if before <= 0
        else int((exact + per_day * before).quantize(_ONE_FEN, rounding=ROUND_HALF_UP))
    )
    return high - low
