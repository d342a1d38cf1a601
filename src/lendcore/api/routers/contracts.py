"""``/api/v1/contracts``: a customer's contracts (借据) as :func:`lendcore.queries.loans.loan_view`
sees them: terms, balances, days past due, the schedule with what each installment has paid and still
owes; and their transactions. Read only; a customer sees only their own (another's id → 404)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.api.auth import ensure_owner
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader, owned_by
from lendcore.api.state import StateDep
from lendcore.api.types import ContractId, InstallmentRef, Money
from lendcore.auth.principal import Principal
from lendcore.core.errors import NotFoundError
from lendcore.queries.loans import Balances, InstallmentStatus, LoanView, loan_view
from lendcore.store.models import Contract, LoanTransaction

router = APIRouter(prefix=API_PREFIX, tags=["contracts"])


class ContractSummary(BaseModel):
    id: str
    line_id: str
    product_code: str
    status: str
    principal: Money
    outstanding_principal: Money
    term: int
    start_date: date
    maturity_date: date | None
    days_past_due: int

    @classmethod
    def of(cls, c: Contract) -> ContractSummary:
        return cls(
            id=c.id,
            line_id=c.credit_line_id,
            product_code=c.product_code,
            status=c.status,
            principal=Money.of(c.principal),
            outstanding_principal=Money.of(c.outstanding_principal),
            term=c.term,
            start_date=c.start_date,
            maturity_date=c.maturity_date,
            days_past_due=c.days_past_due,
        )


class BalancesView(BaseModel):
    principal: Money
    interest: Money
    penalty: Money
    fee: Money
    unapplied: Money
    total: Money

    @classmethod
    def of(cls, b: Balances) -> BalancesView:
        return cls(
            principal=Money.of(b.principal),
            interest=Money.of(b.interest),
            penalty=Money.of(b.penalty),
            fee=Money.of(b.fee),
            unapplied=Money.of(b.unapplied),
            total=Money.of(b.total),
        )


class InstallmentView(InstallmentRef):
    """One installment as scheduled, and what it has paid and still owes."""

    scheduled_total: Money
    principal: Money
    principal_paid: Money
    principal_outstanding: Money
    interest_accrued: Money
    interest_paid: Money
    interest_outstanding: Money
    penalty_outstanding: Money
    fee_outstanding: Money
    waived: Money
    outstanding: Money
    settled_on: date | None


def _installment(status: InstallmentStatus, scheduled_total: int) -> InstallmentView:
    return InstallmentView(
        period=status.period,
        due_date=status.due_date,
        scheduled_total=Money.of(scheduled_total),
        principal=Money.of(status.principal),
        principal_paid=Money.of(status.principal_paid),
        principal_outstanding=Money.of(status.principal_outstanding),
        interest_accrued=Money.of(status.interest_accrued),
        interest_paid=Money.of(status.interest_paid),
        interest_outstanding=Money.of(status.interest_outstanding),
        penalty_outstanding=Money.of(status.penalty_outstanding),
        fee_outstanding=Money.of(status.fee_outstanding),
        waived=Money.of(status.waived),
        outstanding=Money.of(status.outstanding),
        settled_on=status.settled_on,
    )


class ContractView(BaseModel):
    id: str
    customer_id: str
    line_id: str
    product_code: str
    status: str
    principal: Money
    method: str
    term: int
    daily_rate: str  # a decimal, as text (never a float)
    start_date: date
    maturity_date: date | None
    as_of: date | None
    accrued_through: date
    balances: BalancesView
    days_past_due: int
    bucket: str
    classification: str | None
    schedule_version: int
    installments: list[InstallmentView]

    @classmethod
    def of(cls, view: LoanView) -> ContractView:
        scheduled = {row.period: row.total for row in view.schedule}
        return cls(
            id=view.contract_id,
            customer_id=view.customer_id,
            line_id=view.line_id,
            product_code=view.product_code,
            status=view.status,
            principal=Money.of(view.principal),
            method=view.method,
            term=view.term,
            daily_rate=str(view.daily_rate),
            start_date=view.start_date,
            maturity_date=view.maturity_date,
            as_of=view.as_of,
            accrued_through=view.accrued_through,
            balances=BalancesView.of(view.balances),
            days_past_due=view.days_past_due,
            bucket=view.bucket,
            classification=view.classification,
            schedule_version=view.schedule_version,
            installments=[_installment(i, scheduled.get(i.period, 0)) for i in view.installments],
        )


class TransactionView(BaseModel):
    id: str
    seq: int
    type: str
    amount: Money
    value_date: date
    business_date: date
    reverses: str | None
    payment_id: str | None

    @classmethod
    def of(cls, t: LoanTransaction) -> TransactionView:
        return cls(
            id=t.id,
            seq=t.seq,
            type=t.type,
            amount=Money.of(t.amount),
            value_date=t.value_date,
            business_date=t.business_date,
            reverses=t.reverses_txn_id,
            payment_id=t.payment_id,
        )


def readable_contract(session: Session, principal: Principal, contract_id: str) -> Contract:
    """The contract, if the caller may read it (else 404 ``CONTRACT_NOT_FOUND``, also for another
    customer's)."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
    ensure_owner(principal, contract.customer_id, code="CONTRACT_NOT_FOUND", what="contract")
    return contract


@router.get(
    "/contracts",
    response_model=Page[ContractSummary],
    summary="Contracts (a customer's own; staff: all), by id",
    responses=problem_responses(401, 403, 422),
)
def list_contracts(
    principal: Reader, state: StateDep, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[ContractSummary]:
    with state.database.read() as session:
        return paginate(
            session,
            select(Contract).where(owned_by(principal, Contract.customer_id)),
            key=Contract.id,
            page=page,
            to_item=ContractSummary.of,
        )


@router.get(
    "/contracts/{contract_id}",
    response_model=ContractView,
    summary="One contract: balances, days past due, the schedule with paid and remaining amounts",
    responses=problem_responses(401, 403, 404, 422),
)
def show_contract(contract_id: ContractId, principal: Reader, state: StateDep) -> ContractView:
    with state.database.read() as session:
        readable_contract(session, principal, contract_id)
        return ContractView.of(loan_view(session, contract_id))


@router.get(
    "/contracts/{contract_id}/transactions",
    response_model=Page[TransactionView],
    summary="A contract's transactions, in booking order (seq)",
    responses=problem_responses(401, 403, 404, 422),
)
def list_transactions(
    contract_id: ContractId,
    principal: Reader,
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[TransactionView]:
    with state.database.read() as session:
        readable_contract(session, principal, contract_id)
        return paginate(
            session,
            select(LoanTransaction).where(LoanTransaction.contract_id == contract_id),
            key=LoanTransaction.seq,
            page=page,
            to_item=TransactionView.of,
            list_name=f"{contract_id}.transactions",
        )
