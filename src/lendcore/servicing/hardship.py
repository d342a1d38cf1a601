"""Hardship plans (展期 / 重新分期): the offer a customer sees, and their acceptance or refusal.

The path of a plan (docs/post-loan.md, "Hardship plans"):

1. an operator proposes a ``hardship-plan`` (approval kind: contract, ``kind``, ``periods``); risk or
   finance approves it (maker-checker, :mod:`lendcore.approvals`), which runs :func:`make_offer`;
2. :func:`make_offer` computes the plan on the business date (:func:`~lendcore.core.restructure.
   plan_restructure`: new schedule, APR, total cost), checks the product's limits and stores it as an
   offer that the customer may accept until ``expires_on`` (:data:`OFFER_DAYS` business days later);
3. the customer accepts (:func:`accept_offer`) or declines (:func:`decline_offer`), each idempotent by
   key. Only acceptance books: one ``Restructure`` transaction value-dated on the offer's date, so the
   contract gets exactly the plan shown. If anything but accruals changed the contract since (a
   payment, a waiver), the plan would no longer be the one shown: acceptance is refused
   (``HARDSHIP_OFFER_STALE``) and staff propose again.

Refusals: ``HARDSHIP_OFFER_NOT_FOUND`` (also another customer's offer), ``HARDSHIP_OFFER_DECIDED``,
``HARDSHIP_OFFER_EXPIRED``, ``HARDSHIP_OFFER_STALE``, ``HARDSHIP_OFFER_OPEN`` (one open offer per
contract), ``INVALID_RESTRUCTURE_KIND``, the core's (``CONTRACT_NOT_ACTIVE``, ``HARDSHIP_NOT_OFFERED``,
``RESTRUCTURE_LIMIT_REACHED``, ``RESTRUCTURE_PERIODS_EXCEEDED``, ``RESTRUCTURE_NOT_SUPPORTED``,
``NOTHING_TO_RESTRUCTURE``, ``INVALID_RESTRUCTURE_PERIODS``), ``APR_CAP_EXCEEDED`` (the plan's APR by
the product's disclosed method above its cost cap: a long payment holiday can do it), and
``IDEMPOTENCY_KEY_REUSED`` for a key replayed with another body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.apr import AprMethod, check_cost_cap, effective_apr, nominal_apr
from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError, ValidationError
from lendcore.core.records import JsonRecord
from lendcore.core.restructure import (
    RestructureKind,
    RestructurePlan,
    check_limits,
    check_periods,
    plan_restructure,
)
from lendcore.core.schedule import Schedule, installment_to_json
from lendcore.core.transactions import Restructure
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.common import scoped_key
from lendcore.servicing.repository import lock_contract, product_of, state_as_of
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.idempotency import idempotent
from lendcore.store.models import Contract
from lendcore.store.models_hardship import HardshipOffer
from lendcore.store.types import utc_now

#: Days an offer stays open (inclusive of the last): the customer has a week to decide.
OFFER_DAYS: Final = 7


def restructure_kind(value: object) -> RestructureKind:
    try:
        return RestructureKind(str(value))
    except ValueError:
        raise ValidationError(
            f"kind must be one of {', '.join(k.value for k in RestructureKind)}",
            code="INVALID_RESTRUCTURE_KIND",
        ) from None


def exact_apr(schedule: Schedule, method: AprMethod) -> Decimal:
    """The unrounded APR of ``schedule`` by ``method`` (what a cap is compared with)."""
    return nominal_apr(schedule) if method is AprMethod.NOMINAL_IRR else effective_apr(schedule)


def plan_to_json(plan: RestructurePlan) -> dict[str, Any]:
    """The plan as stored and shown: integers of fen, the APR as a decimal string."""
    return {
        "on": plan.on.isoformat(),
        "kind": plan.kind.value,
        "periods": plan.periods,
        "principal": plan.principal,
        "arrears": plan.arrears,
        "carried_interest": plan.carried_interest,
        "total_interest": plan.total_interest,
        "total_to_pay": plan.total_to_pay,
        "apr": str(plan.apr),
        "apr_method": plan.apr_method.value,
        "schedule": [installment_to_json(i) for i in plan.schedule.installments],
    }


@dataclass(frozen=True, slots=True)
class OfferView(JsonRecord):
    id: str
    contract_id: str
    customer_id: str
    kind: str
    periods: int
    offered_on: date
    expires_on: date
    status: str  # offered | accepted | declined | expired (offered, past its expiry)
    plan: dict[str, Any]
    txn_id: str | None
    decided_on: date | None

    @classmethod
    def of(cls, row: HardshipOffer, on: date | None = None) -> OfferView:
        status = row.status
        if status == "offered" and on is not None and on > row.expires_on:
            status = "expired"
        return cls(
            row.id, row.contract_id, row.customer_id, row.kind, row.periods, row.offered_on,
            row.expires_on, status, dict(row.plan), row.txn_id, row.decided_on,
        )  # fmt: skip


def _state_on(session: Session, contract: Contract, on: date) -> LoanState:
    return state_as_of(session, contract, on)


def preview_plan(
    session: Session, contract_id: str, kind: object, periods: object, on: date
) -> RestructurePlan:
    """The plan a proposal would offer on ``on`` (nothing written), limits checked."""
    k = restructure_kind(kind)
    n = check_periods(periods)
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
    state = _state_on(session, contract, on)
    if state.status is not Status.ACTIVE:
        raise BusinessRuleError(
            f"only an active contract can be restructured (it is {state.status.value})",
            code="CONTRACT_NOT_ACTIVE",
        )
    product = product_of(contract)
    check_limits(state, n, product.hardship)
    plan = plan_restructure(state, on, k, n, product.disclosed_apr)
    # the APR shown must respect the cost cap like any offer: a long payment holiday raises the
    # nominal-IRR APR (it treats the installments as equally spaced) above the contract's own
    check_cost_cap(exact_apr(plan.schedule, product.disclosed_apr), product.cost_cap, what="hardship plan")
    return plan


@dataclass(frozen=True, slots=True)
class MakeOfferRequest:
    contract_id: str
    kind: str
    periods: int
    proposal_id: str
    actor: str
    business_date: date


def make_offer(session: Session, request: MakeOfferRequest) -> OfferView:
    """Store the offer of an approved proposal (run by the approval, once per proposal)."""
    on = request.business_date
    contract = lock_contract(session, request.contract_id)
    plan = preview_plan(session, contract.id, request.kind, request.periods, on)
    open_offer = session.scalars(
        select(HardshipOffer.id).where(
            HardshipOffer.contract_id == contract.id,
            HardshipOffer.status == "offered",
            HardshipOffer.expires_on >= on,
        )
    ).first()
    if open_offer is not None:
        raise ConflictError(
            f"offer {open_offer} is still open on this contract",
            code="HARDSHIP_OFFER_OPEN",
            offer_id=open_offer,
        )
    row = HardshipOffer(
        contract_id=contract.id,
        customer_id=contract.customer_id,
        proposal_id=request.proposal_id,
        kind=plan.kind.value,
        periods=plan.periods,
        offered_on=on,
        expires_on=on + timedelta(days=OFFER_DAYS),
        plan=plan_to_json(plan),
        status="offered",
        offered_by=request.actor,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=request.actor,
        action="hardship.offer",
        target_type="contract",
        target_id=contract.id,
        details={
            "offer_id": row.id,
            "proposal_id": request.proposal_id,
            "kind": row.kind,
            "periods": row.periods,
        },
    )
    return OfferView.of(row, on)


@dataclass(frozen=True, slots=True)
class DecideOfferRequest(JsonRecord):
    """A customer's decision on one of their offers, on the business date."""

    offer_id: str
    customer_id: str
    business_date: date
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class OfferDecision(JsonRecord):
    offer_id: str
    contract_id: str
    status: str
    decided_on: date
    txn_id: str | None
    maturity_date: date | None


