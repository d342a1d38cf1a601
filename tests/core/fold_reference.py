"""Straightforward references for the fold's optimised hot spots (issue 12), kept verbatim as they
were before the optimisation: ``accrue`` (a state and a ``dataclasses.replace`` per pass and per row)
and ``allocate`` (every bucket visited). ``test_fold_reference`` checks the optimised functions equal
them on states drawn from random histories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Final

from lendcore.core.accrual import Accrued, booked, interest_exact, terms_penalty_rate
from lendcore.core.allocation import (
    Allocation,
    AllocationLine,
    Bucket,
    Component,
    Waterfall,
    _owed,
    get_waterfall,
    max_prepayable,
    settling_row,
)
from lendcore.core.contract import InstallmentState, LoanState, Status
from lendcore.core.errors import ValidationError
from lendcore.core.money import Fen

_ZERO: Final = Decimal(0)


def reference_accrue(state: LoanState, to: date, *, penalty: bool = True) -> tuple[LoanState, Accrued]:
    """Bring interest (and scheduled fees falling due, and penalty unless ``penalty=False``) up to
    ``to`` (exclusive). A no-op for dates already accrued and for contracts that are not active."""
    if state.status is not Status.ACTIVE:
        return state, Accrued()
    state, a = _ref_interest(state, to)
    if penalty:
        state, b = _ref_penalty(state, to)
        a = a + b
    return state, a


def _ref_interest(state: LoanState, to: date) -> tuple[LoanState, Accrued]:
    t = state.accrued_through
    if to <= t:
        return state, Accrued()
    terms = state.terms
    rate = terms.daily_rate
    rows = list(state.rows)
    n = len(rows)
    interest_total = 0
    fee_total = 0
    k = 0
    while k < n and rows[k].due_date <= t:
        k += 1
    # the interest base while row k is current: principal of rows k, k+1, … (not yet due)
    basis = sum(r.principal_outstanding for r in rows[k:])
    while t < to and k < n:
        seg_end = min(to, rows[k].due_date)
        if basis and rate:
            # the interest of these days belongs to row k, or to the next row not yet settled when
            # row k was paid in full early (it owes nothing more; the principal left is the next's)
            j = k
            while j < n - 1 and rows[j].settled_on is not None:
                j += 1
            target = rows[j]
            exact = target.interest_exact + interest_exact(basis, rate, (seg_end - t).days)
            new_booked = booked(exact, terms.rounding)
            interest_total += new_booked - target.interest_accrued
            rows[j] = replace(target, interest_exact=exact, interest_accrued=new_booked)
        row = rows[k]
        crossed = seg_end == row.due_date
        if crossed and row.scheduled_fee and basis and row.settled_on is None:
            fee_total += row.scheduled_fee
            row = replace(row, fee_charged=row.fee_charged + row.scheduled_fee)
        rows[k] = row
        t = seg_end
        if crossed:
            basis -= row.principal_outstanding
            k += 1
    new = replace(state, rows=tuple(rows), accrued_through=max(to, state.accrued_through))
    return new, Accrued(interest=interest_total, fee=fee_total)


def _ref_penalty(state: LoanState, to: date) -> tuple[LoanState, Accrued]:
    t0 = state.penalty_through
    if to <= t0:
        return state, Accrued()
    terms = state.terms
    prate = terms_penalty_rate(terms)
    rows = list(state.rows)
    total = 0
    changed = False
    for i, row in enumerate(rows):
        if row.due_date >= to:
            break
        start = max(t0, row.due_date)
        days = (to - start).days
        if days <= 0:
            continue
        base = row.principal_outstanding + (row.interest_outstanding if terms.penalty_on_interest else 0)
        if not base and not row.penalty_exact:
            continue
        exact = row.penalty_exact + (interest_exact(base, prate, days) if base else _ZERO)
        lapsed = (to - row.due_date).days > terms.grace_days
        new_booked = booked(exact, terms.rounding) if lapsed else 0
        if not base and new_booked == row.penalty_accrued:
            continue  # nothing overdue any more and nothing newly recognised: the row is unchanged
        total += new_booked - row.penalty_accrued
        rows[i] = replace(row, penalty_exact=exact, penalty_accrued=new_booked)
        changed = True
    new = replace(state, rows=tuple(rows) if changed else state.rows, penalty_through=to)
    return new, Accrued(penalty=total)


class _RefPayer:
    """Pays buckets in order from a running remainder, recording one line per bucket paid."""

    def __init__(self, amount: Fen) -> None:
        self.remaining = amount
        self.lines: list[AllocationLine] = []

    def pay(self, row: InstallmentState, component: Component, owed: Fen, bucket: Bucket) -> None:
        take = min(owed, self.remaining)
        if take > 0:
            self.lines.append(AllocationLine(row.period, component, take, bucket))
            self.remaining -= take

    def pay_rows(
        self, rows: Sequence[InstallmentState], w: Waterfall, bucket: Bucket, *, early: bool = False
    ) -> None:
        if w.row_major:
            pairs = [(r, c) for r in rows for c in w.order]
        else:
            pairs = [(r, c) for c in w.order for r in rows]
        for row, component in pairs:
            self.pay(row, component, _owed(row, component, early=early), bucket)


def reference_allocate(
    state: LoanState, amount: Fen, on: date, waterfall: str | None = None, *, due_only: bool = False
) -> Allocation:
    """Split ``amount`` over the buckets of ``state`` (which must already be accrued to ``on``).

    1. rows due on or before ``on``, in the waterfall's order (oldest first);
    2. with a current-installment-first waterfall, the current installment (:func:`settling_row`):
       in full if the money reaches (it is then *settled*: its scheduled fee is charged and paid, and
       it owes nothing more), else as far as it goes (interest, then principal of that row: part of
       the bill paid early, not a prepayment);
    3. interest and fees already accrued on later rows, then principal prepaid (fee per the terms),
       which re-plans the rows not yet due;
    4. the rest is unapplied (customer credit in suspense).

    ``due_only``: step 1 only (what customer credit pays automatically); the rest is unapplied.
    """
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount of fen", code="AMOUNT_NOT_POSITIVE")
    w = get_waterfall(waterfall or state.terms.waterfall)
    rows = state.rows if state.status is Status.ACTIVE else ()
    payer = _RefPayer(amount)
    payer.pay_rows([r for r in rows if r.due_date <= on], w, Bucket.DUE)
    if due_only:
        return Allocation(amount, tuple(payer.lines), 0, 0, payer.remaining)
    settled: tuple[int, ...] = ()
    current = settling_row(state, on, w.name)
    if current is not None:
        settled = (current.period,) if payer.remaining >= current.to_settle_early else ()
        payer.pay_rows([current], w, Bucket.CURRENT, early=bool(settled))
    later = [r for r in rows if r.due_date > on and (current is None or r.period != current.period)]
    for component in (Component.PENALTY, Component.FEE, Component.INTEREST):
        for row in later:
            payer.pay(row, component, _owed(row, component), Bucket.ADVANCE)
    prepaid = fee = 0
    prepayable = [r for r in later if r.settled_on is None]
    if payer.remaining and prepayable and (current is None or settled):
        limit = sum(r.principal_outstanding for r in prepayable)
        prepaid, fee = max_prepayable(state.terms, payer.remaining, limit)
        if prepaid:
            first = prepayable[0].period
            payer.lines.append(AllocationLine(first, Component.PRINCIPAL, prepaid, Bucket.ADVANCE))
            payer.remaining -= prepaid + fee
    return Allocation(amount, tuple(payer.lines), prepaid, fee, payer.remaining, settled)
