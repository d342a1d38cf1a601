"""Repayment (还款): by amount, by contract (按合同), or pay off everything (一次性还清).

:func:`repay` ``(session, RepayRequest) -> RepayResult`` runs in the caller's unit of work, idempotent
by key (scope ``repay``):

1. locks the customer's open contracts (by id: the documented lock order) and their unapplied funds;
2. takes each contract's state *as of the value date* (a payment started before a due date is
   value-dated when it was started, however late the channel confirms it: DESIGN.md invariant 6);
3. splits the amount over the contracts (:func:`~lendcore.core.allocation.allocate_customer`: what is
   due, then the current installments, then cash loans before purchase installments, unless the
   customer picks); more than everything owed plus ``max_overpayment`` is refused;
4. records the inbound payment (created → processing → succeeded via the channel);
5. books one :class:`~lendcore.core.loan.Repayment` per contract: the contract's waterfall (the current
   installment settled before anything is prepaid), a surplus prepays principal and re-plans the
   schedule, anything left is unapplied funds (customer credit, never lost). A backdated value date
   replays the contract from that date (penalty accrued in between by the daily close is reversed);
6. returns exactly what it did, per contract and installment, from the core's own allocation (the
   booking's :class:`~lendcore.core.loan.Outcome`: nothing is computed twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from sqlalchemy.orm import Session

from lendcore.core.allocation import Allocation, Bucket, Component, CustomerMode, allocate_customer
from lendcore.core.allocation import payoff_quote as contract_payoff_quote
from lendcore.core.contract import LoanState
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.loan import Repayment, Transaction
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.payments.channel import PaymentChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.servicing.booking import Posted, lock_unapplied, post_transaction, preview_transaction
from lendcore.servicing.common import check_amount, check_value_date, run_payment, scoped_key
from lendcore.servicing.customers import check_customer, lock_open_contracts_noting_faults
from lendcore.servicing.faults import waive_fault_penalty_before_payment
from lendcore.servicing.repository import state_as_of
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract, UnappliedFunds

#: What a customer may pay beyond settling everything (customer credit): ¥1,000 by default. More is
#: refused: it is almost always a typo, and credit held for nothing is a liability to the customer.
DEFAULT_MAX_OVERPAYMENT: Final = 100_000


@dataclass(frozen=True, slots=True)
class RepayRequest(JsonRecord):
    """A repayment. ``amount`` may be omitted for ``pay-off-all`` and ``by-contract`` (then it is the
    payoff of those contracts on the value date); ``value_date`` defaults to the business date."""

    customer_id: str
    business_date: date
    idempotency_key: str
    amount: Fen | None = None
    mode: CustomerMode = CustomerMode.BY_AMOUNT
    contract_ids: tuple[str, ...] | None = None
    value_date: date | None = None
    account_token: str | None = None


@dataclass(frozen=True, slots=True)
class InstallmentPaid(JsonRecord):
    """What one payment paid on one installment (the prepayment is not an installment's)."""

    period: int
    due_date: date
    bucket: Bucket  # due, or current (paid early)
    penalty: Fen
    fee: Fen
    interest: Fen
    principal: Fen
    settled: bool  # nothing left owed on it after this payment


@dataclass(frozen=True, slots=True)
class ContractRepayment(JsonRecord):
    contract_id: str
    amount: Fen
    penalty: Fen
    fee: Fen
    interest: Fen
    principal: Fen  # of installments (due, or the current one paid early)
    prepaid_principal: Fen
    prepayment_fee: Fen
    unapplied: Fen
    installments: tuple[InstallmentPaid, ...]
    status: str
    backdated: bool
    schedule_version: int | None
    principal_outstanding: Fen
    total_outstanding: Fen


@dataclass(frozen=True, slots=True)
class RepayResult(JsonRecord):
    payment_id: str
    customer_id: str
    amount: Fen
    mode: CustomerMode
    value_date: date
    business_date: date
    status: str  # succeeded | failed | processing
    contracts: tuple[ContractRepayment, ...] = ()
    unapplied: Fen = 0
    customer_unapplied_balance: Fen | None = None
    failure_reason: str | None = None


def _repayment(value_date: date, amount: Fen) -> Callable[[str, int], Transaction]:
    return lambda txn_id, seq: Repayment(txn_id, value_date, seq, amount)


def _installments(alloc: Allocation, after: LoanState) -> tuple[InstallmentPaid, ...]:
    rows = {r.period: r for r in after.rows}
    paid: dict[int, dict[Component, Fen]] = {}
    buckets: dict[int, Bucket] = {}
    for line in alloc.lines:
        if line.component is Component.PRINCIPAL and line.bucket is Bucket.ADVANCE:
            continue  # the prepayment re-plans the schedule; it pays no installment
        paid.setdefault(line.period, dict.fromkeys(Component, 0))[line.component] += line.amount
        buckets[line.period] = line.bucket
    return tuple(
        InstallmentPaid(
            period=period,
            due_date=rows[period].due_date,
            bucket=buckets[period],
            penalty=amounts[Component.PENALTY],
            fee=amounts[Component.FEE],
            interest=amounts[Component.INTEREST],
            principal=amounts[Component.PRINCIPAL],
            settled=rows[period].outstanding == 0,
        )
        for period, amounts in sorted(paid.items())
    )


def _contract_line(contract_id: str, share: Fen, posted: Posted) -> ContractRepayment:
    after = posted.after
    # no allocation: the contract was already settled, the money is customer credit
    alloc = posted.outcome.allocation or Allocation(share, (), 0, 0, share)
    return ContractRepayment(
        contract_id=contract_id,
        amount=share,
        penalty=alloc.total(Component.PENALTY),
        fee=alloc.total(Component.FEE),
        interest=alloc.total(Component.INTEREST),
        principal=alloc.total(Component.PRINCIPAL) - alloc.prepaid_principal,
        prepaid_principal=alloc.prepaid_principal,
        prepayment_fee=alloc.prepayment_fee,
        unapplied=alloc.unapplied,
        installments=_installments(alloc, posted.outcome.state),
        status=after.status.value,
        backdated=posted.backdated,
        schedule_version=posted.schedule_version,
        principal_outstanding=after.principal_outstanding,
        total_outstanding=after.total_outstanding,
    )


def check_repay_request(request: RepayRequest) -> date:
    """The request's amount, value date and contract list checked; its value date."""
    if request.amount is not None:
        check_amount(request.amount)
    elif request.mode is CustomerMode.BY_AMOUNT:
        raise ValidationError("repaying by amount needs an amount", code="AMOUNT_REQUIRED")
    value_date = request.value_date or request.business_date
    check_value_date(value_date, request.business_date)
    ids = request.contract_ids
    if ids is not None and len(set(ids)) != len(ids):
        raise ValidationError("a contract is listed twice", code="DUPLICATE_CONTRACT")
    return value_date


@dataclass(frozen=True, slots=True)
class RepayPlan:
    """What a repayment pays, worked out on its value date: the contracts open then (locked) and the
    amount's split over them. Both the inline :func:`repay` and the settlement of a recorded payment
    (:mod:`lendcore.servicing.settlement`) book through it: one allocation rule."""

    customer_id: str
    value_date: date
    amount: Fen
    contracts: dict[str, Contract]
    shares: tuple[tuple[str, Fen], ...]
    unapplied: UnappliedFunds


def plan_repayment(
    session: Session,
    customer_id: str,
    amount: Fen | None,
    value_date: date,
    mode: CustomerMode,
    ids: tuple[str, ...] | None,
    max_overpayment: Fen,
) -> RepayPlan:
    """Lock the customer's open contracts and unapplied funds and split ``amount`` over the contracts
    as of ``value_date`` (refusals before anything is written)."""
    contracts, faulted = lock_open_contracts_noting_faults(session, customer_id, value_date)
    if not contracts:  # a customer with an open contract exists (foreign key): no need to look
        check_customer(session, customer_id)
    unapplied = lock_unapplied(session, customer_id)
    if faulted:  # a lender-fault window covers the value date: never collect its penalty
        waive_fault_penalty_before_payment(session, contracts, value_date)
    started = {c.id: c for c in contracts if c.start_date <= value_date}
    missing = [c for c in ids or () if c not in started]
    if missing:
        raise BusinessRuleError(
            f"not an open contract of this customer on {value_date}: {', '.join(missing)}",
            code="CONTRACT_NOT_OPEN",
            contract_ids=missing,
        )
    if not started:
        raise BusinessRuleError("the customer has no open contract to repay", code="NOTHING_TO_PAY")
    states = {cid: state_as_of(session, c, value_date) for cid, c in started.items()}
    if amount is None:
        amount = sum(contract_payoff_quote(states[c], value_date).total for c in (ids or states))
    split = allocate_customer(
        list(states.values()), amount, value_date, mode, ids, max_overpayment=max_overpayment
    )
    return RepayPlan(customer_id, value_date, amount, started, tuple(split.shares), unapplied)


def book_repayment(
    session: Session, plan: RepayPlan, *, business_date: date, payment_id: str, idempotency_key: str | None
) -> tuple[ContractRepayment, ...]:
    """Book one :class:`~lendcore.core.loan.Repayment` per contract share of ``plan``, value-dated at
    the plan's value date (a backdated one replays the contract), carrying ``payment_id``."""
    lines = tuple(
        _contract_line(
            cid,
            share,
            post_transaction(
                session,
                plan.contracts[cid],
                _repayment(plan.value_date, share),
                business_date=business_date,
                payment_id=payment_id,
                idempotency_key=idempotency_key,
            ),
        )
        for cid, share in plan.shares
    )
    session.flush()
    return lines


def plan_lines(session: Session, plan: RepayPlan) -> tuple[ContractRepayment, ...]:
    """What :func:`book_repayment` would book for ``plan`` (the exact allocation per contract and
    installment), computed on each contract's book and written nowhere: the answer to a repayment
    recorded and still to be confirmed by its channel."""
    lines = []
    for cid, share in plan.shares:
        contract = plan.contracts[cid]
        posted = preview_transaction(session, contract, _repayment(plan.value_date, share))
        replanned = [r.principal for r in posted.after.rows] != [r.principal for r in posted.before.rows]
        version = contract.schedule_version + 1 if replanned else None
        lines.append(_contract_line(cid, share, replace(posted, schedule_version=version)))
    return tuple(lines)


@idempotent("repay", RepayResult)
def repay(
    session: Session,
    request: RepayRequest,
    *,
    channel: PaymentChannel | None = None,
    max_overpayment: Fen = DEFAULT_MAX_OVERPAYMENT,
) -> RepayResult:
    """Repay (see the module docstring)."""
    value_date = check_repay_request(request)
    customer_id = request.customer_id
    plan = plan_repayment(
        session, customer_id, request.amount, value_date, request.mode, request.contract_ids, max_overpayment
    )
    amount, shares = plan.amount, plan.shares
    key = scoped_key("repay", request.idempotency_key)
    payment, sent = run_payment(
        session,
        direction=PaymentDirection.INBOUND,
        customer_id=customer_id,
        contract_id=shares[0][0] if len(shares) == 1 else None,
        amount=amount,
        purpose="repayment",
        value_date=value_date,
        account_token=request.account_token or f"customer:{customer_id}",
        channel=channel,
        idempotency_key=key,
    )
    result = RepayResult(
        payment.id, customer_id, amount, request.mode, value_date, request.business_date, "succeeded"
    )
    if sent.state is not PaymentState.SUCCEEDED:
        state = "failed" if sent.state is PaymentState.FAILED else "processing"
        return replace(result, status=state, failure_reason=sent.failure_reason)
    lines = book_repayment(
        session, plan, business_date=request.business_date, payment_id=payment.id, idempotency_key=key
    )
    return replace(
        result,
        contracts=lines,
        unapplied=sum(line.unapplied for line in lines),
        customer_unapplied_balance=plan.unapplied.balance,
    )
