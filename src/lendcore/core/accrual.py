"""Interest and penalty accrual, computable for any date from the contract state alone.

Interest (利息)
    Each calendar day ``t`` in ``[start, end)`` (算头不算尾: the disbursement day counts, the repayment
    day does not) earns ``daily_rate × P(t)``, where ``P(t)`` is the principal not yet due on day ``t``:
    the principal of every row whose due date is after ``t``. A row's principal stops bearing contract
    interest on its due date; if unpaid it bears penalty instead. For a revolving / bullet contract that
    is simply the outstanding principal until maturity. The interest of day ``t`` belongs to the row
    whose period ``[start_date, due_date)`` contains ``t``, unless that row was settled early (paid in
    full before its due date, ``settled_on``): then it belongs to the next row not settled, which
    owes the principal still outstanding. A settled row is never owed anything again.

Penalty (罚息)
    Overdue day ``j`` of a row (DPD ``j``, the ``j``-th day after its due date; the due day itself ends
    at 23:59:59 and is not overdue) earns ``penalty_rate × B`` where ``B`` is the row's unpaid
    principal (plus its unpaid interest when the contract charges penalty on interest). Accrued up to a
    date ``d`` a row has ``d − due`` overdue days, so paying on ``due + 1`` costs one day of penalty. If
    the row is settled while ``DPD ≤ grace_days`` no penalty is charged at all; once DPD exceeds the
    grace days, penalty counts from DPD 1. The penalty rate is ``multiplier × daily_rate`` (or
    ``multiplier × penalty_base_daily_rate`` when the terms set one, e.g. for 0 % plans) capped so
    the annualised all-in rate stays within the cap (see :func:`penalty_daily_rate`).

Rounding rule (the only place accruals are rounded)
    Each row keeps its accrual as an exact ``Decimal`` (``interest_exact``, ``penalty_exact``). The
    receivable booked for the row is that exact cumulative value rounded half-up (or the contract's
    rounding) to the fen, and each accrual posting is the *difference* between the new rounded
    cumulative value and the one already booked. Daily postings of a period therefore sum exactly to
    the period's interest ``round(Σ exact)``, whatever the number or spacing of accrual runs, and the
    period's interest equals the schedule's ``round(balance × daily × days)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Final

from lendcore.core.contract import LoanState, LoanTerms, Status
from lendcore.core.money import Fen, Rounding, to_fen

_ZERO: Final = Decimal(0)


def interest_exact(basis: Fen, daily_rate: Decimal, days: int) -> Decimal:
    """Exact (unrounded) interest in fen of ``basis`` fen for ``days`` days at ``daily_rate``."""
    return Decimal(basis) * daily_rate * days


def booked(exact: Decimal, rounding: Rounding = Rounding.HALF_UP) -> Fen:
    """The receivable booked for a cumulative exact accrual: the one rounding step of this module."""
    return to_fen(exact, rounding)


def penalty_daily_rate(
    daily_rate: Decimal,
    multiplier: Decimal,
    cap_annual: Decimal,
    year_days: int = 365,
    *,
    cap_includes_contract_rate: bool = True,
    base_daily_rate: Decimal | None = None,
) -> Decimal:
    """Penalty rate per day: ``multiplier × daily_rate``, capped.

    With ``cap_includes_contract_rate`` (the conservative default of the pure core) the cap bounds
    ``(daily + penalty) × year_days``. Without it the cap bounds ``penalty × year_days``, which is the
    overdue all-in rate when overdue principal bears penalty *instead of* contract interest, as in
    this core; the product catalog prices penalties that way (PRODUCT.md: 1.5 × 0.05 %/day = 27.4 % a
    year, capped to 24 %), and servicing builds contract terms from the product. Never negative.
    Example: 0.05 %/day, ×1.5, cap 24 %: uncapped 0.075 %; penalty alone 0.24/365 = 0.000657534… per
    day; including the contract rate 0.000657534… − 0.0005 = 0.000157534… per day.

    ``base_daily_rate``, when given, replaces ``daily_rate`` as what the multiplier applies to (an
    interest-free plan has daily rate 0 and would bear no penalty); the cap still subtracts the
    contract's own ``daily_rate`` when it includes it.
    """
    wanted = multiplier * (daily_rate if base_daily_rate is None else base_daily_rate)
    room = cap_annual / year_days - (daily_rate if cap_includes_contract_rate else _ZERO)
    return max(_ZERO, min(wanted, room))


def terms_penalty_rate(terms: LoanTerms) -> Decimal:
    return penalty_daily_rate(
        terms.daily_rate,
        terms.penalty_multiplier,
        terms.rate_cap_annual,
        terms.year_days,
        cap_includes_contract_rate=terms.cap_includes_contract_rate,
        base_daily_rate=terms.penalty_base_daily_rate,
    )


@dataclass(frozen=True, slots=True)
class Accrued:
    """Receivables newly booked by one accrual step (fen, each ≥ 0)."""

    interest: Fen = 0
    penalty: Fen = 0
    fee: Fen = 0  # scheduled fees that fell due

    def __add__(self, other: Accrued) -> Accrued:
        return Accrued(self.interest + other.interest, self.penalty + other.penalty, self.fee + other.fee)


def accrue(state: LoanState, to: date, *, penalty: bool = True) -> tuple[LoanState, Accrued]:
    """Bring interest (and scheduled fees falling due, and penalty unless ``penalty=False``) up to
    ``to`` (exclusive). A no-op for dates already accrued and for contracts that are not active."""
    if state.status is not Status.ACTIVE:
        return state, Accrued()
    state, a = _accrue_interest(state, to)
    if penalty:
        state, b = _accrue_penalty(state, to)
        a = a + b
    return state, a


def _accrue_interest(state: LoanState, to: date) -> tuple[LoanState, Accrued]:
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


def _accrue_penalty(state: LoanState, to: date) -> tuple[LoanState, Accrued]:
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


def forgive_within_grace(state: LoanState, on: date) -> LoanState:
    """Drop the provisional penalty of rows settled while still within their grace days."""
    grace = state.terms.grace_days
    on_interest = state.terms.penalty_on_interest
    rows = list(state.rows)
    changed = False
    for i, row in enumerate(rows):
        if row.due_date >= on:
            break
        base = row.principal_outstanding + (row.interest_outstanding if on_interest else 0)
        if row.penalty_exact and not row.penalty_accrued and base == 0 and (on - row.due_date).days <= grace:
            rows[i] = replace(row, penalty_exact=_ZERO)
            changed = True
    return replace(state, rows=tuple(rows)) if changed else state