def _open_offer(session: Session, request: DecideOfferRequest) -> HardshipOffer:
    row = session.scalars(
        for_update(select(HardshipOffer).where(HardshipOffer.id == request.offer_id))
    ).first()
    if row is None or row.customer_id != request.customer_id:
        raise NotFoundError("no such hardship offer", code="HARDSHIP_OFFER_NOT_FOUND")
    if row.status != "offered":
        raise ConflictError(
            f"the offer was already {row.status}", code="HARDSHIP_OFFER_DECIDED", status=row.status
        )
    if request.business_date > row.expires_on:
        raise BusinessRuleError(
            f"the offer expired on {row.expires_on.isoformat()}", code="HARDSHIP_OFFER_EXPIRED"
        )
    if request.business_date < row.offered_on:
        raise ValidationError("a decision cannot predate its offer", code="DATE_BEFORE_OFFER")
    return row


def _decided(row: HardshipOffer, status: str, on: date) -> None:
    row.status, row.decided_on, row.decided_at = status, on, utc_now()


@idempotent("hardship-accept", OfferDecision)
def accept_offer(session: Session, request: DecideOfferRequest) -> OfferDecision:
    """Accept an offer: book its restructure (see the module docstring)."""
    row = _open_offer(session, request)
    contract = lock_contract(session, row.contract_id)
    kind, periods, on = RestructureKind(row.kind), row.periods, row.offered_on
    state = _state_on(session, contract, on)
    product = product_of(contract)
    check_limits(state, periods, product.hardship)
    if plan_to_json(plan_restructure(state, on, kind, periods, product.disclosed_apr)) != row.plan:
        raise BusinessRuleError(
            "the contract changed since the offer was made; ask for a new plan", code="HARDSHIP_OFFER_STALE"
        )
    posted = post_transaction(
        session,
        contract,
        lambda txn_id, seq: Restructure(txn_id, on, seq, kind.value, periods, row.id),
        business_date=request.business_date,
        idempotency_key=scoped_key("hardship", request.idempotency_key),
    )
    contract.maturity_date = posted.after.rows[-1].due_date
    _decided(row, "accepted", request.business_date)
    row.txn_id = posted.txn.txn_id
    session.flush()
    record_audit(
        session,
        actor=request.customer_id,
        action="hardship.accept",
        target_type="contract",
        target_id=contract.id,
        details={"offer_id": row.id, "txn_id": row.txn_id, "kind": row.kind, "periods": periods},
    )
    return OfferDecision(
        row.id, contract.id, "accepted", request.business_date, row.txn_id, contract.maturity_date
    )


