"""Repayment (还款): by amount, by contract (按合同), or pay off everything (一次性还清).

:func:`repay` runs in the caller's unit of work, idempotent by key (scope ``repay``):

1. locks the customer's open contracts (by id: the documented lock order) and their unapplied funds;
2. takes each contract's state *as of the value date* (a payment started before a due date is
   value-dated when it was started, however late the channel confirms it: DESIGN.md invariant 6);
3. splits the amount over the contracts (:func:`~lendcore.core.allocation.allocate_customer`: everything
   due first, then quick / revolving contracts before installment ones unless the customer picks);
4. records the inbound payment (created → processing → succeeded via the channel);
5. books one :class:`~lendcore.core.loan.Repayment` per contract: the contract's waterfall, a surplus
   prepays principal and recomputes the schedule (product rule), anything left is unapplied funds
   (customer credit, never lost). A backdated value date replays the contract from that date
   (penalty accrued in between by the daily close is reversed);
6. returns exactly what it did, per contract.

:func:`payoff_quote` is what :func:`repay` in ``pay-off-all`` mode needs on a date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.accrual import accrue
from lendcore.core.allocation import Allocation, Bucket, Component, CustomerMode, allocate, allocate_customer
from lendcore.core.allocation import payoff_quote as contract_payoff_quote
from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.loan import Repayment, Transaction
from lendcore.core.money import Fen
from lendcore.payments.channel import PaymentChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.servicing.common import check_amount, check_value_date, lock_unapplied, run_payment, scoped_key
from lendcore.servicing.contracts import post_transaction, state_as_of
from lendcore.store.engine import for_update
from lendcore.store.idempotency import fingerprint, run_idempotent
from lendcore.store.models import Contract, Customer

#: What a customer may pay beyond settling everything (customer credit): ¥1,000 by default. More is
#: refused: it is almost always a typo, and credit held for nothing is a liability to the customer.
DEFAULT_MAX_OVERPAYMENT: Final = 100_000


def _open_contracts(session: Session, customer_id: str, *, lock: bool) -> list[Contract]:
    stmt = (
        select(Contract)
        .where(Contract.customer_id == customer_id, Contract.status == Status.ACTIVE.value)
        .order_by(Contract.id)
    )
    return list(session.scalars(for_update(stmt) if lock else stmt).all())


def _check_customer(session: Session, customer_id: str) -> None:
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")


def payoff_quote(session: Session, customer_id: str, on: date) -> dict[str, Any]:
    """What settles every open contract of the customer on ``on`` (exact, per contract and in total)."""
    _check_customer(session, customer_id)
    quotes = []
    for c in _open_contracts(session, customer_id, lock=False):
        if c.start_date > on:
            continue
        q = contract_payoff_quote(state_as_of(session, c, on), on)
        quotes.append(
            {
                "contract_id": c.id,
                "product_code": c.product_code,
                "principal": q.principal,
                "interest": q.interest,
                "penalty": q.penalty,
                "fee": q.fee,
                "prepayment_fee": q.prepayment_fee,
                "total": q.total,
            }
        )
    return {
        "customer_id": customer_id,
        "on": on.isoformat(),
        "contracts": quotes,
        "total": sum(q["total"] for q in quotes),
    }


def repay(
    session: Session,
    *,
    customer_id: str,
    business_date: date,
    idempotency_key: str,
    amount: Fen | None = None,
    mode: CustomerMode = CustomerMode.BY_AMOUNT,
    contract_ids: Sequence[str] | None = None,
    value_date: date | None = None,
    account_token: str | None = None,
    channel: PaymentChannel | None = None,
    max_overpayment: Fen = DEFAULT_MAX_OVERPAYMENT,
) -> dict[str, Any]:
    """Repay (see the module docstring). ``amount`` may be omitted for ``pay-off-all`` and
    ``by-contract`` (then it is the payoff of those contracts on the value date). An amount above
    what settles everything paid plus ``max_overpayment`` is refused (``OVERPAYMENT_TOO_LARGE``)."""
    request = {
        "customer_id": customer_id,
        "business_date": business_date,
        "amount": amount,
        "mode": mode.value,
        "contract_ids": list(contract_ids) if contract_ids is not None else None,
        "value_date": value_date,
        "account_token": account_token,
    }
    return run_idempotent(
        session,
        "repay",
        idempotency_key,
        fingerprint(request),
        lambda: _repay(
            session,
            customer_id=customer_id,
            business_date=business_date,
            idempotency_key=idempotency_key,
            amount=amount,
            mode=mode,
            contract_ids=contract_ids,
            value_date=value_date or business_date,
            account_token=account_token,
            channel=channel,
            max_overpayment=max_overpayment,
        ),
    )


def _repayment(value_date: date, amount: Fen) -> Callable[[str, int], Transaction]:
    def make(txn_id: str, seq: int) -> Transaction:
        return Repayment(txn_id, value_date, seq, amount)

    return make


def _breakdown(state: LoanState, amount: Fen, on: date) -> dict[str, Any]:
    """Where ``amount`` goes on a contract in ``state`` (as of ``on``): what the Repayment books, in
    total per component and per installment (which installment the money settled)."""
    if state.status is not Status.ACTIVE:
        return {"penalty": 0, "fee": 0, "interest": 0, "principal": 0, "prepaid_principal": 0,
                "prepayment_fee": 0, "unapplied": amount, "installments": []}  # fmt: skip
    accrued, _ = accrue(state, on)
    a = allocate(accrued, amount, on)
    return {
        "penalty": a.total(Component.PENALTY),
        "fee": a.total(Component.FEE),
        "interest": a.total(Component.INTEREST),
        "principal": a.total(Component.PRINCIPAL) - a.prepaid_principal,
        "prepaid_principal": a.prepaid_principal,
        "prepayment_fee": a.prepayment_fee,
        "unapplied": a.unapplied,
        "installments": _installment_lines(accrued, a),
    }


def _installment_lines(state: LoanState, a: Allocation) -> list[dict[str, Any]]:
    """Per installment the payment touched (the prepayment excluded): what it paid, and whether the
    installment is now settled (nothing left owed on it)."""
    rows = {r.period: r for r in state.rows}
    out: dict[int, dict[str, Any]] = {}
    for line in a.lines:
        if line.component is Component.PRINCIPAL and line.bucket is Bucket.ADVANCE:
            continue
        row = rows[line.period]
        entry = out.setdefault(
            line.period,
            {
                "period": line.period,
                "due_date": row.due_date.isoformat(),
                "bucket": line.bucket.value,
                **dict.fromkeys(("penalty", "fee", "interest", "principal"), 0),
            },
        )
        entry[line.component.value] += line.amount
    for period, entry in out.items():
        row = rows[period]
        paid = entry["penalty"] + entry["fee"] + entry["interest"] + entry["principal"]
        owed = row.to_settle_early if entry["bucket"] == Bucket.CURRENT.value else row.outstanding
        entry["settled"] = period in a.settled or (entry["bucket"] == Bucket.DUE.value and paid >= owed)
    return [out[p] for p in sorted(out)]


def _repay(
    session: Session,
    *,
    customer_id: str,
    business_date: date,
    idempotency_key: str,
    amount: Fen | None,
    mode: CustomerMode,
    contract_ids: Sequence[str] | None,
    value_date: date,
    account_token: str | None,
    channel: PaymentChannel | None,
    max_overpayment: Fen,
) -> dict[str, Any]:
    if amount is not None:
        check_amount(amount)
    elif mode is CustomerMode.BY_AMOUNT:
        raise ValidationError("repaying by amount needs an amount", code="AMOUNT_REQUIRED")
    check_value_date(value_date, business_date)
    if contract_ids is not None and len(set(contract_ids)) != len(contract_ids):
        raise ValidationError("a contract is listed twice", code="DUPLICATE_CONTRACT")
    contracts = _open_contracts(session, customer_id, lock=True)
    if not contracts:  # a customer with an open contract exists (foreign key): no need to look
        _check_customer(session, customer_id)
    unapplied = lock_unapplied(session, customer_id)
    started = {c.id: c for c in contracts if c.start_date <= value_date}
    if contract_ids is not None:
        missing = [c for c in contract_ids if c not in started]
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
        chosen = list(contract_ids) if contract_ids is not None else list(states)
        amount = sum(contract_payoff_quote(states[c], value_date).total for c in chosen)
        if amount <= 0:  # pragma: no cover - an active contract always owes something
            raise BusinessRuleError("nothing to pay", code="NOTHING_TO_PAY")
    split = allocate_customer(
        list(states.values()), amount, value_date, mode, contract_ids, max_overpayment=max_overpayment
    )

    payment, result = run_payment(
        session,
        direction=PaymentDirection.INBOUND,
        customer_id=customer_id,
        contract_id=split.shares[0][0] if len(split.shares) == 1 else None,
        amount=amount,
        purpose="repayment",
        value_date=value_date,
        account_token=account_token or f"customer:{customer_id}",
        channel=channel,
        idempotency_key=scoped_key("repay", idempotency_key),
    )
    response: dict[str, Any] = {
        "payment_id": payment.id,
        "customer_id": customer_id,
        "amount": amount,
        "mode": mode.value,
        "value_date": value_date.isoformat(),
        "business_date": business_date.isoformat(),
    }
    if result.state is not PaymentState.SUCCEEDED:
        return response | {
            "status": "failed" if result.state is PaymentState.FAILED else "processing",
            "failure_reason": result.failure_reason,
            "contracts": [],
            "unapplied": 0,
        }
    lines: list[dict[str, Any]] = []
    unapplied_total = 0
    suspense_delta = 0
    for cid, share in split.shares:
        contract = started[cid]
        what = _breakdown(states[cid], share, value_date)
        posted = post_transaction(
            session,
            contract,
            _repayment(value_date, share),
            business_date=business_date,
            payment_id=payment.id,
            idempotency_key=scoped_key("repay", idempotency_key),
        )
        unapplied_total += what["unapplied"]
        suspense_delta += posted.after.suspense - posted.before.suspense
        lines.append(
            {
                "contract_id": cid,
                "amount": share,
                **what,
                "status": posted.after.status.value,
                "backdated": posted.backdated,
                "schedule_version": posted.schedule_version,
                "principal_outstanding": posted.after.principal_outstanding,
                "total_outstanding": posted.after.total_outstanding,
            }
        )
    unapplied.balance += suspense_delta
    session.flush()
    return response | {
        "status": "succeeded",
        "contracts": lines,
        "unapplied": unapplied_total,
        "customer_unapplied_balance": unapplied.balance,
    }
