"""Repayment allocation (还款分配): waterfalls within a contract, splits across a customer's contracts.

Within a contract (:func:`allocate`)
    A payment meets buckets in the order of a named :class:`Waterfall`. A bucket is one component
    (penalty, fee, interest, principal) of one installment row. Rows due on or before the value date
    are *due*. The **current installment** is the bill being paid: the row whose period has begun
    before the value date and is not yet due (``start < value date < due``; on a due date the bill is
    the row due that day). The rule customers expect (and peers apply, e.g. Fineract's "in advance"
    strategies):

    1. everything due, in the waterfall's order;
    2. the current installment *in full*: interest by actual days to the payment date, its principal
       and its fees. Paid in full it is **settled**: it owes nothing more (the interest of the rest of
       its period, on the principal still outstanding, belongs to the next installment), so paying
       the bill early never makes a customer overdue and never costs a prepayment fee. Paid in part,
       the row simply owes less on its due date;
    3. only money beyond that is a **prepayment** (提前还本): interest already accrued on later rows,
       then principal, which may carry a prepayment fee (never on revolving / quick contracts) and
       re-plans the rows not yet due by the contract's rule (:func:`recompute_plan`);
    4. whatever is left is *unapplied*: suspense, a customer credit, never lost.

    Waterfalls (:data:`WATERFALLS`), each with step 2 unless named otherwise:
    - ``penalty-fee-interest-principal`` (default): oldest installment first, each row cleared
      penalty → fee → interest → principal before the next.
    - ``due-before-advance``: by component across all due installments: all due penalty (oldest row
      first), then all due fees, all due interest, all due principal.
    - ``principal-first``: principal before interest, fees and penalty, by component across rows.
    - ``prepay-first``: as the default for due rows, but no step 2: after the current period's
      interest, money prepays principal at once (the current installment still falls due, re-planned).

Across a customer's contracts (:func:`allocate_customer`)
    by amount (按金额): everything due first (the oldest unpaid due date first), then each contract's
    current installment (the soonest due first), then cash-loan contracts (quick, premium, small
    business) before purchase-installment contracts (POS), oldest first (the contract's
    :class:`~lendcore.core.contract.ProductClass`); the customer's own order overrides. By contract
    (按合同) and pay off everything (一次性还清, needs at least :func:`customer_payoff_quote`).
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


class Advance(StrEnum):
    """Where money goes once everything due is paid."""

    #: The current installment in full first (interest to the payment date, principal, its fees);
    #: only what is left is a prepayment. Paying the bill early is paying the bill.
    CURRENT_INSTALLMENT_FIRST = "current-installment-first"
    #: Straight to prepayment after the current period's interest (the installment still falls due).
    PREPAY_FIRST = "prepay-first"


class Bucket(StrEnum):
    """What an allocation line paid: a due row, the current installment early, or an advance."""

    DUE = "due"  # a row due on or before the value date
    CURRENT = "current"  # the current installment, before its due date
    ADVANCE = "advance"  # interest accrued on later rows, or principal prepaid


@dataclass(frozen=True, slots=True)
class Waterfall:
    name: str
    order: tuple[Component, ...]
    row_major: bool  # True: clear a row before the next; False: a component across rows before the next
    advance: Advance = Advance.CURRENT_INSTALLMENT_FIRST


_PFIP: Final = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)

WATERFALLS: Final[dict[str, Waterfall]] = {
    w.name: w
    for w in (
        Waterfall("penalty-fee-interest-principal", _PFIP, row_major=True),
        Waterfall("due-before-advance", _PFIP, row_major=False),
        Waterfall(
            "principal-first",
            (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY),
            row_major=False,
        ),
        Waterfall("prepay-first", _PFIP, row_major=True, advance=Advance.PREPAY_FIRST),
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
    bucket: Bucket

    @property
    def due(self) -> bool:
        return self.bucket is Bucket.DUE


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where one payment went. ``amount = Σ lines + prepayment_fee + unapplied``.

    ``settled`` lists the installments paid in full before their due date by this payment (their
    scheduled fee, charged at settlement, is in their fee line)."""

    amount: Fen
    lines: tuple[AllocationLine, ...]
    prepaid_principal: Fen
    prepayment_fee: Fen
    unapplied: Fen
    settled: tuple[int, ...] = ()

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


