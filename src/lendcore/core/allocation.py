"""Repayment allocation (还款分配): waterfalls within a contract, splits across a customer's contracts.

Within a contract (:func:`allocate`)
    A payment meets buckets in the order of a named :class:`Waterfall`. A bucket is one component
    (penalty, fee, interest, principal) of one installment row. Rows due on or before the value date
    are *due*; the others are *not yet due*: their fees and interest accrued so far can be paid, and
    their principal forms one *prepayment* bucket (提前还本). Principal prepaid may carry a prepayment
    fee (never on revolving / quick contracts), and the remaining schedule is then recomputed by the
    contract's rule (:func:`recompute_plan`). Whatever is left after every bucket is *unapplied*: it
    goes to suspense as a customer credit, never lost.

    Waterfalls (:data:`WATERFALLS`):
    - ``penalty-fee-interest-principal`` (default): oldest installment first; each due row is cleared
      penalty → fee → interest → principal before the next; then interest of the current period, then
      principal prepayment.
    - ``due-before-advance``: everything due across all installments before anything not yet due, by
      component: all due penalty (oldest row first), then all due fees, all due interest, all due
      principal; then the not-yet-due part as above.
    - ``principal-first``: for a contract settled in full: principal (due, then prepayment), then
      interest, fee, penalty.

Across a customer's contracts (:func:`allocate_customer`)
    by amount (按金额: everything due first, oldest due date first; then revolving / quick contracts
    before installment contracts unless the customer gives an order), by contract (按合同) and pay off
    everything (一次性还清, needs at least :func:`customer_payoff_quote`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.accrual import accrue
from lendcore.core.contract import (
    InstallmentState,
    LoanState,
    LoanTerms,
    PrepaymentFeeKind,
    PrepaymentRecompute,
    Status,
)
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.money import Fen, to_fen
from lendcore.core.schedule import Method

_ONE: Final = Decimal(1)


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


@dataclass(frozen=True, slots=True)
class Waterfall:
    name: str
    order: tuple[Component, ...]
    row_major: bool  # True: clear a row before the next; False: a component across rows before the next
    due_first: bool  # True: every due bucket before any not-yet-due bucket


_PFIP: Final = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)

WATERFALLS: Final[dict[str, Waterfall]] = {
    w.name: w
    for w in (
        Waterfall("penalty-fee-interest-principal", _PFIP, row_major=True, due_first=True),
        Waterfall("due-before-advance", _PFIP, row_major=False, due_first=True),
        Waterfall(
            "principal-first",
            (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY),
            row_major=False,
            due_first=False,
        ),
    )
}


def get_waterfall(name: str) -> Waterfall:
    try:
        return WATERFALLS[name]
    except KeyError:
        raise ValidationError(
            f"unknown waterfall {name!r}; known: {', '.join(sorted(WATERFALLS))}",
            code="UNKNOWN_WATERFALL",
            waterfall=name,
        ) from None


@dataclass(frozen=True, slots=True)
class AllocationLine:
    period: int
    component: Component
    amount: Fen
    due: bool  # False: a not-yet-due bucket (current interest, or prepaid principal)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where one payment went. ``amount = Σ lines + prepayment_fee + unapplied``."""

    amount: Fen
    lines: tuple[AllocationLine, ...]
    prepaid_principal: Fen
    prepayment_fee: Fen
    unapplied: Fen

    def total(self, component: Component) -> Fen:
        return sum(line.amount for line in self.lines if line.component is component)


def prepayment_fee(terms: LoanTerms, principal: Fen) -> Fen:
    """Fee for prepaying ``principal`` fen: none on revolving contracts or when the terms say none."""
    if terms.revolving or terms.prepayment_fee.kind is PrepaymentFeeKind.NONE or principal <= 0:
        return 0
    return to_fen(Decimal(principal) * terms.prepayment_fee.rate, terms.rounding)


