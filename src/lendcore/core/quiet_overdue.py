"""Quiet overdue days: penalty and days past due of a contract to which nothing happens but time.

An overdue contract is *quiet* on a business date ``D`` (as :mod:`lendcore.core.quiet` defines it for
interest) when accruing its snapshot to ``D`` adds interest to its current row and penalty to its
overdue rows and changes nothing else: no payment, no installment falling due, no grace period
lapsing that has not lapsed already (every row still bearing penalty is past its grace days on the
day after the snapshot), no penalty still provisional on a row that bears none any more, and neither
its M-bucket nor its five-level class changes (both are functions of its DPD, ``D − since`` where
``since`` is the due date of its oldest overdue row, which stays the oldest while nothing is paid).

Then :func:`lendcore.core.accrual.accrue` to any ``x`` in the run books on each overdue row ``i``
exactly ``booked(exact_i + base_i × penalty_rate × (x − t₀)) − booked_i``, where ``t₀`` is the
snapshot's ``penalty_through`` (= its ``accrued_through``), ``base_i`` the row's penalty base
(unpaid principal, plus unpaid interest when the terms charge penalty on interest), ``exact_i`` and
``booked_i`` its exact and booked penalty. That is :func:`lendcore.core.quiet.cumulative_interest`'s
formula with the penalty rate, and the rate is the core's own (:func:`terms_penalty_rate`): the
aggregate and the fold share one rule, one rounding per row, and the rounding telescopes over any
split of the days.

:class:`OverdueColumns` are those numbers; :func:`encode` / :func:`decode` store them as one text
column beside the snapshot (``contracts.accrual_penalty``) with ``since`` (``contracts.overdue_since``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from lendcore.core.accrual import booked, interest_exact, terms_penalty_rate
from lendcore.core.contract import LoanState
from lendcore.core.delinquency import bucket, classify
from lendcore.core.money import Fen

__all__ = ["OverdueColumns", "PenaltyRow", "cumulative_penalty", "decode", "encode", "overdue_columns"]

_ONE_DAY: Final = timedelta(days=1)
#: Past this DPD neither the bucket (M7+ over 180) nor the class (损失 over 360) changes again.
_LAST_CHANGE: Final = 400
#: A run with no bucket, class or due date ahead ends after this long (one fold, then another run).
_LONGEST_RUN: Final = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class PenaltyRow:
    """One overdue row's penalty: base (fen), exact and booked penalty so far."""

    base: Fen
    exact: Decimal
    booked: Fen


@dataclass(frozen=True, slots=True)
class OverdueColumns:
    rate: Decimal  # the terms' penalty rate per day (core.accrual.terms_penalty_rate)
    rows: tuple[PenaltyRow, ...]  # the rows bearing penalty (base > 0)
    since: date  # due date of the oldest overdue row: DPD on D is (D − since)
    stable_until: date  # the last date whose bucket and class are those of accrued_through


def _standing_until(since: date, t0: date) -> date:
    """The last date from ``t0`` on whose bucket and class (of DPD ``date − since``) are ``t0``'s."""
    first = (t0 - since).days
    standing = (bucket(first), classify(first))
    dpd = first
    while dpd < _LAST_CHANGE:
        dpd += 1
        if (bucket(dpd), classify(dpd)) != standing:
            return since + timedelta(days=dpd - 1)
    return t0 + _LONGEST_RUN


def overdue_columns(state: LoanState, k: int) -> OverdueColumns | None:
    """The penalty columns of an overdue snapshot whose rows before ``k`` are due by its
    ``accrued_through``, or ``None`` if its next accrual does more than add penalty (module docstring).
    A snapshot with nothing overdue has none either (:mod:`lendcore.core.quiet` covers it)."""
    t0 = state.accrued_through
    if state.penalty_through != t0:
        return None  # penalty held by money in flight: its catch-up is an event
    oldest = state.oldest_overdue_row(t0 + _ONE_DAY)
    if oldest is None:
        return None
    terms = state.terms
    rate = terms_penalty_rate(terms)
    rows: list[PenaltyRow] = []
    for row in state.rows[:k]:
        base = row.principal_outstanding + (row.interest_outstanding if terms.penalty_on_interest else 0)
        if base == 0 or not rate:
            if row.penalty_accrued != booked(row.penalty_exact, terms.rounding):
                return None  # provisional penalty still to be recognised (or dropped): an event
            continue
        if (t0 + _ONE_DAY - row.due_date).days <= terms.grace_days:
            return None  # still within its grace days: its lapse (or forgiveness) is an event
        rows.append(PenaltyRow(base, row.penalty_exact, row.penalty_accrued))
    return OverdueColumns(rate, tuple(rows), oldest.due_date, _standing_until(oldest.due_date, t0))


def cumulative_penalty(
    rate: Decimal, rows: tuple[PenaltyRow, ...], accrued_through: date, through: date
) -> Fen:
    """Penalty the fold would book accruing the quiet overdue snapshot from ``accrued_through`` to
    ``through`` (exclusive): per row, the fold's own formula and rounding (module docstring)."""
    days = (through - accrued_through).days
    if days <= 0 or not rate:
        return 0
    total = 0
    for r in rows:
        # core.accrual._accrue_penalty's own operations: exact + interest_exact(base, rate, days)
        total += booked(r.exact + interest_exact(r.base, rate, days)) - r.booked
    return total


def encode(columns: OverdueColumns) -> str:
    """``rate;base:exact:booked;…`` (decimal texts as the fold keeps them)."""
    return ";".join([str(columns.rate), *(f"{r.base}:{r.exact}:{r.booked}" for r in columns.rows)])


def decode(text: str) -> tuple[Decimal, tuple[PenaltyRow, ...]]:
    rate, *rows = text.split(";")
    parsed = []
    for row in rows:
        base, exact, booked_fen = row.split(":")
        parsed.append(PenaltyRow(int(base), Decimal(exact), int(booked_fen)))
    return Decimal(rate), tuple(parsed)