def _owed(row: InstallmentState, component: Component, *, early: bool = False) -> Fen:
    if component is Component.PENALTY:
        return row.penalty_outstanding
    if component is Component.FEE:
        return row.fee_to_settle_early if early else row.fee_outstanding
    if component is Component.INTEREST:
        return row.interest_outstanding
    return row.principal_outstanding


def settling_row(state: LoanState, on: date, waterfall: str | None = None) -> InstallmentState | None:
    """The installment a payment on ``on`` settles in full before anything is prepaid: the current
    installment (:meth:`LoanState.current_row`) when the waterfall pays it first and it owes
    something; None otherwise. ``state`` must be accrued to ``on``."""
    w = get_waterfall(waterfall or state.terms.waterfall)
    if w.advance is not Advance.CURRENT_INSTALLMENT_FIRST:
        return None
    row = state.current_row(on)
    return row if row is not None and row.to_settle_early > 0 else None


class _Payer:
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
            if not self.remaining:
                return  # spent: no bucket can take more (the remainder never goes below zero)
            self.pay(row, component, _owed(row, component, early=early), bucket)


def allocate(
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
    payer = _Payer(amount)
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
        for row in later if payer.remaining else ():
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


# -- schedule recomputation after a prepayment ---------------------------------------------------


def recompute_plan(state: LoanState, on: date, new_total: Fen) -> tuple[InstallmentState, ...]:
    """Re-plan the principal of the rows not yet due on ``on`` (and not settled early) so it sums to
    ``new_total``.

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
    idx = [i for i, r in enumerate(state.rows) if r.due_date > on and r.settled_on is None]
    if not idx:
        return state.rows
    future = [state.rows[i] for i in idx]
    parts = _plan_parts(terms, future, on, new_total, restructured=state.restructures > 0)
    rows = list(state.rows)
    for i, part in zip(idx, parts, strict=True):
        rows[i] = replace(rows[i], principal=rows[i].principal_paid + part)
    return tuple(rows)


def _plan_parts(
    terms: LoanTerms, future: Sequence[InstallmentState], on: date, total: Fen, *, restructured: bool = False
) -> list[Fen]:
    m = len(future)
    mode = terms.rounding
    multiple = terms.installment_multiple
    if total <= 0:
        return [0] * m
    if terms.method in (Method.INTEREST_ONLY, Method.BULLET):
        return [0] * (m - 1) + [total]
    # after a restructure the signed schedule no longer describes the plan: re-amortise instead
    reduce_term = terms.prepayment_recompute is PrepaymentRecompute.REDUCE_TERM and not restructured
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
    """Payoff on ``on``: interest to ``on`` (算头不算尾), penalty to ``on``, fees due, the current
    installment's scheduled fee (it is settled, :func:`allocate` step 2), and the prepayment fee on
    the principal of the later rows. Scheduled fees of later periods are not owed."""
    if state.status is not Status.ACTIVE:
        return PayoffQuote(state.terms.contract_id, on, 0, 0, 0, 0, 0)
    s, _ = accrue(state, on)
    current = settling_row(s, on)
    later = [r for r in s.rows if r.due_date > on and (current is None or r.period != current.period)]
    return PayoffQuote(
        contract_id=s.terms.contract_id,
        on=on,
        principal=s.principal_outstanding,
        interest=s.interest_outstanding,
        penalty=s.penalty_outstanding,
        fee=s.fee_outstanding + (current.scheduled_fee if current is not None else 0),
        prepayment_fee=prepayment_fee(s.terms, sum(r.principal_outstanding for r in later)),
    )


def amount_due(state: LoanState, on: date) -> Fen:
    """Everything owed on rows due on or before ``on`` (what keeps the contract current)."""
    if state.status is not Status.ACTIVE:
        return 0
    s, _ = accrue(state, on)
    return sum(r.outstanding for r in s.rows if r.due_date <= on)


def current_bill(state: LoanState, on: date) -> Fen:
    """What a payment on ``on`` needs to pay everything due and settle the current installment in
    full (本期应还, as of today): after paying it nothing is owed until the next due date."""
    if state.status is not Status.ACTIVE:
        return 0
    s, _ = accrue(state, on)
    current = settling_row(s, on)
    return amount_due(s, on) + (current.to_settle_early if current is not None else 0)


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


def _bill_date(state: LoanState, on: date, *, due: bool) -> date:
    """The oldest unpaid due date on or before ``on`` (``due``), or the current installment's due date."""
    if due:
        dues = [r.due_date for r in state.rows if r.due_date <= on and r.outstanding > 0]
        return min(dues) if dues else date.max
    current = state.current_row(on)
    return current.due_date if current is not None else date.max


def customer_payoff_quote(states: Sequence[LoanState], on: date) -> tuple[PayoffQuote, ...]:
    return tuple(payoff_quote(s, on) for s in states if s.status is Status.ACTIVE)


def _default_order(states: Sequence[LoanState]) -> list[LoanState]:
    """Cash-loan contracts before purchase-installment contracts, then oldest contract first."""
    return sorted(
        states,
        key=lambda s: (s.terms.product_class.repayment_rank, s.terms.start_date, s.terms.contract_id),
    )


def _contract_order(
    states: Sequence[LoanState], mode: CustomerMode, contract_ids: Sequence[str] | None
) -> list[LoanState]:
    """The contracts a payment may meet, in order: the customer's choice, else the default order."""
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
    return order


def _check_amount_against_payoff(
    amount: Fen, payoff: Fen, on: date, mode: CustomerMode, max_overpayment: Fen | None
) -> None:
    if max_overpayment is not None and amount > payoff + max_overpayment:
        raise BusinessRuleError(
            f"{amount} fen is more than the {payoff} fen that settles everything on {on} "
            f"plus the {max_overpayment} fen a customer may overpay",
            code="OVERPAYMENT_TOO_LARGE",
            payoff=payoff,
            max_overpayment=max_overpayment,
        )
    if mode is CustomerMode.PAY_OFF_ALL and amount < payoff:
        raise BusinessRuleError(
            f"paying off everything on {on} needs {payoff} fen, got {amount}",
            code="INSUFFICIENT_FOR_PAYOFF",
            needed=payoff,
        )


def allocate_customer(
    states: Sequence[LoanState],
    amount: Fen,
    on: date,
    mode: CustomerMode = CustomerMode.BY_AMOUNT,
    contract_ids: Sequence[str] | None = None,
    *,
    max_overpayment: Fen | None = None,
) -> CustomerAllocation:
    """Split one customer payment over their contracts (see the module docstring for the rules).

    ``max_overpayment``: refuse (``OVERPAYMENT_TOO_LARGE``) an amount above what settles every
    contract paid (their payoff on ``on``) plus this margin; a surplus within it is customer credit."""
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount of fen", code="AMOUNT_NOT_POSITIVE")
    order = _contract_order(states, mode, contract_ids)
    payoff = {s.terms.contract_id: payoff_quote(s, on).total for s in order}
    _check_amount_against_payoff(amount, sum(payoff.values()), on, mode, max_overpayment)
    shares: dict[str, Fen] = {}
    remaining = amount

    def give(cid: str, up_to: Fen) -> None:
        nonlocal remaining
        take = min(remaining, up_to - shares.get(cid, 0))
        if take > 0:
            shares[cid] = shares.get(cid, 0) + take
            remaining -= take

    if mode is CustomerMode.BY_AMOUNT:
        # 1. everything due, the contract with the oldest unpaid due date first; 2. the current
        # installments (the bill paid early), the soonest due first; ties keep the class order
        for s in sorted(order, key=lambda s: _bill_date(s, on, due=True)):
            give(s.terms.contract_id, amount_due(s, on))
        for s in sorted(order, key=lambda s: _bill_date(s, on, due=False)):
            give(s.terms.contract_id, current_bill(s, on))
    # 3. then settle contracts in order, up to each payoff; a surplus stays with the last one
    for s in order:
        give(s.terms.contract_id, payoff[s.terms.contract_id])
    if remaining:
        last = order[-1].terms.contract_id
        shares[last] = shares.get(last, 0) + remaining
    ordered = [
        (s.terms.contract_id, shares[s.terms.contract_id]) for s in order if s.terms.contract_id in shares
    ]
    return CustomerAllocation(amount, tuple(ordered))