def max_prepayable(terms: LoanTerms, cash: Fen, limit: Fen) -> tuple[Fen, Fen]:
    """Largest principal ``p ≤ limit`` with ``p + fee(p) ≤ cash``, and its fee."""
    if cash <= 0 or limit <= 0:
        return 0, 0
    if prepayment_fee(terms, limit) + limit <= cash:
        return limit, prepayment_fee(terms, limit)
    rate = terms.prepayment_fee.rate if prepayment_fee(terms, cash) else Decimal(0)
    p = min(limit, int(Decimal(cash) / (_ONE + rate)))
    while p < limit and p + 1 + prepayment_fee(terms, p + 1) <= cash:
        p += 1
    while p > 0 and p + prepayment_fee(terms, p) > cash:
        p -= 1
    return p, prepayment_fee(terms, p)


def _outstanding(row: InstallmentState, component: Component) -> Fen:
    if component is Component.PENALTY:
        return row.penalty_outstanding
    if component is Component.FEE:
        return row.fee_outstanding
    if component is Component.INTEREST:
        return row.interest_outstanding
    return row.principal_outstanding


def allocate(
    state: LoanState, amount: Fen, on: date, waterfall: str | None = None, *, due_only: bool = False
) -> Allocation:
    """Split ``amount`` over the buckets of ``state`` (which must already be accrued to ``on``).

    ``due_only``: only the buckets of rows due on or before ``on`` (in the waterfall's order); no
    current interest, no prepayment: what customer credit pays automatically. The rest is unapplied.
    """
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount of fen", code="AMOUNT_NOT_POSITIVE")
    w = get_waterfall(waterfall or state.terms.waterfall)
    rows = state.rows if state.status is Status.ACTIVE else ()
    due_rows = [r for r in rows if r.due_date <= on]
    future_rows = [] if due_only else [r for r in rows if r.due_date > on]
    groups = [due_rows, future_rows] if w.due_first else [due_rows + future_rows]
    buckets: list[tuple[InstallmentState | None, Component]] = []  # None row = the prepayment bucket
    prepay_placed = False
    for group in groups:
        pairs = (
            [(r, c) for r in group for c in w.order]
            if w.row_major
            else [(r, c) for c in w.order for r in group]
        )
        for candidate, comp in pairs:
            if comp is Component.PRINCIPAL and candidate.due_date > on:
                if not prepay_placed:
                    buckets.append((None, comp))
                    prepay_placed = True
                continue
            buckets.append((candidate, comp))
    remaining = amount
    lines: list[AllocationLine] = []
    prepaid = fee = 0
    for row, comp in buckets:
        if remaining == 0:
            break
        if row is None:
            limit = sum(r.principal_outstanding for r in future_rows)
            prepaid, fee = max_prepayable(state.terms, remaining, limit)
            if prepaid:
                lines.append(AllocationLine(future_rows[0].period, Component.PRINCIPAL, prepaid, due=False))
                remaining -= prepaid + fee
            continue
        owed = _outstanding(row, comp)
        if owed <= 0:
            continue
        pay = min(owed, remaining)
        lines.append(AllocationLine(row.period, comp, pay, due=row.due_date <= on))
        remaining -= pay
    return Allocation(amount, tuple(lines), prepaid, fee, remaining)


# -- schedule recomputation after a prepayment ---------------------------------------------------


