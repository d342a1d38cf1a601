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

from lendcore.core.contract import InstallmentState, LoanState, LoanTerms, Status
from lendcore.core.evolve import evolve
from lendcore.core.money import Fen, Rounding, to_fen

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


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
        if other is NOTHING:
            return self
        if self is NOTHING:
            return other
        return Accrued(self.interest + other.interest, self.penalty + other.penalty, self.fee + other.fee)


#: Nothing accrued (shared: accrual is a no-op on most days for most rows).
NOTHING: Final = Accrued()


def accrue(state: LoanState, to: date, *, penalty: bool = True) -> tuple[LoanState, Accrued]:
    """Bring interest (and scheduled fees falling due, and penalty unless ``penalty=False``) up to
    ``to`` (exclusive). A no-op for dates already accrued and for contracts that are not active."""
    if state.status is not Status.ACTIVE:
        return state, NOTHING
    do_interest = to > state.accrued_through
    do_penalty = penalty and to > state.penalty_through
    if not (do_interest or do_penalty):
        return state, NOTHING
    # the fold's hot spot (issue 12): both passes work on one list of rows and the state is built
    # once, instead of a state (and a replaced row) per pass
    rows = list(state.rows)
    changed = False
    interest = fee = charged = 0
    if do_interest:
        interest, fee = _accrue_interest(rows, state.terms, state.accrued_through, to)
        changed = True
    if do_penalty:
        charged, penalty_changed = _accrue_penalty(rows, state.terms, state.penalty_through, to)
        changed = changed or penalty_changed
    new = evolve(
        state,
        rows=tuple(rows) if changed else state.rows,
        accrued_through=to if do_interest else state.accrued_through,
        penalty_through=to if do_penalty else state.penalty_through,
    )
    if not (interest or fee or charged):
        return new, NOTHING
    return new, Accrued(interest=interest, penalty=charged, fee=fee)


def _with_interest(row: InstallmentState, exact: Decimal, accrued: Fen) -> InstallmentState:
    return InstallmentState(
        row.period, row.start_date, row.due_date, row.principal, row.scheduled_fee, row.principal_paid,
        exact, accrued, row.interest_paid, row.interest_waived, row.fee_charged, row.fee_paid,
        row.fee_waived, row.penalty_exact, row.penalty_accrued, row.penalty_paid, row.penalty_waived,
        row.settled_on,
    )  # fmt: skip


def _with_penalty(row: InstallmentState, exact: Decimal, accrued: Fen) -> InstallmentState:
    return InstallmentState(
        row.period, row.start_date, row.due_date, row.principal, row.scheduled_fee, row.principal_paid,
        row.interest_exact, row.interest_accrued, row.interest_paid, row.interest_waived, row.fee_charged,
        row.fee_paid, row.fee_waived, exact, accrued, row.penalty_paid, row.penalty_waived, row.settled_on,
    )  # fmt: skip


def _accrue_interest(rows: list[InstallmentState], terms: LoanTerms, t: date, to: date) -> tuple[Fen, Fen]:
    """Interest of ``[t, to)`` into ``rows`` (in place); returns (interest, fees) newly booked."""
    rate = terms.daily_rate
    mode = terms.rounding.decimal_mode
    n = len(rows)
    interest_total = 0
    fee_total = 0
    k = 0
    while k < n and rows[k].due_date <= t:
        k += 1
    # the interest base while row k is current: principal of rows k, k+1, … (not yet due)
    basis = sum(r.principal - r.principal_paid for r in rows[k:])
    while t < to and k < n:
        due = rows[k].due_date
        seg_end = to if to < due else due
        if basis and rate:
            # the interest of these days belongs to row k, or to the next row not yet settled when
            # row k was paid in full early (it owes nothing more; the principal left is the next's)
            j = k
            while j < n - 1 and rows[j].settled_on is not None:
                j += 1
            target = rows[j]
            exact = target.interest_exact + interest_exact(basis, rate, (seg_end - t).days)
            new_booked = int(exact.quantize(_ONE, rounding=mode))  # booked(exact, terms.rounding)
            interest_total += new_booked - target.interest_accrued
            rows[j] = _with_interest(target, exact, new_booked)
        row = rows[k]
        crossed = seg_end == due
        if crossed and row.scheduled_fee and basis and row.settled_on is None:
            fee_total += row.scheduled_fee
            rows[k] = row = evolve(row, fee_charged=row.fee_charged + row.scheduled_fee)
        t = seg_end
        if crossed:
            basis -= row.principal_outstanding
            k += 1
    return interest_total, fee_total


def _accrue_penalty(rows: list[InstallmentState], terms: LoanTerms, t0: date, to: date) -> tuple[Fen, bool]:
    """Penalty of ``[t0, to)`` into ``rows`` (in place); returns (penalty newly booked, changed)."""
    prate = terms_penalty_rate(terms)
    on_interest = terms.penalty_on_interest
    grace = terms.grace_days
    mode = terms.rounding.decimal_mode
    total = 0
    changed = False
    for i, row in enumerate(rows):
        due = row.due_date
        if due >= to:
            break
        days = (to - (t0 if t0 > due else due)).days
        if days <= 0:
            continue
        base = row.principal - row.principal_paid
        if on_interest:
            base += row.interest_outstanding
        if not base and not row.penalty_exact:
            continue
        exact = row.penalty_exact + (interest_exact(base, prate, days) if base else _ZERO)
        lapsed = (to - due).days > grace
        # booked(exact, terms.rounding), inlined: the fold's innermost loop
        new_booked = int(exact.quantize(_ONE, rounding=mode)) if lapsed else 0
        if not base and new_booked == row.penalty_accrued:
            continue  # nothing overdue any more and nothing newly recognised: the row is unchanged
        total += new_booked - row.penalty_accrued
        rows[i] = _with_penalty(row, exact, new_booked)
        changed = True
    return total, changed


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