@idempotent("hardship-decline", OfferDecision)
def decline_offer(session: Session, request: DecideOfferRequest) -> OfferDecision:
    """Decline an offer: nothing is booked; the contract keeps its plan."""
    row = _open_offer(session, request)
    _decided(row, "declined", request.business_date)
    session.flush()
    record_audit(
        session,
        actor=request.customer_id,
        action="hardship.decline",
        target_type="contract",
        target_id=row.contract_id,
        details={"offer_id": row.id},
    )
    return OfferDecision(row.id, row.contract_id, "declined", request.business_date, None, None)


def list_offers(
    session: Session, *, on: date, customer_id: str | None = None, contract_id: str | None = None
) -> list[OfferView]:
    """Offers of a customer or a contract (newest first), status as of ``on``."""
    statement = select(HardshipOffer).order_by(HardshipOffer.created_at.desc(), HardshipOffer.id.desc())
    if customer_id is not None:
        statement = statement.where(HardshipOffer.customer_id == customer_id)
    if contract_id is not None:
        statement = statement.where(HardshipOffer.contract_id == contract_id)
    return [OfferView.of(row, on) for row in session.scalars(statement)]


def get_offer(session: Session, offer_id: str, *, on: date, customer_id: str | None = None) -> OfferView:
    """One offer (a customer's own only, when ``customer_id`` is given)."""
    row = session.get(HardshipOffer, offer_id)
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise NotFoundError("no such hardship offer", code="HARDSHIP_OFFER_NOT_FOUND")
    return OfferView.of(row, on)