def recompute_plan(state: LoanState, on: date, new_total: Fen) -> tuple[InstallmentState, ...]:
    """Re-plan the principal of the rows not yet due on ``on`` so it sums to ``new_total``.

    Due dates never change. ``reduce-installment`` spreads ``new_total`` over the same rows the way
    the method would (equal-installment: a new level payment solving the annuity over the actual
    remaining periods, the first one counted from ``on``, as ``build_schedule``'s exact level payment
    does; equal-principal / flat-fee: equal parts; interest-only / bullet: all in the last row).
    ``reduce-term`` keeps the original installment (equal-installment) or principal per period
    (equal-principal / flat-fee) and leaves the last rows with zero principal. The new level amount
    (the installment, or the principal per period) is rounded to the terms' installment multiple, as
    ``build_schedule`` rounds it. The last row with principal absorbs the rounding residue, so the plan
    always sums exactly to ``new_total``.
    """
    terms = state.terms
    idx = [i for i, r in enumerate(state.rows) if r.due_date > on]
    if not idx:
        return state.rows
    future = [state.rows[i] for i in idx]
    parts = _plan_parts(terms, future, on, new_total)
    rows = list(state.rows)
    for i, part in zip(idx, parts, strict=True):
        rows[i] = replace(rows[i], principal=rows[i].principal_paid + part)
    return tuple(rows)


def _plan_parts(terms: LoanTerms, future: Sequence[InstallmentState], on: date, total: Fen) -> list[Fen]:
    m = len(future)
    mode = terms.rounding
    multiple = terms.installment_multiple
    if total <= 0:
        return [0] * m
    if terms.method in (Method.INTEREST_ONLY, Method.BULLET):
        return [0] * (m - 1) + [total]
    reduce_term = terms.prepayment_recompute is PrepaymentRecompute.REDUCE_TERM
    original = {r.period: r for r in terms.schedule}
    parts: list[Fen] = []
    bal = total
    if terms.method is Method.EQUAL_INSTALLMENT:
        factors = [
            terms.daily_rate * ((r.due_date - (on if k == 0 else r.start_date)).days)
            for k, r in enumerate(future)
        ]
        if reduce_term:
            first = original[future[0].period]
            level = first.principal + first.interest
            for planned in original.values():
                if future[0].period <= planned.period < len(terms.schedule):
                    level = planned.principal + planned.interest
                    break
        else:
            discount = _ONE
            annuity = Decimal(0)
            for f in factors:
                discount = discount / (_ONE + f)
                annuity += discount
            # one rounding, straight to the installment multiple (as build_schedule rounds)
            level = to_fen(Decimal(total) / annuity / multiple, mode) * multiple
        for k, f in enumerate(factors):
            part = bal if k == m - 1 else min(bal, max(0, level - to_fen(Decimal(bal) * f, mode)))
            parts.append(part)
            bal -= part
        return parts
    # equal-principal and flat-fee
    equal = to_fen(Decimal(total) / m / multiple, mode) * multiple
    for k, r in enumerate(future):
        target = original[r.period].principal if reduce_term else equal
        part = bal if k == m - 1 else min(bal, target)
        parts.append(part)
        bal -= part
    return parts


# -- payoff quotes and customer-level allocation --------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    """Exactly what settles a contract on ``on`` (一次性结清): paying ``total`` leaves nothing owed."""

    contract_id: str
    on: date
    principal: Fen
    interest: Fen
    penalty: Fen
    fee: Fen
    prepayment_fee: Fen

    @property
    def total(self) -> Fen:
        return self.principal + self.interest + self.penalty + self.fee + self.prepayment_fee


def payoff_quote(state: LoanState, on: date) -> PayoffQuote:
    """Payoff on ``on``: interest to ``on`` (算头不算尾), penalty to ``on``, due fees, and the
    prepayment fee on the principal not yet due. Scheduled fees of periods not yet due are not owed."""
    if state.status is not Status.ACTIVE:
        return PayoffQuote(state.terms.contract_id, on, 0, 0, 0, 0, 0)
    s, _ = accrue(state, on)
    not_due = sum(r.principal_outstanding for r in s.rows if r.due_date > on)
    return PayoffQuote(
        contract_id=s.terms.contract_id,
        on=on,
        principal=s.principal_outstanding,
        interest=s.interest_outstanding,
        penalty=s.penalty_outstanding,
        fee=s.fee_outstanding,
        prepayment_fee=prepayment_fee(s.terms, not_due),
    )


def amount_due(state: LoanState, on: date) -> Fen:
    """Everything owed on rows due on or before ``on`` (what keeps the contract current)."""
    if state.status is not Status.ACTIVE:
        return 0
    s, _ = accrue(state, on)
    return sum(r.outstanding for r in s.rows if r.due_date <= on)


class CustomerMode(StrEnum):
    BY_AMOUNT = "by-amount"  # 按金额
    BY_CONTRACT = "by-contract"  # 按合同
    PAY_OFF_ALL = "pay-off-all"  # 一次性还清


@dataclass(frozen=True, slots=True)
class CustomerAllocation:
    """Amount to book as a repayment on each contract, in booking order. The last share includes any
    surplus, which that contract's allocation puts in suspense; Σ shares = the amount paid."""

    amount: Fen
    shares: tuple[tuple[str, Fen], ...]


def customer_payoff_quote(states: Sequence[LoanState], on: date) -> tuple[PayoffQuote, ...]:
    return tuple(payoff_quote(s, on) for s in states if s.status is Status.ACTIVE)


def _default_order(states: Sequence[LoanState]) -> list[LoanState]:
    """Quick / revolving contracts before installment contracts, then oldest contract first."""
    return sorted(states, key=lambda s: (not s.terms.revolving, s.terms.start_date, s.terms.contract_id))


def allocate_customer(
    states: Sequence[LoanState],
    amount: Fen,
    on: date,
    mode: CustomerMode = CustomerMode.BY_AMOUNT,
    contract_ids: Sequence[str] | None = None,
) -> CustomerAllocation:
    """Split one customer payment over their contracts (see the module docstring for the rules)."""
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount of fen", code="AMOUNT_NOT_POSITIVE")
    active = [s for s in states if s.status is Status.ACTIVE]
    by_id = {s.terms.contract_id: s for s in active}
    if contract_ids is not None:
        unknown = [c for c in contract_ids if c not in by_id]
        if unknown:
            raise BusinessRuleError(
                f"not an open contract of this customer: {', '.join(unknown)}",
                code="CONTRACT_NOT_OPEN",
                contract_ids=unknown,
            )
        order = [by_id[c] for c in contract_ids]
    elif mode is CustomerMode.BY_CONTRACT:
        raise ValidationError("repaying by contract needs the contracts to repay", code="CONTRACTS_REQUIRED")
    else:
        order = _default_order(active)
    if not order:
        raise BusinessRuleError("the customer has no open contract to repay", code="NOTHING_TO_PAY")
    payoff = {s.terms.contract_id: payoff_quote(s, on).total for s in order}
    if mode is CustomerMode.PAY_OFF_ALL:
        needed = sum(payoff.values())
        if amount < needed:
            raise BusinessRuleError(
                f"paying off everything on {on} needs {needed} fen, got {amount}",
                code="INSUFFICIENT_FOR_PAYOFF",
                needed=needed,
            )
    shares: dict[str, Fen] = {}
    remaining = amount
    if mode is CustomerMode.BY_AMOUNT:
        # 1. everything due, the contract with the oldest unpaid due date first
        def oldest_due(s: LoanState) -> date:
            dues = [r.due_date for r in s.rows if r.due_date <= on and r.outstanding > 0]
            return min(dues) if dues else date.max

        for s in sorted(order, key=oldest_due):
            give = min(remaining, amount_due(s, on))
            if give:
                shares[s.terms.contract_id] = give
                remaining -= give
    # 2. then settle contracts in order, up to each payoff
    for s in order:
        cid = s.terms.contract_id
        give = min(remaining, payoff[cid] - shares.get(cid, 0))
        if give > 0:
            shares[cid] = shares.get(cid, 0) + give
            remaining -= give
    if remaining:
        last = order[-1].terms.contract_id
        shares[last] = shares.get(last, 0) + remaining
    ordered = [
        (s.terms.contract_id, shares[s.terms.contract_id]) for s in order if s.terms.contract_id in shares
    ]
    return CustomerAllocation(amount, tuple(ordered))
